#include "master/operator_service.h"

#include <utility>

#include "master/grpc_status.h"

namespace agora {

OperatorService::OperatorService(EventLoop* loop, Master* master,
                                 const Leadership* leadership)
    : loop_(loop), master_(master), leadership_(leadership) {}

grpc::ServerUnaryReactor* OperatorService::Call(
    grpc::CallbackServerContext* context, const mesos::v1::master::Call* call,
    mesos::v1::master::Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status refused = leadership_->CheckGrpc(context); !refused.ok()) {
    reactor->Finish(refused);
    return reactor;
  }
  Master* master = master_;
  loop_->Post([master, reactor, response, call = *call] {
    master->HandleOperatorCall(
        call, [reactor,
               response](absl::StatusOr<mesos::v1::master::Response> result) {
          if (result.ok()) *response = *std::move(result);
          reactor->Finish(ToGrpcStatus(result.status()));
        });
  });
  return reactor;
}

}  // namespace agora
