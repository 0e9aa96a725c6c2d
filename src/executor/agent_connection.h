// AgentConnection: the executor's gRPC client of the agent's
// agora.v1.Executor service (AGORA_EXECUTOR_ENDPOINT, e.g. "unix:/path"):
// the SUBSCRIBE event stream and unary calls, both on the callback API.
//
// Thread rule: methods are thread-safe; callbacks run on gRPC threads and
// must only post to the executor's loop.
#ifndef AGORA_EXECUTOR_AGENT_CONNECTION_H_
#define AGORA_EXECUTOR_AGENT_CONNECTION_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "agora/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace agora {

class SubscriptionReactor;

class AgentConnection {
 public:
  using EventFn = std::function<void(mesos::v1::executor::Event)>;
  using DoneFn = std::function<void(grpc::Status)>;

  static constexpr absl::Duration kCallDeadline = absl::Seconds(5);

  // gRPC's own reconnection backoff of the channel stays within
  // [1 s, `max_reconnect_backoff`]; Reset() starts afresh.
  AgentConnection(const std::string& endpoint,
                  absl::Duration max_reconnect_backoff = absl::Seconds(2));
  ~AgentConnection();  // Cancels the subscription; see WaitIdle().

  // Opens a new subscription (cancelling the previous one). `on_event` gets
  // each event in order; `on_closed` runs once when the stream ends.
  void Subscribe(const mesos::v1::executor::Call& call, EventFn on_event,
                 DoneFn on_closed);
  // A unary call with a deadline of kCallDeadline.
  void Send(const mesos::v1::executor::Call& call, DoneFn on_done);
  // Replaces the channel with a new one, which connects at its first call
  // (calls in flight finish on the old one).
  void Reset();
  // Cancels the subscription and waits (up to `timeout`) until gRPC has
  // finished it.
  void Close(absl::Duration timeout);

 private:
  const std::string endpoint_;
  const absl::Duration max_reconnect_backoff_;
  std::mutex mu_;
  std::shared_ptr<agora::v1::Executor::Stub> stub_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<SubscriptionReactor> subscription_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agora

#endif  // AGORA_EXECUTOR_AGENT_CONNECTION_H_
