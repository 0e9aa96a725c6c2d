#include "agent/agent_operator_service.h"

#include <utility>

#include "agent/executor_service.h"

namespace agora {

grpc::ServerUnaryReactor* AgentOperatorService::Call(
    grpc::CallbackServerContext* context, const mesos::v1::agent::Call* call,
    mesos::v1::agent::Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const AgentOperator* handler = handler_;
  loop_->Post([handler, reactor, response, call = *call] {
    absl::StatusOr<mesos::v1::agent::Response> result = handler->Handle(call);
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  });
  return reactor;
}

}  // namespace agora
