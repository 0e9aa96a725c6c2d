#include "allocator/allocator.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "allocator/allocator_impl.h"
#include "glog/logging.h"

namespace agora {

// Mesos caps refuse_seconds at 365 days.
constexpr absl::Duration kMaxRefuse = absl::Hours(24 * 365);

std::vector<Resources> AllocatorOptions::DefaultMinAllocatable() {
  return {*Resources::Parse("cpus:0.01"), *Resources::Parse("mem:32")};
}

absl::StatusOr<std::vector<Resources>> ParseMinAllocatableResources(
    absl::string_view text) {
  std::vector<Resources> out;
  for (absl::string_view set : absl::StrSplit(text, '|')) {
    absl::StatusOr<Resources> parsed = Resources::Parse(set);
    if (!parsed.ok()) return parsed.status();
    if (parsed->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("min_allocatable_resources: empty set in '", text, "'"));
    }
    for (const Resource& r : parsed->items()) {
      if (r.kind != Resource::Kind::kScalar || !r.IsUnreserved()) {
        return absl::InvalidArgumentError(
            absl::StrCat("min_allocatable_resources: '", r.ToString(),
                         "' is not a scalar quantity"));
      }
    }
    out.push_back(*std::move(parsed));
  }
  return out;
}

absl::StatusOr<std::map<std::string, double>> ParseWeights(
    absl::string_view text) {
  std::map<std::string, double> out;
  for (absl::string_view entry :
       absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::vector<absl::string_view> parts = absl::StrSplit(entry, '=');
    double weight = 0;
    if (parts.size() != 2 || !absl::SimpleAtod(parts[1], &weight) ||
        !(weight > 0) || std::isinf(weight)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "weights: '", entry, "' is not 'role=weight' with a weight > 0"));
    }
    std::string role(absl::StripAsciiWhitespace(parts[0]));
    if (absl::Status valid = ValidateRole(role); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("weights: ", valid.message()));
    }
    out[role] = weight;
  }
  return out;
}

Allocator::Impl::Impl(AllocatorOptions options)
    : options_(std::move(options)), rng_(options_.shuffle_seed) {
  for (const Resources& set : options_.min_allocatable_resources) {
    min_allocatable_.push_back(names_.Of(set));
  }
  for (const std::string& name :
       options_.fair_sharing_excluded_resource_names) {
    excluded_.push_back(names_.Index(name));
  }
  role_sorter_.SetExcludedFromShares(excluded_);
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

void Allocator::Impl::SetFrameworkOptions(FrameworkState* framework,
                                          const FrameworkOptions& options) {
  framework->roles.clear();
  for (const std::string& role : options.roles) {
    if (absl::Status valid = ValidateRole(role); !valid.ok()) {
      LOG(WARNING) << "allocator: framework " << framework->id << ": "
                   << valid.message();
      continue;
    }
    framework->roles.insert(role);
  }
  framework->capabilities = options.capabilities;
  framework->min_allocatable.clear();
  for (const auto& [role, sets] : options.min_allocatable_resources) {
    std::vector<Quantities>& out = framework->min_allocatable[role];
    for (const Resources& set : sets) out.push_back(names_.Of(set));
  }
}

void Allocator::Impl::AddFramework(const FrameworkId& id,
                                   const FrameworkOptions& options,
                                   const std::map<AgentId, Resources>& used,
                                   bool active) {
  if (FindFramework(id) != nullptr) return;
  auto state = std::make_unique<FrameworkState>();
  FrameworkState* framework = state.get();
  framework->id = id;
  framework->seq = next_framework_seq_++;
  framework->active = active;
  SetFrameworkOptions(framework, options);
  for (const std::string& role : options.suppressed_roles) {
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
  VLOG(1) << "allocator: added framework " << id << " ("
          << framework->roles.size() << " roles, "
          << (active ? "active" : "inactive") << ")";
}

void Allocator::Impl::UpdateFramework(const FrameworkId& id,
                                      const FrameworkOptions& options) {
  FrameworkState* framework = FindFramework(id);
  if (framework == nullptr) return;
  std::set<std::string> old_roles = framework->roles;
  std::set<std::string> old_suppressed = framework->suppressed;
  SetFrameworkOptions(framework, options);
  for (const std::string& role : old_roles) {
    if (framework->roles.count(role) > 0) continue;
    // Left: keep its allocations there (tracked, inactive), drop filters.
    filters_.RemoveFrameworkRole(framework->seq, role);
    framework->suppressed.erase(role);
    SyncActivation(framework, role);
    UntrackIfUnused(framework, role);
  }
  std::set<std::string> suppressed;
  for (const std::string& role : options.suppressed_roles) {
    if (framework->roles.count(role) > 0) suppressed.insert(role);
  }
  for (const std::string& role : framework->roles) {
    Track(framework, role);
    bool was = old_suppressed.count(role) > 0;
    bool now = suppressed.count(role) > 0;
    // Mesos revives roles that stop being suppressed (filters cleared).
    if (was && !now) filters_.RemoveFrameworkRole(framework->seq, role);
  }
  framework->suppressed = std::move(suppressed);
  for (const std::string& role : framework->roles) {
    SyncActivation(framework, role);
  }
  VLOG(1) << "allocator: updated framework " << id;
}

void Allocator::Impl::RemoveFramework(const FrameworkId& id) {
  FrameworkState* framework = FindFramework(id);
  if (framework == nullptr) return;
  for (auto& [agent_id, agent] : agents_) {
    auto it = agent->allocated.lower_bound({framework->seq, ""});
    while (it != agent->allocated.end() && it->first.first == framework->seq) {
      const std::string& role = it->first.second;
      RoleState* state = roles_.at(role).get();
      Tally tally = TallyOf(it->second);
      CountAllocation(state, tally, -1);
      role_sorter_.Unallocated(role, tally.all);
      state->frameworks.Unallocated(id.value(), tally.all);
      Resources plain = it->second.AllocatedTo("");
      it = agent->allocated.erase(it);
      Release(agent.get(), plain);
    }
  }
  filters_.RemoveFramework(framework->seq);
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

void Allocator::Impl::UpdateWeights(
    const std::map<std::string, double>& weights) {
  for (const auto& [role, weight] : weights) {
    if (!(weight > 0) || !ValidateRole(role).ok()) {
      LOG(WARNING) << "allocator: ignoring weight " << weight << " of role '"
                   << role << "'";
      continue;
    }
    role_sorter_.UpdateWeight(role, weight);
    if (weight == 1.0) {
      weights_.erase(role);
    } else {
      weights_[role] = weight;
    }
  }
}

// --- Agents -----------------------------------------------------------------

void Allocator::Impl::AddAgent(const AgentId& id, const Resources& total,
                               const std::map<FrameworkId, Resources>& used,
                               const AgentCapabilities& capabilities) {
  if (FindAgent(id) != nullptr) return;
  auto state = std::make_unique<AgentState>();
  AgentState* agent = state.get();
  agent->id = id;
  agent->seq = next_agent_seq_++;
  agent->capabilities = capabilities;
  agents_.emplace(id, std::move(state));
  agent_index_[id] = agent;
  SetTotal(agent, total);
  for (const auto& [framework_id, resources] : used) {
    FrameworkState* framework = FindFramework(framework_id);
    if (framework != nullptr) {
      TrackUsed(agent, framework, resources);
    } else {
      Reserve(agent, resources.AllocatedTo(""));
      agent->untracked[framework_id] += resources;
    }
  }
  if (expected_agents_.has_value() && agents_.size() >= *expected_agents_) {
    LOG(INFO) << "allocator: recovery complete, " << agents_.size()
              << " agents added";
    Resume();
  }
  VLOG(1) << "allocator: added agent " << id << " with " << total;
}

bool Allocator::Impl::UpdateAgent(
    const AgentId& id, const std::optional<Resources>& total,
    const std::optional<AgentCapabilities>& capabilities) {
  AgentState* agent = FindAgent(id);
  if (agent == nullptr) return false;
  bool updated = false;
  if (capabilities.has_value()) {
    const AgentCapabilities& c = *capabilities;
    const AgentCapabilities& o = agent->capabilities;
    if (c.multi_role != o.multi_role ||
        c.hierarchical_role != o.hierarchical_role ||
        c.reservation_refinement != o.reservation_refinement) {
      agent->capabilities = c;
      updated = true;
    }
  }
  if (total.has_value() && !(total->AllocatedTo("") == agent->total)) {
    SetTotal(agent, *total);
    updated = true;
  }
  if (updated) VLOG(1) << "allocator: updated agent " << id;
  return updated;
}

void Allocator::Impl::RemoveAgent(const AgentId& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return;
  AgentState* agent = it->second.get();
  std::vector<std::pair<FrameworkState*, std::string>> touched;
  for (const auto& [key, resources] : agent->allocated) {
    FrameworkState* framework = frameworks_by_seq_.at(key.first);
    const std::string& role = key.second;
    RoleState* state = roles_.at(role).get();
    Tally tally = TallyOf(resources);
    CountAllocation(state, tally, -1);
    role_sorter_.Unallocated(role, tally.all);
    state->frameworks.Unallocated(framework->id.value(), tally.all);
    --framework->agents_with_allocation[role];
    touched.emplace_back(framework, role);
  }
  agent->allocated.clear();
  for (auto& [framework, role] : touched) UntrackIfUnused(framework, role);
  CountTotal(agent, -1);
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

// --- Recovery ---------------------------------------------------------------

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

// --- Operations -------------------------------------------------------------

namespace {

// The conversions without allocation roles, for the agent's total.
std::vector<ResourceConversion> Unallocated(
    const std::vector<ResourceConversion>& conversions) {
  std::vector<ResourceConversion> out;
  out.reserve(conversions.size());
  for (const ResourceConversion& c : conversions) {
    out.push_back({c.consumed.AllocatedTo(""), c.converted.AllocatedTo("")});
  }
  return out;
}

}  // namespace

absl::Status Allocator::Impl::UpdateAllocation(
    const FrameworkId& framework_id, const AgentId& agent_id,
    const Resources& offered,
    const std::vector<ResourceConversion>& conversions) {
  AgentState* agent = FindAgent(agent_id);
  FrameworkState* framework = FindFramework(framework_id);
  if (agent == nullptr || framework == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown framework ",
                                            framework_id.value(), " or agent ",
                                            agent_id.value()));
  }
  if (offered.empty()) return absl::OkStatus();
  const std::string& role = offered.items().front().allocation_role;
  for (const Resource& r : offered.items()) {
    if (r.allocation_role != role || role.empty()) {
      return absl::InvalidArgumentError(
          "offered resources must carry one allocation role");
    }
  }
  auto record = agent->allocated.find({framework->seq, role});
  if (record == agent->allocated.end() || !record->second.Contains(offered)) {
    return absl::FailedPreconditionError(
        absl::StrCat("framework ", framework_id.value(), " does not hold ",
                     offered.ToString(), " on agent ", agent_id.value()));
  }
  absl::StatusOr<Resources> updated = ApplyConversions(offered, conversions);
  if (!updated.ok()) return updated.status();
  for (const Resource& r : updated->items()) {
    if (r.allocation_role != role) {
      return absl::InvalidArgumentError(
          "converted resources must keep the allocation role");
    }
  }
  absl::StatusOr<Resources> total =
      ApplyConversions(agent->total, Unallocated(conversions));
  if (!total.ok()) return total.status();

  // Swap the record's part; the quantities of a RESERVE / UNRESERVE do not
  // change, so the sorters see no change in shares.
  RoleState* state = roles_.at(role).get();
  Tally before = TallyOf(offered);
  Tally after = TallyOf(*updated);
  record->second -= offered;
  record->second += *updated;
  CountAllocation(state, before, -1);
  CountAllocation(state, after, +1);
  role_sorter_.Update(role, before.all, after.all);
  state->frameworks.Update(framework_id.value(), before.all, after.all);
  SetTotal(agent, *total);
  VLOG(1) << "allocator: updated allocation of framework " << framework_id
          << " on agent " << agent_id << " from " << offered << " to "
          << *updated;
  return absl::OkStatus();
}

absl::Status Allocator::Impl::UpdateAvailable(
    const AgentId& agent_id,
    const std::vector<ResourceConversion>& conversions) {
  AgentState* agent = FindAgent(agent_id);
  if (agent == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("unknown agent ", agent_id.value()));
  }
  std::vector<ResourceConversion> plain = Unallocated(conversions);
  absl::StatusOr<Resources> available =
      ApplyConversions(agent->available, plain);
  if (!available.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent ", agent_id.value(), ": ",
                     available.status().message(), " (free resources)"));
  }
  absl::StatusOr<Resources> total = ApplyConversions(agent->total, plain);
  if (!total.ok()) return total.status();
  SetTotal(agent, *total);
  VLOG(1) << "allocator: agent " << agent_id << " now has " << agent->total;
  return absl::OkStatus();
}

// --- Observability ----------------------------------------------------------

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
                             const FrameworkOptions& options,
                             const std::map<AgentId, Resources>& used,
                             bool active) {
  impl_->AddFramework(id, options, used, active);
}

void Allocator::AddFramework(const FrameworkId& id,
                             const std::set<std::string>& roles,
                             const std::map<AgentId, Resources>& used,
                             bool active,
                             const std::set<std::string>& suppressed_roles) {
  FrameworkOptions options;
  options.roles = roles;
  options.suppressed_roles = suppressed_roles;
  impl_->AddFramework(id, options, used, active);
}

void Allocator::UpdateFramework(const FrameworkId& id,
                                const FrameworkOptions& options) {
  impl_->UpdateFramework(id, options);
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
                         const std::map<FrameworkId, Resources>& used,
                         const AgentCapabilities& capabilities) {
  impl_->AddAgent(id, total, used, capabilities);
}

bool Allocator::UpdateAgent(
    const AgentId& id, const std::optional<Resources>& total,
    const std::optional<AgentCapabilities>& capabilities) {
  return impl_->UpdateAgent(id, total, capabilities);
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

absl::Status Allocator::UpdateAllocation(
    const FrameworkId& framework, const AgentId& agent,
    const Resources& offered,
    const std::vector<ResourceConversion>& conversions) {
  return impl_->UpdateAllocation(framework, agent, offered, conversions);
}

absl::Status Allocator::UpdateAvailable(
    const AgentId& agent, const std::vector<ResourceConversion>& conversions) {
  return impl_->UpdateAvailable(agent, conversions);
}

void Allocator::SuppressOffers(const FrameworkId& framework,
                               const std::set<std::string>& roles) {
  impl_->SuppressOffers(framework, roles);
}

void Allocator::ReviveOffers(const FrameworkId& framework,
                             const std::set<std::string>& roles) {
  impl_->ReviveOffers(framework, roles);
}

void Allocator::UpdateWeights(const std::map<std::string, double>& weights) {
  impl_->UpdateWeights(weights);
}

std::map<std::string, double> Allocator::Weights() const {
  return impl_->Weights();
}

absl::Status Allocator::UpdateQuota(const std::string& role,
                                    const Quota& quota) {
  return impl_->UpdateQuota(role, quota);
}

std::map<std::string, Quota> Allocator::Quotas() const {
  return impl_->Quotas();
}

std::map<std::string, Scalar> Allocator::QuotaConsumed(
    const std::string& role) const {
  return impl_->QuotaConsumed(role);
}

void Allocator::Recover(int expected_agents,
                        const std::map<std::string, Quota>& quotas) {
  impl_->Recover(expected_agents, quotas);
}

void Allocator::Pause() { impl_->Pause(); }
void Allocator::Resume() { impl_->Resume(); }
bool Allocator::paused() const { return impl_->paused(); }

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

std::map<std::string, double> Allocator::Metrics() const {
  return impl_->Metrics();
}

}  // namespace agora
