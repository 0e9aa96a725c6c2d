// AgentRegistry: the agents the master has admitted, each with its link
// (the master's end of the agent's AgentLink/Connect stream, null while
// disconnected) and the state of its health checks.
//
// Thread rule: master loop only (AgentConnection is thread-safe).
#ifndef AGORA_MASTER_AGENT_REGISTRY_H_
#define AGORA_MASTER_AGENT_REGISTRY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agora/internal/agent_link.pb.h"
#include "common/event_loop.h"
#include "common/resources.h"
#include "common/strong_id.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

// The master's end of one agent link. Implemented by the gRPC edge
// (agent_service.h); the seam lets the master stay free of gRPC types.
class AgentConnection {
 public:
  virtual ~AgentConnection() = default;
  // Unique per link for the life of the process.
  virtual uint64_t id() const = 0;
  // The peer's address as gRPC reports it ("ipv4:10.0.0.1:41234").
  virtual const std::string& peer() const = 0;
  // Thread-safe. Queues `message`; false when the link has ended or its
  // bounded queue overflowed (the link is then closed).
  virtual bool Send(internal::MasterMessage message) = 0;
  // Thread-safe. Ends the link with `status` after queued messages.
  virtual void Close(const absl::Status& status) = 0;
};

struct Agent {
  AgentId id;
  mesos::v1::AgentInfo info;  // With `id` set.
  Resources total;
  std::string version;
  // The link; null while disconnected.
  std::shared_ptr<AgentConnection> link;
  // IP the link came from ("" if unknown), for /state.
  std::string ip;
  // Offered to frameworks (connected and healthy).
  bool active = false;
  absl::Time registered_time;
  absl::Time reregistered_time;

  // Health checks: one ping per agent_ping_timeout.
  EventLoop::TimerId ping_timer = 0;
  uint64_t ping_sequence = 0;
  bool awaiting_pong = false;
  int missed_pings = 0;
  // The health checks failed and the transition to unreachable is pending
  // (master/slave_unreachable_scheduled); a pong cancels it.
  bool unreachable_scheduled = false;

  // KILLs asked for while the agent was disconnected, by (framework, task);
  // sent when it reregisters, for tasks it still runs (Mesos's
  // killedTasks).
  std::map<std::pair<std::string, std::string>, internal::MasterMessage>
      pending_kills;

  bool connected() const { return link != nullptr; }
  // Queues `message` on the link; false when disconnected or it failed.
  bool Send(internal::MasterMessage message) const;
};

// The ShutdownAgent message for an agent marked gone (Mesos's text).
inline constexpr char kAgentGoneMessage[] = "Agent has been marked gone";

// "ipv4:10.0.0.1:41234" -> "10.0.0.1"; "ipv6:[::1]:5" -> "::1"; else "".
std::string IpFromPeer(const std::string& peer);

class AgentRegistry {
 public:
  explicit AgentRegistry(std::string master_id);

  // "<master_id>-S0", "<master_id>-S1", ...
  AgentId NextId();

  // Adds an agent (`info.id` must be `id`). `id` must not be known.
  Agent* Add(const AgentId& id, mesos::v1::AgentInfo info, Resources total);
  Agent* Find(const AgentId& id) const;
  // The agent whose current link is `link_id`, if any.
  Agent* FindByLink(uint64_t link_id) const;

  // Forgets the agent (marked unreachable or gone); its link, if any, is
  // forgotten, not closed.
  void Remove(const AgentId& id);

  // Makes `link` the agent's link (the previous one, if any, is forgotten,
  // not closed) or, with null, marks it disconnected.
  void SetLink(Agent* agent, std::shared_ptr<AgentConnection> link);

  const std::map<AgentId, std::unique_ptr<Agent>>& all() const {
    return agents_;
  }

 private:
  const std::string master_id_;
  uint64_t next_id_ = 0;
  std::map<AgentId, std::unique_ptr<Agent>> agents_;
  std::map<uint64_t, AgentId> by_link_;
};

}  // namespace agora

#endif  // AGORA_MASTER_AGENT_REGISTRY_H_
