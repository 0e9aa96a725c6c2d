#include "allocator/allocator.h"

#include <algorithm>
#include <utility>

#include "allocator/allocator_impl.h"
#include "glog/logging.h"

namespace agora {

// Mesos caps refuse_seconds at 365 days.
constexpr absl::Duration kMaxRefuse = absl::Hours(24 * 365);

std::vector<Resources> AllocatorOptions::DefaultMinAllocatable() {
  return {*Resources::Parse("cpus:0.01"), *Resources::Parse("mem:32")};
}

size_t ResourceNames::Index(const std::string& name) {
  return index_.try_emplace(name, index_.size()).first->second;
}

Quantities ResourceNames::Of(const Resources& resources) {
  Quantities q;
  for (const Resource& r : resources.items()) {
    if (r.kind != Resource::Kind::kScalar) continue;
    size_t i = Index(r.name);
    if (q.size() <= i) q.resize(i + 1, 0);
    q[i] += r.scalar.millis();
  }
  return q;
}

Allocator::Impl::Impl(AllocatorOptions options)
    : options_(std::move(options)), rng_(options_.shuffle_seed) {
  for (const Resources& set : options_.min_allocatable_resources) {
    min_allocatable_.push_back(names_.Of(set));
  }
}

FrameworkState* Allocator::Impl::FindFramework(const FrameworkId& id) const {
  auto it = frameworks_.find(id.value());
  return it == frameworks_.end() ? nullptr : it->second.get();
}

AgentState* Allocator::Impl::FindAgent(const AgentId& id) const {
  auto it = agent_index_.find(id);
  return it == agent_index_.end() ? nullptr : it->second;
}

// --- Frameworks -------------------------------------------------------------

void Allocator::Impl::AddFramework(const FrameworkId& id,
                                   const std::set<std::string>& roles,
                                   const std::map<AgentId, Resources>& used,
                                   bool active,
                                   const std::set<std::string>& suppressed) {
  if (FindFramework(id) != nullptr) return;
  auto state = std::make_unique<FrameworkState>();
  FrameworkState* framework = state.get();
  framework->id = id;
  framework->seq = next_framework_seq_++;
  framework->active = active;
  for (const std::string& role : roles) {
    if (absl::Status valid = ValidateRole(role); !valid.ok()) {
      LOG(WARNING) << "allocator: framework " << id << ": " << valid.message();
      continue;
    }
    framework->roles.insert(role);
  }
  for (const std::string& role : suppressed) {
    if (framework->roles.count(role) > 0) framework->suppressed.insert(role);
  }
  frameworks_.emplace(id.value(), std::move(state));
  frameworks_by_seq_[framework->seq] = framework;
  for (const std::string& role : framework->roles) Track(framework, role);
  for (const auto& [agent_id, resources] : used) {
    AgentState* agent = FindAgent(agent_id);
    if (agent == nullptr) continue;  // It will report its use when added.
    auto untracked = agent->untracked.find(id);
    if (untracked != agent->untracked.end()) {
      // The agent already told us; the framework's view replaces it.
      Resources plain = untracked->second.AllocatedTo("");
      agent->untracked.erase(untracked);
      Release(agent, plain);
    }
    TrackUsed(agent, framework, resources);
  }
  VLOG(1) << "allocator: added framework " << id << " (" << roles.size()
          << " roles, " << (active ? "active" : "inactive") << ")";
}

void Allocator::Impl::RemoveFramework(const FrameworkId& id) {
  FrameworkState* framework = FindFramework(id);
  if (framework == nullptr) return;
  for (auto& [agent_id, agent] : agents_) {
    auto it = agent->allocated.lower_bound({framework->seq, ""});
    while (it != agent->allocated.end() && it->first.first == framework->seq) {
      const std::string& role = it->first.second;
      Quantities q = names_.Of(it->second);
      role_sorter_.Unallocated(role, q);
      roles_.at(role)->frameworks.Unallocated(id.value(), q);
      Resources plain = it->second.AllocatedTo("");
      it = agent->allocated.erase(it);
      Release(agent.get(), plain);
    }
  }
  filters_.RemoveFramework(framework->seq);
  if (!framework->min_allocatable.empty()) --frameworks_with_own_minimum_;
  std::set<std::string> tracked = framework->tracked;
  for (const std::string& role : tracked) Untrack(framework, role);
  frameworks_by_seq_.erase(framework->seq);
  frameworks_.erase(id.value());
  VLOG(1) << "allocator: removed framework " << id;
}

void Allocator::Impl::SetFrameworkActive(const FrameworkId& id, bool active) {
  FrameworkState* framework = FindFramework(id);
  if (framework == nullptr) return;
  framework->active = active;
  for (const std::string& role : framework->tracked) {
    SyncActivation(framework, role);
  }
  // Mesos drops a framework's filters when it deactivates.
  if (!active) filters_.RemoveFramework(framework->seq);
  VLOG(1) << "allocator: " << (active ? "activated" : "deactivated")
          << " framework " << id;
}

void Allocator::Impl::SuppressOffers(const FrameworkId& id,
                                     const std::set<std::string>& roles) {
  FrameworkState* framework = FindFramework(id);
  if (framework == nullptr) return;
  for (const std::string& role : roles.empty() ? framework->roles : roles) {
    if (framework->roles.count(role) == 0) continue;
    framework->suppressed.insert(role);
    SyncActivation(framework, role);
  }
  VLOG(1) << "allocator: suppressed offers for framework " << id;
}

void Allocator::Impl::ReviveOffers(const FrameworkId& id,
                                   const std::set<std::string>& roles) {
  FrameworkState* framework = FindFramework(id);
  if (framework == nullptr) return;
  for (const std::string& role : roles.empty() ? framework->roles : roles) {
    filters_.RemoveFrameworkRole(framework->seq, role);
    if (framework->suppressed.erase(role) > 0) SyncActivation(framework, role);
  }
  VLOG(1) << "allocator: revived offers for framework " << id;
}

void Allocator::Impl::UpdateFramework(
    const FrameworkId& id, const std::set<std::string>& roles,
    const std::set<std::string>& suppressed,
    const std::map<std::string, std::vector<Resources>>& min_allocatable) {
  FrameworkState* framework = FindFramework(id);
  if (framework == nullptr) return;
  std::set<std::string> old_roles = std::move(framework->roles);
  framework->roles.clear();
  for (const std::string& role : roles) {
    if (absl::Status valid = ValidateRole(role); !valid.ok()) {
      LOG(WARNING) << "allocator: framework " << id << ": " << valid.message();
      continue;
    }
    framework->roles.insert(role);
  }
  framework->suppressed.clear();
  for (const std::string& role : suppressed) {
    if (framework->roles.count(role) > 0) framework->suppressed.insert(role);
  }
  if (!framework->min_allocatable.empty()) --frameworks_with_own_minimum_;
  framework->min_allocatable.clear();
  if (!min_allocatable.empty()) ++frameworks_with_own_minimum_;
  for (const auto& [role, sets] : min_allocatable) {
    std::vector<Quantities>& out = framework->min_allocatable[role];
    for (const Resources& set : sets) out.push_back(names_.Of(set));
  }
  for (const std::string& role : old_roles) {
    if (framework->roles.count(role) > 0) continue;
    filters_.RemoveFrameworkRole(framework->seq, role);
    if (framework->tracked.count(role) > 0) SyncActivation(framework, role);
    UntrackIfUnused(framework, role);
  }
  for (const std::string& role : framework->roles) {
    if (framework->tracked.count(role) == 0) {
      Track(framework, role);
    } else {
      SyncActivation(framework, role);
    }
  }
  VLOG(1) << "allocator: updated framework " << id << " ("
          << framework->roles.size() << " roles)";
}

void Allocator::Impl::UpdateWeights(
    const std::map<std::string, double>& weights) {
  for (const auto& [role, weight] : weights) {
    if (!(weight > 0)) {
      LOG(WARNING) << "allocator: ignoring weight " << weight << " of role '"
                   << role << "'";
      continue;
    }
    role_sorter_.UpdateWeight(role, weight);
  }
}

// --- Agents -----------------------------------------------------------------

void Allocator::Impl::AddAgent(const AgentId& id, const Resources& total,
                               const std::map<FrameworkId, Resources>& used) {
  if (FindAgent(id) != nullptr) return;
  auto state = std::make_unique<AgentState>();
  AgentState* agent = state.get();
  agent->id = id;
  agent->seq = next_agent_seq_++;
  agent->total = total.AllocatedTo("");
  agent->available = agent->total;
  agent->total_quantities = names_.Of(agent->total);
  agent->has_reservations =
      std::any_of(total.items().begin(), total.items().end(),
                  [](const Resource& r) { return !r.IsUnreserved(); });
  agents_.emplace(id, std::move(state));
  agent_index_[id] = agent;
  AddQuantities(&total_quantities_, agent->total_quantities);
  role_sorter_.AddTotal(agent->total_quantities);
  for (auto& [name, role] : roles_) {
    role->frameworks.AddTotal(agent->total_quantities);
  }
  for (const auto& [framework_id, resources] : used) {
    FrameworkState* framework = FindFramework(framework_id);
    if (framework != nullptr) {
      TrackUsed(agent, framework, resources);
    } else {
      Reserve(agent, resources.AllocatedTo(""));
      agent->untracked[framework_id] += resources;
    }
  }
  VLOG(1) << "allocator: added agent " << id << " with " << total;
}

void Allocator::Impl::RemoveAgent(const AgentId& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return;
  AgentState* agent = it->second.get();
  std::vector<std::pair<FrameworkState*, std::string>> touched;
  for (const auto& [key, resources] : agent->allocated) {
    FrameworkState* framework = frameworks_by_seq_.at(key.first);
    const std::string& role = key.second;
    Quantities q = names_.Of(resources);
    role_sorter_.Unallocated(role, q);
    roles_.at(role)->frameworks.Unallocated(framework->id.value(), q);
    --framework->agents_with_allocation[role];
    touched.emplace_back(framework, role);
  }
  agent->allocated.clear();
  for (auto& [framework, role] : touched) UntrackIfUnused(framework, role);
  SubtractQuantities(&total_quantities_, agent->total_quantities);
  role_sorter_.SubtractTotal(agent->total_quantities);
  for (auto& [name, role] : roles_) {
    role->frameworks.SubtractTotal(agent->total_quantities);
  }
  filters_.RemoveAgent(agent->seq);
  agent_index_.erase(id);
  agents_.erase(it);
  VLOG(1) << "allocator: removed agent " << id;
}

void Allocator::Impl::SetAgentActive(const AgentId& id, bool active) {
  AgentState* agent = FindAgent(id);
  if (agent == nullptr) return;
  agent->active = active;
  VLOG(1) << "allocator: " << (active ? "activated" : "deactivated")
          << " agent " << id;
}

// --- Recovery
// -----------------------------------------------------------------

void Allocator::Impl::RecoverResources(const FrameworkId& id,
                                       const AgentId& agent_id,
                                       const Resources& resources,
                                       std::optional<absl::Duration> refuse,
                                       absl::Time now) {
  AgentState* agent = FindAgent(agent_id);
  if (agent == nullptr || resources.empty()) return;
  FrameworkState* framework = FindFramework(id);
  if (framework == nullptr) {
    RecoverUntracked(agent, id, resources);
    return;
  }
  // Nearly always one allocation role (one offer); then no regrouping.
  const std::string& first = resources.items().front().allocation_role;
  bool one_role =
      !first.empty() &&
      std::all_of(
          resources.items().begin(), resources.items().end(),
          [&first](const Resource& r) { return r.allocation_role == first; });
  if (one_role) {
    RecoverInRole(agent, framework, first, resources, refuse, now);
    return;
  }
  for (auto& [role, part] : SplitByRole(resources, *framework)) {
    RecoverInRole(agent, framework, role, part, refuse, now);
  }
}

void Allocator::Impl::RecoverInRole(AgentState* agent,
                                    FrameworkState* framework,
                                    const std::string& role,
                                    const Resources& part,
                                    std::optional<absl::Duration> refuse,
                                    absl::Time now) {
  bool tracked = framework->tracked.count(role) > 0;
  if (tracked) RemoveRecordPart(agent, framework, role, part);
  if (refuse.has_value() && *refuse > absl::ZeroDuration()) {
    // At least one allocation interval, so the filter outlives the next
    // cycle (MESOS-4302).
    absl::Duration timeout =
        std::max(std::min(*refuse, kMaxRefuse), options_.allocation_interval);
    filters_.Add(framework->seq, role, agent->seq, part.AllocatedTo(""),
                 now + timeout);
  }
  if (tracked) UntrackIfUnused(framework, role);
}

void Allocator::Impl::RecoverUntracked(AgentState* agent, const FrameworkId& id,
                                       const Resources& resources) {
  auto untracked = agent->untracked.find(id);
  if (untracked == agent->untracked.end()) return;
  Resources removed = untracked->second;
  untracked->second -= resources;
  removed -= untracked->second;
  if (untracked->second.empty()) agent->untracked.erase(untracked);
  Release(agent, removed.AllocatedTo(""));
}

// --- Observability
// ------------------------------------------------------------

double Allocator::Impl::RoleShare(const std::string& role) const {
  return role_sorter_.Share(role);
}

double Allocator::Impl::FrameworkShare(const std::string& role,
                                       const FrameworkId& framework) const {
  auto it = roles_.find(role);
  if (it == roles_.end()) return 0.0;
  return it->second->frameworks.Share(framework.value());
}

Resources Allocator::Impl::TotalResources() const {
  Resources out;
  for (const auto& [id, agent] : agents_) out += agent->total;
  return out;
}

Resources Allocator::Impl::AllocatedResources() const {
  Resources out;
  for (const auto& [id, agent] : agents_) {
    for (const auto& [key, resources] : agent->allocated) out += resources;
    for (const auto& [fid, resources] : agent->untracked) out += resources;
  }
  return out;
}

// --- Public API -------------------------------------------------------------

Allocator::Allocator(AllocatorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Allocator::~Allocator() = default;

void Allocator::AddFramework(const FrameworkId& id,
                             const std::set<std::string>& roles,
                             const std::map<AgentId, Resources>& used,
                             bool active,
                             const std::set<std::string>& suppressed_roles) {
  impl_->AddFramework(id, roles, used, active, suppressed_roles);
}

void Allocator::RemoveFramework(const FrameworkId& id) {
  impl_->RemoveFramework(id);
}

void Allocator::ActivateFramework(const FrameworkId& id) {
  impl_->SetFrameworkActive(id, true);
}

void Allocator::DeactivateFramework(const FrameworkId& id) {
  impl_->SetFrameworkActive(id, false);
}

void Allocator::AddAgent(const AgentId& id, const Resources& total,
                         const std::map<FrameworkId, Resources>& used) {
  impl_->AddAgent(id, total, used);
}

void Allocator::RemoveAgent(const AgentId& id) { impl_->RemoveAgent(id); }

void Allocator::ActivateAgent(const AgentId& id) {
  impl_->SetAgentActive(id, true);
}

void Allocator::DeactivateAgent(const AgentId& id) {
  impl_->SetAgentActive(id, false);
}

void Allocator::RecoverResources(const FrameworkId& framework,
                                 const AgentId& agent,
                                 const Resources& resources,
                                 std::optional<absl::Duration> refuse,
                                 absl::Time now) {
  impl_->RecoverResources(framework, agent, resources, refuse, now);
}

void Allocator::SuppressOffers(const FrameworkId& framework,
                               const std::set<std::string>& roles) {
  impl_->SuppressOffers(framework, roles);
}

void Allocator::ReviveOffers(const FrameworkId& framework,
                             const std::set<std::string>& roles) {
  impl_->ReviveOffers(framework, roles);
}

void Allocator::UpdateFramework(
    const FrameworkId& framework, const std::set<std::string>& roles,
    const std::set<std::string>& suppressed_roles,
    const std::map<std::string, std::vector<Resources>>& min_allocatable) {
  impl_->UpdateFramework(framework, roles, suppressed_roles, min_allocatable);
}

void Allocator::UpdateWeights(const std::map<std::string, double>& weights) {
  impl_->UpdateWeights(weights);
}

std::vector<Allocation> Allocator::Allocate(
    absl::Time now, const std::optional<std::set<AgentId>>& agents) {
  return impl_->Allocate(now, agents);
}

double Allocator::RoleShare(const std::string& role) const {
  return impl_->RoleShare(role);
}

double Allocator::FrameworkShare(const std::string& role,
                                 const FrameworkId& framework) const {
  return impl_->FrameworkShare(role, framework);
}

Resources Allocator::TotalResources() const { return impl_->TotalResources(); }

Resources Allocator::AllocatedResources() const {
  return impl_->AllocatedResources();
}

size_t Allocator::ActiveFilterCount() const {
  return impl_->ActiveFilterCount();
}

uint64_t Allocator::allocation_runs() const { return impl_->allocation_runs(); }

}  // namespace agora
