#include "scheduler_driver/master_connection.h"

#include <chrono>
#include <utility>

namespace agora::scheduler_driver {

namespace {

using mesos::v1::scheduler::Event;

std::string FindMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const char* key) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// One SUBSCRIBE stream. Reads events until the stream ends, then reports
// and deletes itself. Holds the channel and context for the call's life.
class SubscribeReactor : public grpc::ClientReadReactor<Event> {
 public:
  SubscribeReactor(std::shared_ptr<grpc::Channel> channel,
                   std::shared_ptr<grpc::ClientContext> context,
                   mesos::v1::scheduler::Call request, StreamHandlers handlers,
                   std::shared_ptr<InflightRpcs> inflight)
      : channel_(std::move(channel)),
        context_(std::move(context)),
        request_(std::move(request)),
        handlers_(std::move(handlers)),
        inflight_(std::move(inflight)) {}

  void Start(agora::v1::Scheduler::Stub* stub) {
    stub->async()->Subscribe(context_.get(), &request_, this);
    StartCall();
  }

  // Reading starts only once the initial metadata (with the stream id) is
  // in, so every event is reported with its stream id.
  void OnReadInitialMetadataDone(bool ok) override {
    if (!ok) return;  // The call failed; OnDone follows.
    stream_id_ =
        FindMetadata(context_->GetServerInitialMetadata(), kStreamIdKey);
    StartRead(&event_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // The stream ended; OnDone follows.
    handlers_.on_event(stream_id_, std::move(event_));
    event_.Clear();
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override {
    std::string hint =
        FindMetadata(context_->GetServerTrailingMetadata(), kLeaderKey);
    if (hint.empty()) {
      hint = FindMetadata(context_->GetServerInitialMetadata(), kLeaderKey);
    }
    handlers_.on_done(status, hint);
    std::shared_ptr<InflightRpcs> inflight = std::move(inflight_);
    delete this;
    inflight->End();
  }

 private:
  const std::shared_ptr<grpc::Channel> channel_;
  const std::shared_ptr<grpc::ClientContext> context_;
  mesos::v1::scheduler::Call request_;
  StreamHandlers handlers_;
  std::shared_ptr<InflightRpcs> inflight_;
  Event event_;
  std::string stream_id_;
};

// The state of one unary call, alive until its completion.
struct UnaryCall {
  std::shared_ptr<grpc::Channel> channel;
  std::shared_ptr<grpc::ClientContext> context;
  mesos::v1::scheduler::Call request;
  agora::v1::CallResponse response;
};

}  // namespace

void InflightRpcs::Begin() {
  std::lock_guard<std::mutex> lock(mu_);
  ++count_;
}

void InflightRpcs::End() {
  std::lock_guard<std::mutex> lock(mu_);
  --count_;
  cv_.notify_all();
}

void InflightRpcs::WaitUntilIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock,
           [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ == 0; });
}

MasterConnection::MasterConnection(std::string address,
                                   std::shared_ptr<InflightRpcs> inflight)
    : address_(std::move(address)), inflight_(std::move(inflight)) {
  // The driver paces its own retries; keep gRPC's reconnect backoff short so
  // a master that comes back is reached on the next attempt, not minutes
  // later.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  channel_ = grpc::CreateCustomChannel(
      address_, grpc::InsecureChannelCredentials(), args);
  stub_ = agora::v1::Scheduler::NewStub(channel_);
}

std::shared_ptr<grpc::ClientContext> MasterConnection::Subscribe(
    const mesos::v1::scheduler::Call& call, StreamHandlers handlers) {
  auto context = std::make_shared<grpc::ClientContext>();
  inflight_->Begin();
  auto* reactor = new SubscribeReactor(channel_, context, call,
                                       std::move(handlers), inflight_);
  reactor->Start(stub_.get());
  return context;
}

std::shared_ptr<grpc::ClientContext> MasterConnection::Call(
    const mesos::v1::scheduler::Call& call, const std::string& stream_id,
    absl::Duration timeout, std::function<void(grpc::Status)> done) {
  auto state = std::make_shared<UnaryCall>();
  state->channel = channel_;
  state->context = std::make_shared<grpc::ClientContext>();
  state->context->AddMetadata(kStreamIdKey, stream_id);
  state->context->set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoMilliseconds(timeout));
  state->request = call;
  inflight_->Begin();
  std::shared_ptr<InflightRpcs> inflight = inflight_;
  stub_->async()->Call(
      state->context.get(), &state->request, &state->response,
      [state, inflight, done = std::move(done)](grpc::Status status) mutable {
        done(std::move(status));
        state.reset();
        inflight->End();
      });
  return state->context;
}

absl::Status ToAbslStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace agora::scheduler_driver
