// OperatorService: the gRPC edge of the operator API
// (agora.v1.Operator/Call over mesos.v1.master.Call/Response). Each call is
// posted to the master's loop and answered from there, when
// Master::HandleOperatorCall() completes (after a registry write for calls
// that change state), with the Response or the error status.
//
// Thread rule: handlers run on gRPC threads and only post to the loop.
#ifndef AGORA_MASTER_OPERATOR_SERVICE_H_
#define AGORA_MASTER_OPERATOR_SERVICE_H_

#include "agora/v1/service.grpc.pb.h"
#include "common/event_loop.h"
#include "master/leadership.h"
#include "master/master.h"

namespace agora {

class OperatorService final : public agora::v1::Operator::CallbackService {
 public:
  // `loop` and `master` must outlive the gRPC server.
  // Calls reach `master` only while `leadership` says it leads.
  OperatorService(EventLoop* loop, Master* master,
                  const Leadership* leadership);

  grpc::ServerUnaryReactor* Call(
      grpc::CallbackServerContext* context, const mesos::v1::master::Call* call,
      mesos::v1::master::Response* response) override;

 private:
  EventLoop* const loop_;
  Master* const master_;
  const Leadership* const leadership_;
};

}  // namespace agora

#endif  // AGORA_MASTER_OPERATOR_SERVICE_H_
