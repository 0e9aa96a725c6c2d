// SchedulerService: the gRPC edge of the scheduler API (agora.v1.Scheduler).
// Subscribe opens a bounded event stream (a framework that falls
// `max_queued` events behind is disconnected), sends the stream id as
// initial metadata `mesos-stream-id` and hands the stream to the master's
// loop. Both methods parse the request themselves (so that bytes that are
// not a `mesos.v1.scheduler.Call` get INVALID_ARGUMENT with a message, not
// gRPC's bare answer); Call posts to the loop and finishes the RPC from
// there.
//
// Thread rule: handlers run on gRPC threads and only post to the loop.
#ifndef AGORA_MASTER_SCHEDULER_SERVICE_H_
#define AGORA_MASTER_SCHEDULER_SERVICE_H_

#include <cstddef>

#include "agora/v1/service.grpc.pb.h"
#include "common/event_loop.h"
#include "master/leadership.h"
#include "master/master.h"

namespace agora {

inline constexpr char kStreamIdMetadata[] = "mesos-stream-id";

class SchedulerService final
    : public agora::v1::Scheduler::WithRawCallbackMethod_Subscribe<
          agora::v1::Scheduler::WithRawCallbackMethod_Call<
              agora::v1::Scheduler::CallbackService>> {
 public:
  // `loop`, `master` and `leadership` must outlive the gRPC server. Calls
  // reach the master only while `leadership` says it leads.
  SchedulerService(EventLoop* loop, Master* master,
                   const Leadership* leadership, size_t max_queued);

  // The request is a serialized `mesos.v1.scheduler.Call`; the stream
  // carries serialized `mesos.v1.scheduler.Event`s.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;

  // The request is a serialized `mesos.v1.scheduler.Call`; the response an
  // (empty) `agora.v1.CallResponse`.
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;

 private:
  EventLoop* const loop_;
  Master* const master_;
  const Leadership* const leadership_;
  const size_t max_queued_;
};

}  // namespace agora

#endif  // AGORA_MASTER_SCHEDULER_SERVICE_H_
