#include "master/scheduler_service.h"

#include <string>
#include <utility>

#include "common/ids.h"
#include "master/grpc_status.h"

namespace agora {

SchedulerService::SchedulerService(EventLoop* loop, Master* master,
                                   size_t max_queued)
    : loop_(loop), master_(master), max_queued_(max_queued) {}

grpc::ServerWriteReactor<mesos::v1::scheduler::Event>*
SchedulerService::Subscribe(grpc::CallbackServerContext* context,
                            const mesos::v1::scheduler::Call* call) {
  std::string stream_id = RandomUuid();
  // Before any write: the metadata goes out with the first event.
  context->AddInitialMetadata(kStreamIdMetadata, stream_id);
  Master* master = master_;
  EventLoop* loop = loop_;
  auto closed = [loop, master, stream_id] {
    loop->Post(
        [master, stream_id] { master->OnSubscriptionClosed(stream_id); });
  };
  // A subscriber that stops reading is disconnected as soon as its queue
  // overflows, not when gRPC finally tears the call down.
  auto [reactor, stream] = SchedulerStream::Create(max_queued_, closed, closed);
  loop_->Post([master, call = *call, stream = std::move(stream), stream_id] {
    master->Subscribe(call, stream, stream_id);
  });
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerService::Call(
    grpc::CallbackServerContext* context,
    const mesos::v1::scheduler::Call* call, agora::v1::CallResponse*) {
  std::string stream_id;
  auto it = context->client_metadata().find(kStreamIdMetadata);
  if (it != context->client_metadata().end()) {
    stream_id.assign(it->second.data(), it->second.size());
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Master* master = master_;
  loop_->Post([master, reactor, call = *call, stream_id] {
    reactor->Finish(ToGrpcStatus(master->HandleCall(call, stream_id)));
  });
  return reactor;
}

}  // namespace agora
