// One allocation cycle: Mesos's second stage (no quota yet). For each
// candidate agent, each role in DRF order and each framework of that role in
// DRF order, the first framework that is neither filtered nor below the
// minimum gets everything left on the agent that its role may use.
#include <utility>

#include "allocator/allocator_impl.h"
#include "glog/logging.h"

namespace agora {

std::vector<AgentState*> Allocator::Impl::Candidates(
    const std::optional<std::set<AgentId>>& agents) {
  std::vector<AgentState*> out;
  if (agents.has_value()) {
    out.reserve(agents->size());
    for (const AgentId& id : *agents) {
      AgentState* agent = FindAgent(id);
      if (agent != nullptr && agent->active) out.push_back(agent);
    }
  } else {
    out.reserve(agents_.size());
    for (const auto& [id, agent] : agents_) {
      if (agent->active) out.push_back(agent.get());
    }
  }
  return out;
}

// Fisher-Yates with our own seeded generator, so a seed gives the same
// order on every standard library.
void Allocator::Impl::Shuffle(std::vector<AgentState*>* agents) {
  for (size_t i = agents->size(); i > 1; --i) {
    size_t j = static_cast<size_t>(rng_() % i);
    std::swap((*agents)[i - 1], (*agents)[j]);
  }
}

bool Allocator::Impl::MeetsMinimum(
    const Quantities& offer, const std::vector<Quantities>& minimums) const {
  if (minimums.empty()) return true;
  for (const Quantities& minimum : minimums) {
    if (ContainsQuantities(offer, minimum)) return true;
  }
  return false;
}

bool Allocator::Impl::FrameworkMeetsMinimum(const FrameworkState& framework,
                                            const std::string& role,
                                            const Quantities& offer,
                                            bool meets_global) const {
  if (framework.min_allocatable.empty()) return meets_global;
  auto it = framework.min_allocatable.find(role);
  if (it == framework.min_allocatable.end()) return meets_global;
  return MeetsMinimum(offer, it->second);
}

// The first framework of `role`, in DRF order, that may take what the agent
// offers the role. The role's sorter only lists frameworks that are active
// and not suppressed in it.
std::optional<Allocator::Impl::Grant> Allocator::Impl::PickFramework(
    AgentState* agent, RoleState* role) {
  Grant grant;
  grant.role = role;
  grant.whole_agent = !agent->has_reservations;
  if (!grant.whole_agent) {
    grant.offer = agent->available.AllocatableTo(role->name);
  }
  const Resources& offer = grant.whole_agent ? agent->available : grant.offer;
  if (offer.empty()) return std::nullopt;
  grant.quantities = names_.Of(offer);
  const bool meets_global = MeetsMinimum(grant.quantities, min_allocatable_);
  if (!meets_global && frameworks_with_own_minimum_ == 0) return std::nullopt;
  role->frameworks.ForEachActive([&](const std::string& id) {
    FrameworkState* framework = frameworks_.find(id)->second.get();
    if (!FrameworkMeetsMinimum(*framework, role->name, grant.quantities,
                               meets_global)) {
      return true;
    }
    if (filters_.Filtered(framework->seq, role->name, agent->seq, offer)) {
      return true;
    }
    grant.framework = framework;
    return false;
  });
  if (grant.framework == nullptr) return std::nullopt;
  return grant;
}

void Allocator::Impl::ApplyGrant(AgentState* agent, Grant grant,
                                 std::vector<Allocation>* out) {
  Resources offer;
  if (grant.whole_agent) {
    offer = std::move(agent->available);
    agent->available = Resources();
  } else {
    offer = std::move(grant.offer);
    agent->available -= offer;
  }
  Resources allocated = offer.AllocatedTo(grant.role->name);
  AddRecord(agent, grant.framework, grant.role, allocated, grant.quantities);
  VLOG(2) << "allocator: offering " << allocated << " on agent " << agent->id
          << " to role " << grant.role->name << " of framework "
          << grant.framework->id;
  out->push_back(Allocation{grant.framework->id, grant.role->name, agent->id,
                            std::move(allocated)});
}

namespace {

// The roles among which what is left of an agent after a grant may still
// go: the grant took everything unreserved, so only roles at or below a
// remaining reservation qualify.
std::set<std::string> ReservationRoles(const Resources& leftover) {
  std::set<std::string> out;
  for (const Resource& r : leftover.items()) {
    if (!r.IsUnreserved()) out.insert(r.ReservationRole());
  }
  return out;
}

bool MayUse(const std::string& role, const std::set<std::string>& owners) {
  for (const std::string& owner : owners) {
    if (IsRoleOrDescendant(role, owner)) return true;
  }
  return false;
}

}  // namespace

// Mesos sorts the roles once per agent and walks that list. We walk the
// role tree in place until the first grant; the grant moves the sorters,
// so before applying it we note which of the roles still to come could use
// what the agent has left (its other roles' reservations). Usually nothing
// is left and the walk stops at the first grant.
void Allocator::Impl::AllocateAgent(AgentState* agent,
                                    std::vector<Allocation>* out) {
  if (agent->available.empty()) return;
  std::optional<Grant> first;
  std::set<std::string> owners;
  std::vector<RoleState*> rest;
  role_sorter_.ForEachActive([&](const std::string& name) {
    RoleState* role = roles_.find(name)->second.get();
    if (first.has_value()) {
      if (MayUse(name, owners)) rest.push_back(role);
      return true;
    }
    first = PickFramework(agent, role);
    if (!first.has_value()) return true;   // Nobody here takes it; next role.
    if (first->whole_agent) return false;  // The grant empties the agent.
    owners = ReservationRoles(agent->available - first->offer);
    return !owners.empty();
  });
  if (!first.has_value()) return;
  ApplyGrant(agent, std::move(*first), out);
  for (RoleState* role : rest) {
    if (agent->available.empty()) break;
    std::optional<Grant> grant = PickFramework(agent, role);
    if (grant.has_value()) ApplyGrant(agent, std::move(*grant), out);
  }
}

std::vector<Allocation> Allocator::Impl::Allocate(
    absl::Time now, const std::optional<std::set<AgentId>>& agents) {
  filters_.Expire(now);
  std::vector<AgentState*> candidates = Candidates(agents);
  if (options_.shuffle_agents) Shuffle(&candidates);
  std::vector<Allocation> out;
  for (AgentState* agent : candidates) AllocateAgent(agent, &out);
  ++allocation_runs_;
  VLOG(2) << "allocator: cycle " << allocation_runs_ << " over "
          << candidates.size() << " agents made " << out.size() << " offers";
  return out;
}

}  // namespace agora
