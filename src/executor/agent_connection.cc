#include "executor/agent_connection.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <utility>

namespace agora {

using mesos::v1::executor::Call;
using mesos::v1::executor::Event;

// One Subscribe call; alive until gRPC calls OnDone.
class SubscriptionReactor : public grpc::ClientReadReactor<Event> {
 public:
  SubscriptionReactor(AgentConnection::EventFn on_event,
                      AgentConnection::DoneFn on_closed)
      : on_event_(std::move(on_event)), on_closed_(std::move(on_closed)) {}

  // Keeps `stub` (and its channel) alive until the call is done.
  void Start(std::shared_ptr<agora::v1::Executor::Stub> stub, const Call& call,
             std::shared_ptr<SubscriptionReactor> self) {
    self_ = std::move(self);
    stub_ = std::move(stub);
    request_ = call;
    stub_->async()->Subscribe(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void Cancel() { context_.TryCancel(); }

  bool WaitDone(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                        [this] { return done_; });
  }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows.
    on_event_(std::move(event_));
    event_.Clear();
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override {
    on_closed_(status);
    std::shared_ptr<SubscriptionReactor> keep;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      keep = std::move(self_);
    }
    cv_.notify_all();
  }

  AgentConnection::EventFn on_event_;
  AgentConnection::DoneFn on_closed_;
  std::shared_ptr<agora::v1::Executor::Stub> stub_;
  grpc::ClientContext context_;
  Call request_;
  Event event_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::shared_ptr<SubscriptionReactor> self_;
};

namespace {

std::shared_ptr<grpc::Channel> NewChannel(const std::string& endpoint,
                                          absl::Duration max_backoff) {
  grpc::ChannelArguments args;
  int max_ms = static_cast<int>(
      std::max<int64_t>(100, absl::ToInt64Milliseconds(max_backoff)));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_ms);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(),
                                   args);
}

}  // namespace

AgentConnection::AgentConnection(const std::string& endpoint,
                                 absl::Duration max_reconnect_backoff)
    : endpoint_(endpoint),
      max_reconnect_backoff_(max_reconnect_backoff),
      stub_(agora::v1::Executor::NewStub(
          NewChannel(endpoint, max_reconnect_backoff))) {}

void AgentConnection::Reset() {
  std::shared_ptr<agora::v1::Executor::Stub> stub =
      agora::v1::Executor::NewStub(
          NewChannel(endpoint_, max_reconnect_backoff_));
  std::lock_guard<std::mutex> lock(mu_);
  stub_ = std::move(stub);
}

AgentConnection::~AgentConnection() { Close(absl::Seconds(2)); }

void AgentConnection::Subscribe(const Call& call, EventFn on_event,
                                DoneFn on_closed) {
  auto reactor = std::make_shared<SubscriptionReactor>(std::move(on_event),
                                                       std::move(on_closed));
  std::shared_ptr<SubscriptionReactor> previous;
  std::shared_ptr<agora::v1::Executor::Stub> stub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    previous = std::exchange(subscription_, reactor);
    stub = stub_;
  }
  if (previous) previous->Cancel();
  reactor->Start(std::move(stub), call, reactor);
}

void AgentConnection::Send(const Call& call, DoneFn on_done) {
  struct State {
    std::shared_ptr<agora::v1::Executor::Stub> stub;
    grpc::ClientContext context;
    Call request;
    agora::v1::CallResponse response;
  };
  auto state = std::make_shared<State>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    state->stub = stub_;
  }
  state->request = call;
  state->context.set_deadline(std::chrono::system_clock::now() +
                              absl::ToChronoNanoseconds(kCallDeadline));
  state->stub->async()->Call(&state->context, &state->request, &state->response,
                             [state, on_done = std::move(on_done)](
                                 grpc::Status s) { on_done(std::move(s)); });
}

void AgentConnection::Close(absl::Duration timeout) {
  std::shared_ptr<SubscriptionReactor> current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    current = std::move(subscription_);
  }
  if (current) {
    current->Cancel();
    current->WaitDone(timeout);
  }
}

}  // namespace agora
