#include "master/agent_registry.h"

#include <utility>

#include "common/ids.h"
#include "glog/logging.h"

namespace agora {

bool Agent::Send(internal::MasterMessage message) const {
  return link != nullptr && link->Send(std::move(message));
}

std::string IpFromPeer(const std::string& peer) {
  size_t colon = peer.find(':');
  size_t last = peer.rfind(':');
  if (colon == std::string::npos || last == colon) return "";
  std::string host = peer.substr(colon + 1, last - colon - 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

AgentRegistry::AgentRegistry(std::string master_id)
    : master_id_(std::move(master_id)) {}

AgentId AgentRegistry::NextId() {
  while (true) {
    AgentId id(FormatAgentId(master_id_, next_id_++));
    if (agents_.count(id) == 0) return id;
  }
}

Agent* AgentRegistry::Add(const AgentId& id, mesos::v1::AgentInfo info,
                          Resources total) {
  CHECK(agents_.count(id) == 0) << "agent " << id << " added twice";
  CHECK_EQ(info.id().value(), id.value());
  auto agent = std::make_unique<Agent>();
  agent->id = id;
  agent->info = std::move(info);
  agent->total = std::move(total);
  Agent* raw = agent.get();
  agents_.emplace(id, std::move(agent));
  return raw;
}

Agent* AgentRegistry::Find(const AgentId& id) const {
  auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : it->second.get();
}

Agent* AgentRegistry::FindByLink(uint64_t link_id) const {
  auto it = by_link_.find(link_id);
  return it == by_link_.end() ? nullptr : Find(it->second);
}

void AgentRegistry::Remove(const AgentId& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return;
  if (it->second->link != nullptr) by_link_.erase(it->second->link->id());
  agents_.erase(it);
}

void AgentRegistry::SetLink(Agent* agent,
                            std::shared_ptr<AgentConnection> link) {
  if (agent->link != nullptr) by_link_.erase(agent->link->id());
  agent->link = std::move(link);
  if (agent->link != nullptr) {
    by_link_[agent->link->id()] = agent->id;
    agent->ip = IpFromPeer(agent->link->peer());
  }
}

}  // namespace agora
