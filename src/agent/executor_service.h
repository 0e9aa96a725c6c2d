// ExecutorService: the agent's agora.v1.Executor gRPC service, which
// executors reach over the agent's Unix socket (and its TCP port, as
// Mesos's /api/v1/executor). Handlers validate the envelope, then post to
// the agent loop, where an ExecutorCallHandler (the container manager)
// decides; unary calls are finished from the loop.
//
// Thread rule: gRPC handlers run on gRPC threads and only post; the
// handler's methods run on the loop.
#ifndef AGORA_AGENT_EXECUTOR_SERVICE_H_
#define AGORA_AGENT_EXECUTOR_SERVICE_H_

#include <memory>

#include "absl/status/status.h"
#include "agora/v1/service.grpc.pb.h"
#include "common/event_loop.h"
#include "common/event_stream.h"

namespace agora {

using ExecutorEventStream = EventStream<mesos::v1::executor::Event>;

// Loop thread only.
class ExecutorCallHandler {
 public:
  virtual ~ExecutorCallHandler() = default;
  // A SUBSCRIBE call opened `stream`; the handler sends events on it or
  // closes it with an error.
  virtual void OnExecutorSubscribe(
      const mesos::v1::executor::Call& call,
      std::shared_ptr<ExecutorEventStream> stream) = 0;
  // The stream of a SUBSCRIBE ended (either side).
  virtual void OnExecutorStreamClosed(
      const mesos::v1::executor::Call& call,
      const std::shared_ptr<ExecutorEventStream>& stream) = 0;
  // UPDATE, MESSAGE, HEARTBEAT. The status goes back to the executor.
  virtual absl::Status OnExecutorCall(
      const mesos::v1::executor::Call& call) = 0;
};

class ExecutorService : public agora::v1::Executor::CallbackService {
 public:
  static constexpr size_t kMaxQueuedEvents = 1024;

  // `loop` and `handler` must outlive the gRPC server serving this.
  ExecutorService(EventLoop* loop, ExecutorCallHandler* handler)
      : loop_(loop), handler_(handler) {}

  grpc::ServerWriteReactor<mesos::v1::executor::Event>* Subscribe(
      grpc::CallbackServerContext* context,
      const mesos::v1::executor::Call* call) override;
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const mesos::v1::executor::Call* call,
                                 agora::v1::CallResponse* response) override;

 private:
  EventLoop* const loop_;
  ExecutorCallHandler* const handler_;
};

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace agora

#endif  // AGORA_AGENT_EXECUTOR_SERVICE_H_
