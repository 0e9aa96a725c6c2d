// The allocator's bookkeeping: which framework sorters hold a framework,
// and the per-agent allocation records that the sorters and the agents'
// available resources are kept in step with.
#include <map>
#include <string>
#include <utility>

#include "allocator/allocator_impl.h"
#include "glog/logging.h"

namespace agora {

// --- Sorter membership --------------------------------------------------

void Allocator::Impl::Track(FrameworkState* framework,
                            const std::string& role) {
  if (!framework->tracked.insert(role).second) return;
  auto& state = roles_[role];
  if (state == nullptr) {
    // The first framework in this role: the role joins the role tree.
    state = std::make_unique<RoleState>(role);
    state->frameworks.AddTotal(total_quantities_);
    role_sorter_.Add(role);
    role_sorter_.Activate(role);
  }
  state->frameworks.Add(framework->id.value());
  SyncActivation(framework, role);
}

void Allocator::Impl::Untrack(FrameworkState* framework,
                              const std::string& role) {
  if (framework->tracked.erase(role) == 0) return;
  framework->agents_with_allocation.erase(role);
  auto it = roles_.find(role);
  it->second->frameworks.Remove(framework->id.value());
  if (it->second->frameworks.Count() == 0) {
    role_sorter_.Remove(role);
    roles_.erase(it);
  }
}

void Allocator::Impl::UntrackIfUnused(FrameworkState* framework,
                                      const std::string& role) {
  if (framework->roles.count(role) > 0) return;
  auto it = framework->agents_with_allocation.find(role);
  if (it != framework->agents_with_allocation.end() && it->second > 0) return;
  Untrack(framework, role);
}

void Allocator::Impl::SyncActivation(FrameworkState* framework,
                                     const std::string& role) {
  DrfSorter& sorter = roles_.at(role)->frameworks;
  bool offerable = framework->active && framework->roles.count(role) > 0 &&
                   framework->suppressed.count(role) == 0;
  if (offerable) {
    sorter.Activate(framework->id.value());
  } else {
    sorter.Deactivate(framework->id.value());
  }
}

// --- Allocation records ---------------------------------------------------

std::map<std::string, Resources> Allocator::Impl::SplitByRole(
    const Resources& resources, const FrameworkState& framework) const {
  std::map<std::string, Resources> out;
  for (Resource r : resources.items()) {
    if (r.allocation_role.empty()) {
      r.allocation_role =
          framework.roles.empty() ? "*" : *framework.roles.begin();
    }
    out[r.allocation_role] += r;
  }
  return out;
}

void Allocator::Impl::Reserve(AgentState* agent, const Resources& plain) {
  if (!agent->available.Contains(plain)) {
    LOG(WARNING) << "agent " << agent->id << " reports " << plain
                 << " in use but has only " << agent->available << " free";
    agent->overcommitted = true;
  }
  agent->available -= plain;
}

void Allocator::Impl::Release(AgentState* agent, const Resources& plain) {
  if (agent->overcommitted) {
    RecomputeAvailable(agent);
  } else {
    agent->available += plain;
  }
}

void Allocator::Impl::RecomputeAvailable(AgentState* agent) {
  Resources used;
  for (const auto& [key, resources] : agent->allocated) used += resources;
  for (const auto& [id, resources] : agent->untracked) used += resources;
  used = used.AllocatedTo("");
  agent->overcommitted = !agent->total.Contains(used);
  agent->available = agent->total - used;
}

void Allocator::Impl::AddRecord(AgentState* agent, FrameworkState* framework,
                                RoleState* role, const Resources& allocated,
                                const Quantities& quantities) {
  auto [it, inserted] =
      agent->allocated.try_emplace({framework->seq, role->name});
  if (inserted) {
    it->second = allocated;
    ++framework->agents_with_allocation[role->name];
  } else {
    it->second += allocated;
  }
  role_sorter_.Allocated(role->name, quantities);
  role->frameworks.Allocated(framework->id.value(), quantities);
}

// Takes `part` (with allocation role `role`) out of the framework's record
// on the agent; only what the record holds is freed.
void Allocator::Impl::RemoveRecordPart(AgentState* agent,
                                       FrameworkState* framework,
                                       const std::string& role,
                                       const Resources& part) {
  auto it = agent->allocated.find({framework->seq, role});
  if (it == agent->allocated.end()) return;
  const Resources* removed = &part;
  Resources partial;
  if (it->second.Contains(part)) {
    it->second -= part;
  } else {
    partial = it->second;
    it->second -= part;
    partial -= it->second;
    removed = &partial;
  }
  if (it->second.empty()) {
    agent->allocated.erase(it);
    --framework->agents_with_allocation[role];
  }
  Quantities q = names_.Of(*removed);
  role_sorter_.Unallocated(role, q);
  roles_.at(role)->frameworks.Unallocated(framework->id.value(), q);
  Release(agent, removed->AllocatedTo(""));
}

void Allocator::Impl::TrackUsed(AgentState* agent, FrameworkState* framework,
                                const Resources& used) {
  for (auto& [role, part] : SplitByRole(used, *framework)) {
    Reserve(agent, part.AllocatedTo(""));
    Track(framework, role);
    AddRecord(agent, framework, roles_.at(role).get(), part, names_.Of(part));
  }
}

}  // namespace agora
