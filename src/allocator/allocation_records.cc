// The allocator's bookkeeping: which framework sorters hold a framework,
// the per-agent allocation records that the sorters, the agents' available
// resources and the quota tallies are kept in step with, and the accounting
// of agent totals and reservations per top-level role.
#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "allocator/allocator_impl.h"
#include "glog/logging.h"

namespace agora {

// --- Quantities
// ---------------------------------------------------------------

int64_t At(const Quantities& q, size_t i) { return i < q.size() ? q[i] : 0; }

int64_t LimitAt(const Quantities& limits, size_t i) {
  return i < limits.size() ? limits[i] : kUnlimited;
}

bool IsEmptyQuantities(const Quantities& q) {
  return std::all_of(q.begin(), q.end(), [](int64_t v) { return v <= 0; });
}

Quantities Minus(const Quantities& a, const Quantities& b) {
  Quantities out(a.size(), 0);
  for (size_t i = 0; i < a.size(); ++i) {
    out[i] = std::max<int64_t>(0, a[i] - At(b, i));
  }
  return out;
}

Quantities LimitRoom(const Quantities& limits, const Quantities& consumed) {
  Quantities out(limits.size(), kUnlimited);
  for (size_t i = 0; i < limits.size(); ++i) {
    if (limits[i] == kUnlimited) continue;
    out[i] = std::max<int64_t>(0, limits[i] - At(consumed, i));
  }
  return out;
}

Quantities TopRole::Consumed() const {
  Quantities out = reserved;
  AddQuantities(&out, allocated);
  return out;
}

// --- Names and tallies
// --------------------------------------------------------

size_t ResourceNames::Index(const std::string& name) {
  // The few common names are found faster by a scan than by hashing.
  for (size_t i = 0; i < names_.size() && i < 8; ++i) {
    if (names_[i] == name) return i;
  }
  auto [it, inserted] = index_.try_emplace(name, names_.size());
  if (inserted) names_.push_back(name);
  return it->second;
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

Quantities ResourceNames::Of(const std::map<std::string, Scalar>& quantities) {
  Quantities q;
  for (const auto& [name, value] : quantities) {
    size_t i = Index(name);
    if (q.size() <= i) q.resize(i + 1, 0);
    q[i] += value.millis();
  }
  return q;
}

namespace {
void AddAt(Quantities* q, size_t i, int64_t v) {
  if (q->size() <= i) q->resize(i + 1, 0);
  (*q)[i] += v;
}
}  // namespace

Tally Allocator::Impl::TallyOf(const Resources& resources) {
  Tally t;
  for (const Resource& r : resources.items()) {
    if (r.kind != Resource::Kind::kScalar) continue;
    size_t i = names_.Index(r.name);
    int64_t v = r.scalar.millis();
    AddAt(&t.all, i, v);
    if (!r.IsUnreserved()) {
      AddAt(&t.reserved, i, v);
    } else if (r.revocable) {
      AddAt(&t.revocable, i, v);
    } else {
      AddAt(&t.unreserved, i, v);
    }
  }
  return t;
}

// --- Top-level roles
// ------------------------------------------------------------

std::string Allocator::Impl::TopLevelOf(const std::string& role) {
  size_t slash = role.find('/');
  return slash == std::string::npos ? role : role.substr(0, slash);
}

TopRole* Allocator::Impl::GetTop(const std::string& role) {
  auto& top = tops_[role];
  if (top == nullptr) {
    top = std::make_unique<TopRole>();
    top->name = role;
  }
  return top.get();
}

TopRole* Allocator::Impl::FindTop(const std::string& role) const {
  auto it = tops_.find(role);
  return it == tops_.end() ? nullptr : it->second.get();
}

void Allocator::Impl::MaybeEraseTop(TopRole* top) {
  if (top->refs > 0 || top->HasQuota() || !IsEmptyQuantities(top->reserved) ||
      !IsEmptyQuantities(top->allocated)) {
    return;
  }
  tops_.erase(top->name);
}

// Adds or removes everything an agent's total contributes: cluster totals
// (and so every sorter's), reservations per top-level role, revocable
// resources.
void Allocator::Impl::CountTotal(AgentState* agent, int sign, bool sorters) {
  const Tally& t = agent->total_tally;
  sorters = sorters && !IsEmptyQuantities(t.all);
  if (sign > 0) {
    AddQuantities(&total_quantities_, t.all);
    AddQuantities(&reserved_total_, t.reserved);
    AddQuantities(&revocable_total_, t.revocable);
    if (sorters) {
      role_sorter_.AddTotal(t.all);
      for (auto& [name, role] : roles_) role->frameworks.AddTotal(t.all);
    }
  } else {
    SubtractQuantities(&total_quantities_, t.all);
    SubtractQuantities(&reserved_total_, t.reserved);
    SubtractQuantities(&revocable_total_, t.revocable);
    if (sorters) {
      role_sorter_.SubtractTotal(t.all);
      for (auto& [name, role] : roles_) role->frameworks.SubtractTotal(t.all);
    }
  }
  if (!agent->has_reservations) return;
  for (const Resource& r : agent->total.items()) {
    if (r.IsUnreserved() || r.kind != Resource::Kind::kScalar) continue;
    TopRole* top = GetTop(TopLevelOf(r.ReservationRole()));
    Quantities q;
    AddAt(&q, names_.Index(r.name), r.scalar.millis());
    if (sign > 0) {
      AddQuantities(&top->reserved, q);
    } else {
      SubtractQuantities(&top->reserved, q);
      MaybeEraseTop(top);
    }
  }
}

// Replaces the agent's total; what frameworks hold stays allocated.
void Allocator::Impl::SetTotal(AgentState* agent, const Resources& total) {
  Resources plain = total.AllocatedTo("");
  Tally tally = TallyOf(plain);
  // RESERVE and UNRESERVE keep the quantities: the sorters' totals, and so
  // every share, stay as they are.
  bool same_quantities =
      IsEmptyQuantities(Minus(tally.all, agent->total_tally.all)) &&
      IsEmptyQuantities(Minus(agent->total_tally.all, tally.all));
  CountTotal(agent, -1, /*sorters=*/!same_quantities);
  agent->total = std::move(plain);
  agent->total_tally = std::move(tally);
  agent->has_reservations = false;
  agent->has_revocable = false;
  for (const Resource& r : agent->total.items()) {
    if (!r.IsUnreserved()) agent->has_reservations = true;
    if (r.revocable) agent->has_revocable = true;
  }
  agent->has_gpus = agent->total.GetScalar("gpus") > Scalar();
  CountTotal(agent, +1, /*sorters=*/!same_quantities);
  RecomputeAvailable(agent);
}

// --- Sorter membership --------------------------------------------------

void Allocator::Impl::Track(FrameworkState* framework,
                            const std::string& role) {
  if (!framework->tracked.insert(role).second) return;
  auto& state = roles_[role];
  if (state == nullptr) {
    // The first framework in this role: the role joins the role tree.
    state = std::make_unique<RoleState>(role);
    state->nested = role.find('/') != std::string::npos;
    state->top = GetTop(TopLevelOf(role));
    ++state->top->refs;
    state->top_level = !state->nested;
    state->frameworks.SetExcludedFromShares(excluded_);
    state->frameworks.AddTotal(total_quantities_);
    role_sorter_.Add(role);
    role_sorter_.SetTag(role, state.get());
    role_sorter_.Activate(role);
  }
  state->frameworks.Add(framework->id.value());
  state->frameworks.SetTag(framework->id.value(), framework);
  SyncActivation(framework, role);
}

void Allocator::Impl::Untrack(FrameworkState* framework,
                              const std::string& role) {
  if (framework->tracked.erase(role) == 0) return;
  framework->agents_with_allocation.erase(role);
  auto it = roles_.find(role);
  it->second->frameworks.Remove(framework->id.value());
  if (it->second->frameworks.Count() == 0) {
    TopRole* top = it->second->top;
    role_sorter_.Remove(role);
    roles_.erase(it);
    --top->refs;
    MaybeEraseTop(top);
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

void Allocator::Impl::CountAllocation(RoleState* role, const Tally& tally,
                                      int sign) {
  if (sign > 0) {
    AddQuantities(&allocated_all_, tally.all);
    AddQuantities(&allocated_reserved_, tally.reserved);
    AddQuantities(&allocated_revocable_, tally.revocable);
    AddQuantities(&role->top->allocated, tally.unreserved);
  } else {
    SubtractQuantities(&allocated_all_, tally.all);
    SubtractQuantities(&allocated_reserved_, tally.reserved);
    SubtractQuantities(&allocated_revocable_, tally.revocable);
    SubtractQuantities(&role->top->allocated, tally.unreserved);
  }
}

void Allocator::Impl::AddRecord(AgentState* agent, FrameworkState* framework,
                                RoleState* role, const Resources& allocated,
                                const Tally& tally, bool defer) {
  auto [it, inserted] =
      agent->allocated.try_emplace({framework->seq, role->name});
  if (inserted) {
    it->second = allocated;
    ++framework->agents_with_allocation[role->name];
  } else {
    it->second += allocated;
  }
  CountAllocation(role, tally, +1);
  if (defer) {
    pending_.push_back(PendingSort{role, framework, tally.all});
  } else {
    role_sorter_.Allocated(role->name, tally.all);
    role->frameworks.Allocated(framework->id.value(), tally.all);
  }
}

void Allocator::Impl::FlushPending() {
  for (PendingSort& p : pending_) {
    role_sorter_.Allocated(p.role->name, p.quantities);
    p.role->frameworks.Allocated(p.framework->id.value(), p.quantities);
  }
  pending_.clear();
  for (const std::string& role : pending_unmark_)
    role_sorter_.Mark(role, false);
  pending_unmark_.clear();
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
  RoleState* state = roles_.at(role).get();
  Tally tally = TallyOf(*removed);
  CountAllocation(state, tally, -1);
  role_sorter_.Unallocated(role, tally.all);
  state->frameworks.Unallocated(framework->id.value(), tally.all);
  Release(agent, removed->AllocatedTo(""));
}

void Allocator::Impl::TrackUsed(AgentState* agent, FrameworkState* framework,
                                const Resources& used) {
  for (auto& [role, part] : SplitByRole(used, *framework)) {
    Reserve(agent, part.AllocatedTo(""));
    Track(framework, role);
    AddRecord(agent, framework, roles_.at(role).get(), part, TallyOf(part),
              /*defer=*/false);
  }
}

}  // namespace agora
