#include "scheduler_driver/fake_master.h"

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace agora::testing {

FakeMaster::FakeMaster() {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
  CHECK(server_ != nullptr && port > 0) << "fake master failed to start";
  address_ = absl::StrCat("127.0.0.1:", port);
}

FakeMaster::~FakeMaster() {
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
}

void FakeMaster::RefuseNextSubscriptions(int count, grpc::Status status,
                                         const std::string& leader_hint) {
  std::lock_guard<std::mutex> lock(mu_);
  refusals_left_ = count;
  refusal_ = std::move(status);
  leader_hint_ = leader_hint;
}

void FakeMaster::set_heartbeat_interval_seconds(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  heartbeat_interval_seconds_ = seconds;
}

std::vector<FakeMaster::SchedulerCall> FakeMaster::subscribe_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subscribe_calls_;
}

std::vector<FakeMaster::RecordedCall> FakeMaster::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

std::string FakeMaster::current_stream_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stream_id_;
}

bool FakeMaster::WaitForStreamDone(absl::Duration timeout) {
  return WaitUntil(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return stream_done_ != nullptr && *stream_done_;
      },
      timeout);
}

bool FakeMaster::WaitUntil(const std::function<bool()>& pred,
                           absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), pred);
}

bool FakeMaster::WaitForCalls(size_t n, absl::Duration timeout) {
  return WaitUntil(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return calls_.size() >= n; },
      timeout);
}

bool FakeMaster::WaitForSubscriptions(size_t n, absl::Duration timeout) {
  return WaitUntil(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return subscribe_calls_.size() >= n;
      },
      timeout);
}

bool FakeMaster::SendEvent(const Event& event) {
  std::shared_ptr<EventStream<Event>> stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream = stream_;
  }
  return stream != nullptr && stream->Send(event);
}

void FakeMaster::CloseStream(grpc::Status status) {
  std::shared_ptr<EventStream<Event>> stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream = stream_;
  }
  if (stream != nullptr) stream->Close(std::move(status));
}

FakeMaster::Event FakeMaster::SubscribedEvent(const SchedulerCall& call) {
  Event event;
  event.set_type(Event::SUBSCRIBED);
  Event::Subscribed* subscribed = event.mutable_subscribed();
  const mesos::v1::FrameworkInfo& info = call.subscribe().framework_info();
  subscribed->mutable_framework_id()->set_value(
      info.has_id() ? info.id().value()
                    : absl::StrCat("fw-", next_framework_++));
  subscribed->set_heartbeat_interval_seconds(heartbeat_interval_seconds_);
  mesos::v1::MasterInfo* master = subscribed->mutable_master_info();
  master->set_id("fake-master");
  master->set_ip(0x0100007f);
  master->set_port(5050);
  return event;
}

grpc::ServerWriteReactor<FakeMaster::Event>* FakeMaster::Subscribe(
    grpc::CallbackServerContext* ctx, const SchedulerCall* call) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribe_calls_.push_back(*call);
  cv_.notify_all();
  auto done = std::make_shared<bool>(false);
  auto [reactor, stream] = EventStream<Event>::Create(1024, [this, done] {
    std::lock_guard<std::mutex> lock(mu_);
    *done = true;
    cv_.notify_all();
  });
  if (refusals_left_ > 0) {
    --refusals_left_;
    if (!leader_hint_.empty()) {
      ctx->AddTrailingMetadata("agora-leader", leader_hint_);
    }
    stream->Close(refusal_);
    return reactor;
  }
  stream_id_ = absl::StrCat("stream-", next_stream_++);
  ctx->AddInitialMetadata("mesos-stream-id", stream_id_);
  stream_ = stream;
  stream_done_ = done;
  stream->Send(SubscribedEvent(*call));
  return reactor;
}

grpc::ServerUnaryReactor* FakeMaster::Call(grpc::CallbackServerContext* ctx,
                                           const SchedulerCall* call,
                                           agora::v1::CallResponse*) {
  RecordedCall recorded{*call, ""};
  auto it = ctx->client_metadata().find("mesos-stream-id");
  if (it != ctx->client_metadata().end()) {
    recorded.stream_id = std::string(it->second.data(), it->second.size());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::move(recorded));
    cv_.notify_all();
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace agora::testing
