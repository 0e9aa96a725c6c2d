#include "allocator/offer_filters.h"

#include <algorithm>

namespace agora {

void OfferFilters::Add(uint32_t framework, const std::string& role,
                       uint32_t agent, Resources refused, absl::Time expiry) {
  uint64_t id = next_id_++;
  by_framework_[framework][role][agent].push_back(
      Filter{id, std::move(refused), expiry});
  entries_.emplace(id, Location{framework, role, agent, expiry});
  expiry_.emplace(expiry, id);
}

bool OfferFilters::Filtered(uint32_t framework, const std::string& role,
                            uint32_t agent, const Resources& offer) const {
  auto f = by_framework_.find(framework);
  if (f == by_framework_.end()) return false;
  auto r = f->second.find(role);
  if (r == f->second.end()) return false;
  auto a = r->second.find(agent);
  if (a == r->second.end()) return false;
  for (const Filter& filter : a->second) {
    if (filter.refused.Contains(offer)) return true;
  }
  return false;
}

std::map<std::string, size_t> OfferFilters::CountByRole() const {
  std::map<std::string, size_t> out;
  for (const auto& [id, location] : entries_) ++out[location.role];
  return out;
}

void OfferFilters::Expire(absl::Time now) {
  while (!expiry_.empty() && expiry_.begin()->first <= now) {
    uint64_t id = expiry_.begin()->second;
    expiry_.erase(expiry_.begin());
    auto entry = entries_.find(id);
    const Location& loc = entry->second;
    RoleFilters& roles = by_framework_[loc.framework];
    AgentFilters& agents = roles[loc.role];
    std::vector<Filter>& filters = agents[loc.agent];
    filters.erase(std::find_if(filters.begin(), filters.end(),
                               [id](const Filter& f) { return f.id == id; }));
    // The framework's and role's maps stay (they are reused by the next
    // decline); only the agent's empty list goes.
    if (filters.empty()) agents.erase(loc.agent);
    entries_.erase(entry);
  }
}

void OfferFilters::Forget(const std::vector<Filter>& filters) {
  for (const Filter& f : filters) {
    expiry_.erase({f.expiry, f.id});
    entries_.erase(f.id);
  }
}

void OfferFilters::RemoveFramework(uint32_t framework) {
  auto f = by_framework_.find(framework);
  if (f == by_framework_.end()) return;
  for (const auto& [role, agents] : f->second) {
    for (const auto& [agent, filters] : agents) Forget(filters);
  }
  by_framework_.erase(f);
}

void OfferFilters::RemoveFrameworkRole(uint32_t framework,
                                       const std::string& role) {
  auto f = by_framework_.find(framework);
  if (f == by_framework_.end()) return;
  auto r = f->second.find(role);
  if (r == f->second.end()) return;
  for (const auto& [agent, filters] : r->second) Forget(filters);
  f->second.erase(r);
  if (f->second.empty()) by_framework_.erase(f);
}

void OfferFilters::RemoveAgent(uint32_t agent) {
  for (auto f = by_framework_.begin(); f != by_framework_.end();) {
    RoleFilters& roles = f->second;
    for (auto r = roles.begin(); r != roles.end();) {
      auto a = r->second.find(agent);
      if (a != r->second.end()) {
        Forget(a->second);
        r->second.erase(a);
      }
      if (r->second.empty()) {
        roles.erase(r++);
      } else {
        ++r;
      }
    }
    if (roles.empty()) {
      by_framework_.erase(f++);
    } else {
      ++f;
    }
  }
}

}  // namespace agora
