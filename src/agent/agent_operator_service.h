// AgentOperatorService: the gRPC transport of the agent operator API
// (agora.v1.AgentOperator/Call over mesos.v1.agent.Call/Response) on the
// agent's gRPC port. Each call is posted to the agent loop and finished
// from there with the Response or the error status of
// AgentOperator::Handle() (INVALID_ARGUMENT, UNIMPLEMENTED naming the call).
//
// Thread rule: handlers run on gRPC threads and only post to the loop.
#ifndef AGORA_AGENT_AGENT_OPERATOR_SERVICE_H_
#define AGORA_AGENT_AGENT_OPERATOR_SERVICE_H_

#include "agent/agent_operator.h"
#include "agora/v1/service.grpc.pb.h"
#include "common/event_loop.h"

namespace agora {

class AgentOperatorService final
    : public agora::v1::AgentOperator::CallbackService {
 public:
  // `loop` and `handler` must outlive the gRPC server serving this.
  AgentOperatorService(EventLoop* loop, const AgentOperator* handler)
      : loop_(loop), handler_(handler) {}

  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const mesos::v1::agent::Call* call,
                                 mesos::v1::agent::Response* response) override;

 private:
  EventLoop* const loop_;
  const AgentOperator* const handler_;
};

}  // namespace agora

#endif  // AGORA_AGENT_AGENT_OPERATOR_SERVICE_H_
