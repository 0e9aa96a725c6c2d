// The status machine, the event dispatch and stopping. The subscription is
// in subscription.cc, the call queue in call_queue.cc.
#include "scheduler_driver/driver_process.h"

#include <pwd.h>
#include <unistd.h>

#include <future>
#include <utility>
#include <vector>

#include "glog/logging.h"
#include "scheduler_driver/calls.h"

namespace agora {

namespace {

std::string CurrentUser() {
  struct passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? pw->pw_name : std::to_string(::geteuid());
}

std::string LocalHostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace

AgoraSchedulerDriver::Process::Process(SchedulerDriver* driver,
                                       Scheduler* scheduler,
                                       mesos::v1::FrameworkInfo framework,
                                       std::string master,
                                       bool implicit_acknowledgements,
                                       Options options)
    : driver_(driver),
      scheduler_(scheduler),
      master_(std::move(master)),
      implicit_acks_(implicit_acknowledgements),
      options_(std::move(options)),
      inflight_(std::make_shared<scheduler_driver::InflightRpcs>()),
      loop_("scheduler-driver"),
      framework_(std::move(framework)) {
  CHECK(scheduler_ != nullptr) << "AgoraSchedulerDriver needs a scheduler";
  // As Mesos's driver: fill in the user and the hostname when not given.
  if (framework_.user().empty()) framework_.set_user(CurrentUser());
  if (!framework_.has_hostname()) framework_.set_hostname(LocalHostname());
}

AgoraSchedulerDriver::Process::~Process() {
  CHECK(!loop_.IsLoopThread())
      << "AgoraSchedulerDriver destroyed from one of its own callbacks";
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!loop_started_) return;
    if (stop_requested_) {
      // Give a TEARDOWN that stop() queued the time to reach the master.
      cv_.wait_for(
          lock,
          absl::ToChronoNanoseconds(options_.call_timeout + absl::Seconds(1)),
          [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_done_; });
    }
  }
  std::promise<void> closed;
  loop_.Post([this, &closed] {
    closing_ = true;
    phase_ = Phase::kClosed;
    if (retry_timer_) loop_.Cancel(*retry_timer_);
    retry_timer_.reset();
    DropStream();
    DropCalls();
    closed.set_value();
  });
  closed.get_future().wait();
  detector_.reset();
  inflight_->WaitUntilIdle();
  loop_.Stop();
}

mesos::v1::Status AgoraSchedulerDriver::Process::Start() {
  std::string error;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_ != mesos::v1::DRIVER_NOT_STARTED) return status_;
    absl::StatusOr<std::unique_ptr<LeaderDetector>> detector =
        CreateLeaderDetector(master_);
    if (detector.ok()) {
      detector_ = std::move(*detector);
      status_ = mesos::v1::DRIVER_RUNNING;
      loop_started_ = true;
    } else {
      status_ = mesos::v1::DRIVER_ABORTED;
      error = std::string(detector.status().message());
      cv_.notify_all();
    }
  }
  if (!error.empty()) {
    LOG(ERROR) << "scheduler driver cannot start: " << error;
    scheduler_->error(driver_, error);
    return mesos::v1::DRIVER_ABORTED;
  }
  LOG(INFO) << "scheduler driver for framework '" << framework_.name()
            << "' starting; " << detector_->Describe();
  loop_.Start();
  loop_.Post([this] {
    detector_->Watch([this](std::optional<std::string> leader) {
      loop_.Post([this, leader] { OnLeader(leader); });
    });
  });
  return mesos::v1::DRIVER_RUNNING;
}

mesos::v1::Status AgoraSchedulerDriver::Process::Stop(bool failover) {
  bool aborted = false;
  bool loop_started = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_ != mesos::v1::DRIVER_RUNNING &&
        status_ != mesos::v1::DRIVER_ABORTED) {
      return status_;
    }
    aborted = status_ == mesos::v1::DRIVER_ABORTED;
    status_ = mesos::v1::DRIVER_STOPPED;
    stop_requested_ = true;
    loop_started = loop_started_;
    if (!loop_started) stop_done_ = true;
    cv_.notify_all();
  }
  if (loop_started) loop_.Post([this, failover] { BeginStop(failover); });
  return aborted ? mesos::v1::DRIVER_ABORTED : mesos::v1::DRIVER_STOPPED;
}

mesos::v1::Status AgoraSchedulerDriver::Process::Abort() {
  std::lock_guard<std::mutex> lock(mu_);
  if (status_ != mesos::v1::DRIVER_RUNNING) return status_;
  status_ = mesos::v1::DRIVER_ABORTED;
  cv_.notify_all();
  return status_;
}

mesos::v1::Status AgoraSchedulerDriver::Process::Join() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return status_ != mesos::v1::DRIVER_RUNNING;
  });
  // After stop(), wait until the TEARDOWN is sent and the stream closed, so
  // a program may exit as soon as join() returns. (Not possible from a
  // callback, which runs on the loop that does that work.)
  if (status_ == mesos::v1::DRIVER_STOPPED && !loop_.IsLoopThread()) {
    cv_.wait(lock, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stop_done_;
    });
  }
  return status_;
}

mesos::v1::Status AgoraSchedulerDriver::Process::Send(Call call) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_ != mesos::v1::DRIVER_RUNNING) return status_;
  }
  if (loop_.IsLoopThread()) {
    // From inside a callback: queue it now, so it leaves before the
    // acknowledgement sent when the callback returns (program order).
    SendOnLoop(std::move(call));
  } else {
    loop_.Post([this, call = std::move(call)]() mutable {
      SendOnLoop(std::move(call));
    });
  }
  return mesos::v1::DRIVER_RUNNING;
}

mesos::v1::Status AgoraSchedulerDriver::Process::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

bool AgoraSchedulerDriver::Process::IsRunning() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_ == mesos::v1::DRIVER_RUNNING;
}

void AgoraSchedulerDriver::Process::AbortFromLoop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (status_ != mesos::v1::DRIVER_RUNNING) return;
  status_ = mesos::v1::DRIVER_ABORTED;
  cv_.notify_all();
}

void AgoraSchedulerDriver::Process::HandleSubscribed(
    const std::string& stream_id, const Event::Subscribed& subscribed) {
  if (attempt_timer_) loop_.Cancel(*attempt_timer_);
  attempt_timer_.reset();
  phase_ = Phase::kSubscribed;
  stream_id_ = stream_id;
  failures_ = 0;
  backoff_exponent_ = 0;
  if (stream_id_.empty()) {
    LOG(WARNING) << "master at " << connection_->address() << " sent no "
                 << scheduler_driver::kStreamIdKey
                 << "; its calls will likely be refused";
  }
  double interval = subscribed.heartbeat_interval_seconds();
  heartbeat_interval_ =
      interval > 0 ? absl::Seconds(interval) : absl::Seconds(15);
  ResetHeartbeatWatchdog();

  bool same_framework =
      framework_.has_id() &&
      framework_.id().value() == subscribed.framework_id().value();
  *framework_.mutable_id() = subscribed.framework_id();
  LOG(INFO) << "subscribed to master at " << connection_->address()
            << " as framework " << framework_.id().value();
  if (stopping_) {
    MaybeFinishStop();
    return;
  }
  if (!IsRunning()) return;
  if (registered_once_ && same_framework) {
    scheduler_->reregistered(driver_, subscribed.master_info());
  } else {
    registered_once_ = true;
    scheduler_->registered(driver_, framework_.id(), subscribed.master_info());
  }
}

void AgoraSchedulerDriver::Process::Dispatch(const Event& event) {
  if (!IsRunning()) {
    VLOG(1) << "dropping " << Event::Type_Name(event.type())
            << " event: the driver is not running";
    return;
  }
  switch (event.type()) {
    case Event::OFFERS: {
      std::vector<mesos::v1::Offer> offers(event.offers().offers().begin(),
                                           event.offers().offers().end());
      scheduler_->resourceOffers(driver_, offers);
      return;
    }
    case Event::RESCIND:
      scheduler_->offerRescinded(driver_, event.rescind().offer_id());
      return;
    case Event::UPDATE:
      HandleUpdate(event.update().status());
      return;
    case Event::MESSAGE:
      scheduler_->frameworkMessage(driver_, event.message().executor_id(),
                                   event.message().agent_id(),
                                   event.message().data());
      return;
    case Event::FAILURE: {
      const Event::Failure& failure = event.failure();
      if (failure.has_executor_id()) {
        scheduler_->executorLost(driver_, failure.executor_id(),
                                 failure.agent_id(), failure.status());
      } else if (failure.has_agent_id()) {
        scheduler_->agentLost(driver_, failure.agent_id());
      }
      return;
    }
    case Event::ERROR:
      HandleError(event.error().message());
      return;
    case Event::HEARTBEAT:
      return;
    default:
      VLOG(1) << "ignoring " << Event::Type_Name(event.type()) << " event";
      return;
  }
}

void AgoraSchedulerDriver::Process::HandleUpdate(
    const mesos::v1::TaskStatus& status) {
  scheduler_->statusUpdate(driver_, status);
  // Updates without a uuid come from the master and are never acknowledged.
  if (!implicit_acks_ || !status.has_uuid()) return;
  // As Mesos's driver: a driver stopped or aborted inside the callback does
  // not acknowledge.
  if (!IsRunning()) return;
  absl::StatusOr<Call> ack = scheduler_driver::AcknowledgeCall(status);
  if (!ack.ok()) {
    LOG(WARNING) << "cannot acknowledge: " << ack.status().message();
    return;
  }
  SendOnLoop(*std::move(ack));
}

void AgoraSchedulerDriver::Process::HandleError(const std::string& message) {
  LOG(ERROR) << "framework " << framework_.id().value() << ": " << message;
  bool was_running = IsRunning();
  AbortFromLoop();
  DropStream();
  DropCalls();
  phase_ = Phase::kClosed;
  if (stopping_) FinishStop();
  if (was_running) scheduler_->error(driver_, message);
}

void AgoraSchedulerDriver::Process::BeginStop(bool failover) {
  if (closing_ || stopping_) return;
  stopping_ = true;
  if (retry_timer_) loop_.Cancel(*retry_timer_);
  retry_timer_.reset();
  if (phase_ == Phase::kSubscribed && !failover) {
    LOG(INFO) << "tearing down framework " << framework_.id().value();
    SendOnLoop(scheduler_driver::TeardownCall());
  }
  MaybeFinishStop();
}

void AgoraSchedulerDriver::Process::MaybeFinishStop() {
  if (!stopping_) return;
  // Calls already queued (acknowledgements, the TEARDOWN) go out first.
  if (call_in_flight_ || !pending_calls_.empty()) return;
  FinishStop();
}

void AgoraSchedulerDriver::Process::FinishStop() {
  DropStream();
  DropCalls();
  phase_ = Phase::kClosed;
  std::lock_guard<std::mutex> lock(mu_);
  if (!stop_done_) LOG(INFO) << "scheduler driver stopped";
  stop_done_ = true;
  cv_.notify_all();
}

}  // namespace agora
