// AgentLinkService: the gRPC edge of the master<->agent link
// (agora.internal.AgentLink/Connect). Each Connect is one bidirectional
// stream; incoming AgentMessages are posted to the master's loop in order,
// outgoing MasterMessages wait in a locked, bounded queue (gRPC allows one
// write in flight). A link whose queue overflows is closed with
// RESOURCE_EXHAUSTED, and the agent reregisters.
//
// Thread rule: reactor callbacks run on gRPC threads and only post to the
// loop; AgentConnection methods are thread-safe.
#ifndef AGORA_MASTER_AGENT_SERVICE_H_
#define AGORA_MASTER_AGENT_SERVICE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "agora/internal/agent_link.grpc.pb.h"
#include "common/event_loop.h"
#include "master/leadership.h"
#include "master/master.h"

namespace agora {

class AgentLinkService final
    : public agora::internal::AgentLink::CallbackService {
 public:
  // `loop` and `master` must outlive the gRPC server.
  // Links reach `master` only while `leadership` says it leads; others
  // end at once with its refusal.
  AgentLinkService(EventLoop* loop, Master* master,
                   const Leadership* leadership, size_t max_queued);

  grpc::ServerBidiReactor<internal::AgentMessage, internal::MasterMessage>*
  Connect(grpc::CallbackServerContext* context) override;

 private:
  EventLoop* const loop_;
  Master* const master_;
  const Leadership* const leadership_;
  const size_t max_queued_;
  std::atomic<uint64_t> next_link_id_{1};
};

}  // namespace agora

#endif  // AGORA_MASTER_AGENT_SERVICE_H_
