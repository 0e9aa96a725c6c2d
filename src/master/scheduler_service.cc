#include "master/scheduler_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "glog/logging.h"
#include "master/grpc_status.h"

namespace agora {

SchedulerService::SchedulerService(EventLoop* loop, Master* master,
                                   const Leadership* leadership,
                                   size_t max_queued)
    : loop_(loop),
      master_(master),
      leadership_(leadership),
      max_queued_(max_queued) {}

namespace {

// The request as a Call; InvalidArgument saying what is wrong otherwise.
absl::StatusOr<mesos::v1::scheduler::Call> ParseCall(
    const grpc::ByteBuffer& request) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (request.Valid() && request.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  mesos::v1::scheduler::Call call;
  if (!call.ParsePartialFromString(bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("call: the request (", bytes.size(),
                     " bytes) is not a valid mesos.v1.scheduler.Call"));
  }
  if (!call.IsInitialized()) {
    return absl::InvalidArgumentError(
        absl::StrCat("call: required fields are missing: ",
                     call.InitializationErrorString()));
  }
  return call;
}

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* SchedulerService::Subscribe(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  absl::StatusOr<mesos::v1::scheduler::Call> call = ParseCall(*request);
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
  if (!call.ok()) {
    LOG(WARNING) << "Rejecting a subscription from " << context->peer() << ": "
                 << call.status().message();
    stream->Close(ToGrpcStatus(call.status()));
    return reactor;
  }
  if (grpc::Status refused = leadership_->CheckGrpc(context); !refused.ok()) {
    stream->Close(refused);
    return reactor;
  }
  loop_->Post([master, call = std::move(*call), stream = std::move(stream),
               stream_id] { master->Subscribe(call, stream, stream_id); });
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerService::Call(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<mesos::v1::scheduler::Call> call = ParseCall(*request);
  if (!call.ok()) {
    LOG(WARNING) << "Rejecting a scheduler call from " << context->peer()
                 << ": " << call.status().message();
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  if (grpc::Status refused = leadership_->CheckGrpc(context); !refused.ok()) {
    reactor->Finish(refused);
    return reactor;
  }
  // An empty agora.v1.CallResponse serializes to no bytes.
  grpc::Slice empty;
  *response = grpc::ByteBuffer(&empty, 1);
  std::string stream_id;
  auto it = context->client_metadata().find(kStreamIdMetadata);
  if (it != context->client_metadata().end()) {
    stream_id.assign(it->second.data(), it->second.size());
  }
  Master* master = master_;
  loop_->Post([master, reactor, call = std::move(*call), stream_id] {
    reactor->Finish(ToGrpcStatus(master->HandleCall(call, stream_id)));
  });
  return reactor;
}

}  // namespace agora
