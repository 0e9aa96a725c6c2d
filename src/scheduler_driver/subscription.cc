// The subscription state machine: find the leader, SUBSCRIBE, watch the
// stream, and resubscribe after a loss. Runs on the driver loop.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/flags_util.h"
#include "glog/logging.h"
#include "scheduler_driver/calls.h"
#include "scheduler_driver/driver_process.h"

namespace agora {
namespace {

constexpr absl::Duration kLeaderRecoveringRetry = absl::Milliseconds(100);

}  // namespace

void AgoraSchedulerDriver::Process::OnLeader(
    std::optional<std::string> leader) {
  if (closing_ || stopping_ || leader == leader_) return;
  LOG(INFO) << (leader ? "leading master is " + *leader
                       : std::string("no leading master"));
  leader_ = std::move(leader);
  redirect_.clear();
  // A new leader starts a new backoff: the first attempt goes at once, as
  // Mesos's driver registers on detection.
  backoff_exponent_ = 0;
  if (phase_ == Phase::kClosed) return;
  if (phase_ == Phase::kSubscribing || phase_ == Phase::kSubscribed) {
    HandleStreamEnd(absl::UnavailableError("a new leading master was elected"),
                    "");
    if (phase_ != Phase::kWaitingToRetry) return;
  }
  if (retry_timer_) loop_.Cancel(*retry_timer_);
  retry_timer_.reset();
  if (leader_) {
    Subscribe();
  } else {
    phase_ = Phase::kNoLeader;
  }
}

void AgoraSchedulerDriver::Process::Subscribe() {
  if (closing_ || stopping_ || !IsRunning()) {
    phase_ = Phase::kClosed;
    return;
  }
  if (!leader_ && redirect_.empty()) {
    phase_ = Phase::kNoLeader;
    return;
  }
  std::string address = redirect_.empty() ? *leader_ : redirect_;
  redirect_.clear();
  uint64_t generation = ++stream_generation_;
  connection_ =
      std::make_shared<scheduler_driver::MasterConnection>(address, inflight_);
  phase_ = Phase::kSubscribing;
  LOG(INFO) << "subscribing to master at " << address
            << (framework_.has_id() ? " as framework " + framework_.id().value()
                                    : std::string());
  scheduler_driver::StreamHandlers handlers;
  handlers.on_event = [this, generation](const std::string& stream_id,
                                         Event event) {
    loop_.Post(
        [this, generation, stream_id, event = std::move(event)]() mutable {
          OnStreamEvent(generation, stream_id, std::move(event));
        });
  };
  handlers.on_done = [this, generation](const grpc::Status& status,
                                        const std::string& hint) {
    absl::Status absl_status = scheduler_driver::ToAbslStatus(status);
    loop_.Post([this, generation, absl_status, hint] {
      OnStreamDone(generation, absl_status, hint);
    });
  };
  stream_context_ = connection_->Subscribe(
      scheduler_driver::SubscribeCall(framework_, suppressed_roles_),
      std::move(handlers));
  attempt_timer_ =
      loop_.PostAfter(options_.subscribe_attempt_timeout, [this, generation] {
        attempt_timer_.reset();
        if (generation != stream_generation_ || phase_ != Phase::kSubscribing) {
          return;
        }
        HandleStreamEnd(
            absl::DeadlineExceededError(absl::StrCat(
                "no answer to SUBSCRIBE within ",
                FormatMesosDuration(options_.subscribe_attempt_timeout))),
            "");
      });
}

void AgoraSchedulerDriver::Process::OnStreamEvent(uint64_t generation,
                                                  const std::string& stream_id,
                                                  Event event) {
  if (closing_ || generation != stream_generation_) return;
  ResetHeartbeatWatchdog();
  if (phase_ == Phase::kSubscribed) {
    Dispatch(event);
    return;
  }
  if (event.type() == Event::SUBSCRIBED) {
    HandleSubscribed(stream_id, event.subscribed());
  } else if (event.type() == Event::ERROR) {
    HandleError(event.error().message());
  } else {
    LOG(WARNING) << "ignoring " << Event::Type_Name(event.type())
                 << " event that came before SUBSCRIBED";
  }
}

void AgoraSchedulerDriver::Process::OnStreamDone(uint64_t generation,
                                                 const absl::Status& status,
                                                 const std::string& hint) {
  if (closing_ || generation != stream_generation_) return;
  absl::Status why = status;
  if (why.ok()) why = absl::UnavailableError("the master closed the stream");
  HandleStreamEnd(why, hint);
}

// The current subscription (or attempt) is over, for `status`.
void AgoraSchedulerDriver::Process::HandleStreamEnd(
    const absl::Status& status, const std::string& leader_hint) {
  bool was_subscribed = phase_ == Phase::kSubscribed;
  std::string address = connection_ ? connection_->address() : "";
  DropStream();
  if (stopping_) {
    phase_ = Phase::kClosed;
    MaybeFinishStop();  // Once queued calls (the TEARDOWN) have gone out.
    return;
  }
  DropCalls();
  if (!IsRunning()) {
    phase_ = Phase::kClosed;
    return;
  }
  if (IsFatal(status.code())) {
    HandleError(absl::StrCat(
        "master at ", address, " refused the subscription: ",
        absl::StatusCodeToString(status.code()), ": ", status.message()));
    return;
  }
  // A master that names itself as the leader is elected but still
  // recovering its registry: worth asking again shortly.
  const bool leader_not_ready =
      status.code() == absl::StatusCode::kUnavailable && !leader_hint.empty() &&
      leader_hint == address;
  if (status.code() == absl::StatusCode::kUnavailable && !leader_not_ready) {
    redirect_ = leader_hint;
  }
  if (was_subscribed) {
    LOG(WARNING) << "lost the subscription to master at " << address << ": "
                 << status << "; resubscribing";
    phase_ = Phase::kWaitingToRetry;
    ScheduleRetry();
    scheduler_->disconnected(driver_);
    return;
  }
  FailAttempt(address, status, leader_not_ready);
}

void AgoraSchedulerDriver::Process::FailAttempt(const std::string& address,
                                                const absl::Status& why,
                                                bool leader_not_ready) {
  ++failures_;
  LOG(INFO) << "subscription attempt " << failures_ << " to master at "
            << address << " failed: " << why;
  phase_ = Phase::kWaitingToRetry;
  ScheduleRetry(leader_not_ready);
  if (options_.on_subscribe_failure) {
    options_.on_subscribe_failure(master_, why, failures_);
  }
}

void AgoraSchedulerDriver::Process::ScheduleRetry(bool leader_not_ready) {
  absl::Duration delay = options_.subscribe_retry_interval;
  if (leader_not_ready) {
    // The elected master finishes recovering within moments (its registry
    // read); waiting out a backoff would only delay the failover.
    delay = std::min(delay, kLeaderRecoveringRetry);
  } else if (registered_once_) {
    // Mesos's registration backoff: a random wait below a doubling bound.
    absl::Duration bound = options_.resubscribe_backoff_initial;
    for (int i = 0;
         i < backoff_exponent_ && bound < options_.resubscribe_backoff_max;
         ++i) {
      bound *= 2;
    }
    bound = std::min(bound, options_.resubscribe_backoff_max);
    ++backoff_exponent_;
    delay = absl::Nanoseconds(absl::Uniform<int64_t>(
        absl::IntervalClosed, random_, 0, absl::ToInt64Nanoseconds(bound)));
  }
  uint64_t generation = stream_generation_;
  retry_timer_ = loop_.PostAfter(delay, [this, generation] {
    retry_timer_.reset();
    if (generation != stream_generation_ || phase_ != Phase::kWaitingToRetry) {
      return;
    }
    Subscribe();
  });
}

void AgoraSchedulerDriver::Process::ResetHeartbeatWatchdog() {
  if (heartbeat_timer_) loop_.Cancel(*heartbeat_timer_);
  heartbeat_timer_.reset();
  if (phase_ != Phase::kSubscribed) return;
  absl::Duration silence = heartbeat_interval_ * options_.heartbeat_misses;
  uint64_t generation = stream_generation_;
  heartbeat_timer_ = loop_.PostAfter(silence, [this, generation, silence] {
    heartbeat_timer_.reset();
    if (generation != stream_generation_) return;
    HandleStreamEnd(
        absl::DeadlineExceededError(absl::StrCat("no event or heartbeat for ",
                                                 FormatMesosDuration(silence))),
        "");
  });
}

// Ends the current stream, if any; its late callbacks are ignored.
void AgoraSchedulerDriver::Process::DropStream() {
  ++stream_generation_;
  if (attempt_timer_) loop_.Cancel(*attempt_timer_);
  attempt_timer_.reset();
  if (heartbeat_timer_) loop_.Cancel(*heartbeat_timer_);
  heartbeat_timer_.reset();
  if (stream_context_) stream_context_->TryCancel();
  stream_context_.reset();
  // stream_id_ stays for calls still queued while stopping; DropCalls()
  // clears it.
}

bool AgoraSchedulerDriver::Process::IsFatal(absl::StatusCode code) {
  // Retrying cannot help: the request is wrong, not allowed, or the peer is
  // not an Agora master.
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

}  // namespace agora
