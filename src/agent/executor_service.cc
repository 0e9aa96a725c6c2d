#include "agent/executor_service.h"

#include <string>
#include <utility>

#include "glog/logging.h"

namespace agora {

using ExecutorCall = mesos::v1::executor::Call;
using mesos::v1::executor::Event;

grpc::Status ToGrpcStatus(const absl::Status& status) {
  // absl and gRPC share the canonical code numbers.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::ServerWriteReactor<Event>* ExecutorService::Subscribe(
    grpc::CallbackServerContext* /*context*/, const ExecutorCall* call) {
  ExecutorCall copy = *call;
  auto holder = std::make_shared<std::weak_ptr<ExecutorEventStream>>();
  auto [reactor, stream] =
      ExecutorEventStream::Create(kMaxQueuedEvents, [this, copy, holder] {
        loop_->Post([this, copy, holder] {
          if (auto s = holder->lock())
            handler_->OnExecutorStreamClosed(copy, s);
        });
      });
  *holder = stream;
  if (copy.type() != ExecutorCall::SUBSCRIBE) {
    stream->Close(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     "executor Subscribe: expected a SUBSCRIBE call"));
    return reactor;
  }
  VLOG(1) << "SUBSCRIBE from executor '" << copy.executor_id().value()
          << "' of framework " << copy.framework_id().value();
  loop_->Post([this, copy, stream = stream] {
    handler_->OnExecutorSubscribe(copy, stream);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ExecutorService::Call(
    grpc::CallbackServerContext* context, const mesos::v1::executor::Call* call,
    agora::v1::CallResponse* /*response*/) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  VLOG(1) << "Executor call " << ExecutorCall::Type_Name(call->type())
          << " from '" << call->executor_id().value() << "'";
  loop_->Post([this, reactor, copy = *call] {
    reactor->Finish(ToGrpcStatus(handler_->OnExecutorCall(copy)));
  });
  return reactor;
}

}  // namespace agora
