// One allocation cycle, as Mesos 1.11's HierarchicalAllocatorProcess
// generates offers:
//
//   stage 1: for each candidate agent, each role in DRF order that has a
//            quota guarantee not yet met, each of its frameworks in DRF
//            order: the unreserved non-revocable scalars of the agent,
//            chopped to what the guarantee still lacks, plus the role's
//            reservations, the non-scalars and revocable resources, plus
//            more unreserved scalars up to the role's limit and the headroom
//            surplus;
//   stage 2: the agents reshuffled; for each agent, each role, each
//            framework: everything left that the role may use, unreserved
//            scalars chopped to the role's quota limit and to the headroom
//            surplus.
//
// Headroom: unallocated unreserved non-revocable resources are held back so
// that the sum of all unmet guarantees can still be served later.
//
// Mesos sorts the roles once per agent and each role's frameworks once per
// visit; grants made meanwhile do not reorder them. We walk the sorters in
// place and hold their updates back until the agent is done (pending_),
// which gives the same order without building sorted lists.
#include <algorithm>
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

bool Allocator::Impl::Allocatable(const FrameworkState& framework,
                                  const std::string& role,
                                  const Quantities& offer) const {
  const std::vector<Quantities>* sets = &min_allocatable_;
  if (!framework.min_allocatable.empty()) {
    auto it = framework.min_allocatable.find(role);
    if (it != framework.min_allocatable.end()) sets = &it->second;
  }
  if (sets->empty()) return true;
  for (const Quantities& minimum : *sets) {
    if (ContainsQuantities(offer, minimum)) return true;
  }
  return false;
}

// Quota state at the start of a cycle: consumed quota of the roles with
// quota, what their guarantees still lack, and the headroom.
bool Allocator::Impl::Saturated(const TopRole& top) const {
  if (!top.has_limits) return false;
  for (size_t i = 0; i < total_quantities_.size(); ++i) {
    if (total_quantities_[i] > 0 && LimitAt(top.room, i) > 0) return false;
  }
  return true;
}

void Allocator::Impl::StartCycle(Cycle* cycle) {
  for (const std::string& name : quota_roles_) {
    TopRole* top = FindTop(name);
    top->consumed = top->Consumed();
    top->unsatisfied = Minus(top->guarantees, top->consumed);
    top->room = LimitRoom(top->limits, top->consumed);
    top->saturated = Saturated(*top);
    AddQuantities(&cycle->required_headroom, top->unsatisfied);
    if (!IsEmptyQuantities(top->unsatisfied) && roles_.count(name) > 0) {
      ++cycle->unsatisfied_roles;
      role_sorter_.Mark(name, true);
      cycle->marked.push_back(name);
    }
  }
  for (const auto& [name, role] : roles_) {
    if (!role->top_level || !role->top->HasQuota() || !role->top->saturated) {
      ++cycle->unsaturated_roles;
    }
  }
  if (IsEmptyQuantities(cycle->required_headroom)) {
    cycle->required_headroom.clear();
    return;
  }
  // Unallocated unreserved non-revocable resources: total minus allocated,
  // minus unallocated reservations, minus unallocated revocable resources.
  Quantities headroom = Minus(total_quantities_, allocated_all_);
  headroom = Minus(headroom, Minus(reserved_total_, allocated_reserved_));
  headroom = Minus(headroom, Minus(revocable_total_, allocated_revocable_));
  cycle->available_headroom = std::move(headroom);
  cycle->surplus = Minus(cycle->available_headroom, cycle->required_headroom);
}

namespace {

// Mesos's shrinkResources with quantities as the target: each resource is
// cut to what is left of the target for its name; names without a
// (positive) target are dropped.
Resources ShrinkTo(const Resources& resources, Quantities target,
                   ResourceNames* names) {
  Resources out;
  for (Resource r : resources.items()) {
    size_t i = names->Index(r.name);
    int64_t t = At(target, i);
    if (t <= 0) continue;
    int64_t v = std::min(r.scalar.millis(), t);
    r.scalar = Scalar::FromMillis(v);
    target[i] -= v;
    out += r;
  }
  return out;
}

// The same with limits as the target: names without a limit stay whole.
Resources ShrinkToLimits(const Resources& resources, Quantities room,
                         ResourceNames* names) {
  Resources out;
  for (Resource r : resources.items()) {
    size_t i = names->Index(r.name);
    int64_t t = LimitAt(room, i);
    if (t == kUnlimited) {
      out += r;
      continue;
    }
    if (t <= 0) continue;
    int64_t v = std::min(r.scalar.millis(), t);
    r.scalar = Scalar::FromMillis(v);
    room[i] -= v;
    out += r;
  }
  return out;
}

bool IsQuotaScalar(const Resource& r) {
  return r.kind == Resource::Kind::kScalar && r.IsUnreserved() && !r.revocable;
}

// Drops what a framework without the capability must not see.
Resources Strip(const Resources& resources,
                const FrameworkCapabilities& capabilities) {
  if (capabilities.revocable_resources && capabilities.reservation_refinement) {
    return resources;
  }
  Resources out;
  for (const Resource& r : resources.items()) {
    if (r.revocable && !capabilities.revocable_resources) continue;
    if (HasRefinedReservations(r) && !capabilities.reservation_refinement) {
      continue;
    }
    out += r;
  }
  return out;
}

}  // namespace

// What one agent can offer one role in this stage, before the per-framework
// steps (capability stripping, minimum size, filters). Recomputed after each
// grant on the agent.
struct RoleOffer {
  bool valid = false;
  bool nothing_for_role = false;  // Nothing on the agent the role may use.
  bool empty = false;             // Nothing any framework could be offered.
  // The fast path: the whole of agent->available, nothing to strip.
  bool whole_agent = false;
  Quantities whole_quantities;
  Resources scalars;      // Unreserved non-revocable scalars, chopped.
  Resources fixed;        // Reservations, non-scalars, revocable.
  Quantities guaranteed;  // Stage 1: the part toward the guarantee.

  void Reset() {
    valid = true;
    nothing_for_role = empty = whole_agent = false;
    whole_quantities.clear();
    scalars = Resources();
    fixed = Resources();
    guaranteed.clear();
  }
};

// The agent's free resources as the walk of one agent sees them.
struct AgentView {
  Quantities quantities;            // Scalars of agent->available.
  bool has_nonscalar = false;       // Ports and sets in agent->available.
  bool only_reserved = false;       // Nothing unreserved left.
  std::vector<std::string> owners;  // Reservation roles left, if so.

  void Refresh(const AgentState& agent, ResourceNames* names) {
    quantities = names->Of(agent.available);
    has_nonscalar = false;
    only_reserved = !agent.available.empty();
    owners.clear();
    for (const Resource& r : agent.available.items()) {
      if (r.kind != Resource::Kind::kScalar) has_nonscalar = true;
      if (r.IsUnreserved()) {
        only_reserved = false;
      } else if (std::find(owners.begin(), owners.end(), r.ReservationRole()) ==
                 owners.end()) {
        owners.push_back(r.ReservationRole());
      }
    }
  }

  // Whether the subtree at `path` may hold a role that can use what is
  // left: anything, unless only reservations are left.
  bool MayDescend(const std::string& path) const {
    if (!only_reserved) return true;
    for (const std::string& owner : owners) {
      if (IsRoleOrDescendant(path, owner) || IsRoleOrDescendant(owner, path)) {
        return true;
      }
    }
    return false;
  }
};

namespace {

void ComputeRoleOffer(const AgentState& agent, const RoleState& role,
                      const TopRole* quota, int stage,
                      const Quantities& required_headroom,
                      const Quantities& surplus, const AgentView& view,
                      ResourceNames* names, RoleOffer* offer) {
  offer->Reset();
  if (agent.available.empty()) {
    offer->nothing_for_role = true;
    return;
  }
  const bool limits = quota != nullptr && quota->has_limits;
  const bool headroom = !IsEmptyQuantities(required_headroom);
  if (stage == 2 && !limits && !headroom && !agent.has_reservations &&
      !agent.has_revocable) {
    // Everything goes and no framework needs anything stripped.
    offer->whole_agent = true;
    offer->whole_quantities = view.quantities;
    return;
  }
  if (stage == 2 && !agent.has_reservations && !agent.has_revocable &&
      !view.has_nonscalar) {
    // Only unreserved scalars: skip the role cheaply when its limit and
    // the headroom leave none of them.
    bool any = false;
    for (size_t i = 0; i < view.quantities.size() && !any; ++i) {
      if (view.quantities[i] <= 0) continue;
      if (limits && LimitAt(quota->room, i) <= 0) continue;
      if (headroom && At(surplus, i) <= 0) continue;
      any = true;
    }
    if (!any) {
      offer->empty = true;
      return;
    }
  }
  Resources allocatable = agent.has_reservations
                              ? agent.available.AllocatableTo(role.name)
                              : agent.available;
  if (allocatable.empty()) {
    offer->nothing_for_role = true;
    return;
  }
  Resources quota_scalars;
  for (const Resource& r : allocatable.items()) {
    if (IsQuotaScalar(r)) {
      quota_scalars += r;
    } else if (stage == 2 || r.IsUnreserved() ||
               r.ReservationRole() == role.name) {
      // Stage 1 offers only the role's own reservations (quota roles are
      // top-level, so there are no ancestors' to add).
      offer->fixed += r;
    }
  }
  Resources additional;
  if (stage == 1) {
    Resources guaranteed = ShrinkTo(quota_scalars, quota->unsatisfied, names);
    if (guaranteed.empty()) {
      // The role would make no progress toward its guarantee here.
      offer->empty = true;
      return;
    }
    offer->guaranteed = names->Of(guaranteed);
    additional = quota_scalars - guaranteed;
    if (limits) {
      Quantities consumed = quota->consumed;
      AddQuantities(&consumed, offer->guaranteed);
      additional =
          ShrinkToLimits(additional, LimitRoom(quota->limits, consumed), names);
    }
    if (headroom && !additional.empty()) {
      additional = ShrinkTo(additional, surplus, names);
    }
    offer->scalars = std::move(guaranteed);
    offer->scalars += additional;
  } else {
    additional = std::move(quota_scalars);
    if (limits) additional = ShrinkToLimits(additional, quota->room, names);
    if (headroom && !additional.empty()) {
      Resources shrunk = ShrinkTo(additional, surplus, names);
      if (!(shrunk == additional)) {
        VLOG(2) << "allocator: holding back "
                << (additional - shrunk).ToString() << " on agent " << agent.id
                << " for quota headroom";
      }
      additional = std::move(shrunk);
    }
    offer->scalars = std::move(additional);
  }
  offer->empty = offer->scalars.empty() && offer->fixed.empty();
}

}  // namespace

void Allocator::Impl::Grant(AgentState* agent, FrameworkState* framework,
                            RoleState* role, Resources offer, bool whole_agent,
                            const Quantities& guaranteed, Cycle* cycle,
                            std::vector<Allocation>* out) {
  if (whole_agent) {
    offer = std::move(agent->available);
    agent->available = Resources();
  } else {
    agent->available -= offer;
  }
  Tally tally = TallyOf(offer);
  Resources allocated = std::move(offer).AllocatedTo(role->name);
  AddRecord(agent, framework, role, allocated, tally, /*defer=*/true);

  // The cycle's quota state (Mesos updates consumed quota of the role in
  // stage 1 always, in stage 2 only for a role with quota of its own).
  const Quantities& increase = tally.unreserved;
  TopRole* top = role->top_level && role->top->HasQuota() ? role->top : nullptr;
  if (top != nullptr) {
    bool was_unsatisfied = !IsEmptyQuantities(top->unsatisfied);
    AddQuantities(&top->consumed, increase);
    top->unsatisfied = Minus(top->guarantees, top->consumed);
    top->room = LimitRoom(top->limits, top->consumed);
    if (was_unsatisfied && IsEmptyQuantities(top->unsatisfied)) {
      --cycle->unsatisfied_roles;
      pending_unmark_.push_back(top->name);
    }
    if (!top->saturated && Saturated(*top)) {
      top->saturated = true;
      if (roles_.count(top->name) > 0) --cycle->unsaturated_roles;
    }
  }
  if (!IsEmptyQuantities(cycle->required_headroom)) {
    if (cycle->stage == 1) {
      cycle->required_headroom = Minus(cycle->required_headroom, guaranteed);
    }
    cycle->available_headroom = Minus(cycle->available_headroom, increase);
    cycle->surplus = Minus(cycle->available_headroom, cycle->required_headroom);
  }
  VLOG(2) << "allocator: offering " << allocated << " on agent " << agent->id
          << " to role " << role->name << " of framework " << framework->id
          << (cycle->stage == 1 ? " as part of its quota" : "");
  out->push_back(
      Allocation{framework->id, role->name, agent->id, std::move(allocated)});
}

// Visits `role` on the agent: its frameworks in DRF order, each offered
// what the stage allows unless its capabilities, minimum or filters refuse
// it. Returns false once the agent is empty.
bool Allocator::Impl::AllocateRole(AgentState* agent, RoleState* role,
                                   AgentView* view, Cycle* cycle,
                                   std::vector<Allocation>* out) {
  if (agent->available.empty()) return false;
  // Hierarchical roles need HIERARCHICAL_ROLE agents.
  if (role->nested && !agent->capabilities.hierarchical_role) return true;
  TopRole* quota =
      role->top_level && role->top->HasQuota() ? role->top : nullptr;
  if (cycle->stage == 1 &&
      (quota == nullptr || IsEmptyQuantities(quota->unsatisfied))) {
    return true;
  }
  RoleOffer offer;
  role->frameworks.ForEachActive(
      [&](const std::string&, void* tag) {
        if (cycle->stage == 1 && IsEmptyQuantities(quota->unsatisfied)) {
          return false;
        }
        if (!offer.valid) {
          ComputeRoleOffer(*agent, *role, quota, cycle->stage,
                           cycle->required_headroom, cycle->surplus, *view,
                           &names_, &offer);
        }
        if (offer.nothing_for_role || offer.empty) return false;
        FrameworkState* framework = static_cast<FrameworkState*>(tag);
        if (options_.filter_gpu_resources && agent->has_gpus &&
            !framework->capabilities.gpu_resources) {
          return true;
        }
        if (framework->capabilities.multi_role &&
            !agent->capabilities.multi_role) {
          return true;
        }
        if (offer.whole_agent) {
          if (!Allocatable(*framework, role->name, offer.whole_quantities) ||
              filters_.Filtered(framework->seq, role->name, agent->seq,
                                agent->available)) {
            return true;
          }
          Grant(agent, framework, role, Resources(), /*whole_agent=*/true,
                offer.guaranteed, cycle, out);
        } else {
          Resources resources =
              offer.scalars + Strip(offer.fixed, framework->capabilities);
          if (resources.empty() ||
              !Allocatable(*framework, role->name, names_.Of(resources)) ||
              filters_.Filtered(framework->seq, role->name, agent->seq,
                                resources)) {
            return true;
          }
          Grant(agent, framework, role, std::move(resources),
                /*whole_agent=*/false, offer.guaranteed, cycle, out);
        }
        // Mesos goes on to the role's next framework with what is left.
        offer.valid = false;
        view->Refresh(*agent, &names_);
        return true;
      },
      nullptr);
  return !agent->available.empty();
}

void Allocator::Impl::AllocateAgent(AgentState* agent, Cycle* cycle,
                                    std::vector<Allocation>* out) {
  if (agent->available.empty()) return;
  AgentView view;
  view.Refresh(*agent, &names_);
  auto visit = [&](const std::string&, void* tag) {
    return AllocateRole(agent, static_cast<RoleState*>(tag), &view, cycle, out);
  };
  if (cycle->stage == 1) {
    // Only roles with a guarantee not yet met take part: they are marked.
    role_sorter_.ForEachMarked(visit);
    FlushPending();
    return;
  }
  if (!agent->has_reservations && !agent->has_revocable &&
      !view.has_nonscalar) {
    // Only unreserved scalars are left: skip the agent when no role may
    // take any (every role at its limit) or the headroom keeps them all.
    bool any = false;
    for (size_t i = 0; i < view.quantities.size() && !any; ++i) {
      any = view.quantities[i] > 0 &&
            (IsEmptyQuantities(cycle->required_headroom) ||
             At(cycle->surplus, i) > 0);
    }
    if (!any || cycle->unsaturated_roles == 0) return;
  }
  auto may_descend = [&view](const std::string& path) {
    return view.MayDescend(path);
  };
  DrfSorter::Pruner prune(may_descend);
  role_sorter_.ForEachActive(visit, agent->has_reservations ? &prune : nullptr);
  FlushPending();
}

std::vector<Allocation> Allocator::Impl::Allocate(
    absl::Time now, const std::optional<std::set<AgentId>>& agents) {
  if (paused_) {
    VLOG(2) << "allocator: paused, no allocation";
    return {};
  }
  ++allocation_runs_;
  absl::Time start = absl::Now();
  filters_.Expire(now);
  std::vector<AgentState*> candidates = Candidates(agents);
  if (options_.shuffle_agents) Shuffle(&candidates);
  Cycle cycle;
  StartCycle(&cycle);
  std::vector<Allocation> out;
  if (cycle.unsatisfied_roles > 0) {
    cycle.stage = 1;
    for (AgentState* agent : candidates) {
      if (cycle.unsatisfied_roles == 0) break;
      AllocateAgent(agent, &cycle, &out);
    }
    for (const std::string& role : cycle.marked) role_sorter_.Mark(role, false);
    // Spread the first stage's effect, which favours the first agents.
    if (options_.shuffle_agents) Shuffle(&candidates);
  }
  cycle.stage = 2;
  for (AgentState* agent : candidates) AllocateAgent(agent, &cycle, &out);
  double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  RecordRunTime(now, ms);
  VLOG(2) << "allocator: cycle " << allocation_runs_ << " over "
          << candidates.size() << " agents made " << out.size() << " offers in "
          << ms << " ms";
  return out;
}

}  // namespace agora
