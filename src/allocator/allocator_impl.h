// Internal to the allocator module: the state behind Allocator and the
// bookkeeping shared by allocator.cc (events), allocation_records.cc
// (allocation records, sorter membership, accounting), quota.cc (quota and
// metrics) and allocation_cycle.cc (the cycle). Not part of the public API.
#ifndef AGORA_ALLOCATOR_ALLOCATOR_IMPL_H_
#define AGORA_ALLOCATOR_ALLOCATOR_IMPL_H_

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "allocator/allocator.h"
#include "allocator/drf_sorter.h"
#include "allocator/offer_filters.h"

namespace agora {

// A quota limit on an index that has none.
constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();

// Quantity arithmetic with Mesos's ResourceQuantities semantics (a missing
// index is zero; subtraction stops at zero).
int64_t At(const Quantities& q, size_t i);
// A limit at index i: kUnlimited beyond the vector.
int64_t LimitAt(const Quantities& limits, size_t i);
bool IsEmptyQuantities(const Quantities& q);
// max(0, a - b) per index.
Quantities Minus(const Quantities& a, const Quantities& b);
// Limits (kUnlimited where absent) minus consumption, never below zero;
// unlimited stays unlimited.
Quantities LimitRoom(const Quantities& limits, const Quantities& consumed);

struct AgentView;  // allocation_cycle.cc

// Gives each scalar resource name a small index, so quantities are flat
// arrays rather than maps of strings.
class ResourceNames {
 public:
  size_t Index(const std::string& name);
  const std::string& Name(size_t index) const { return names_[index]; }
  size_t size() const { return names_.size(); }
  // The scalar quantities of `resources`, across roles and reservations.
  Quantities Of(const Resources& resources);
  Quantities Of(const std::map<std::string, Scalar>& quantities);

 private:
  absl::flat_hash_map<std::string, size_t> index_;
  std::vector<std::string> names_;
};

// The scalar quantities of a set of resources, split the way quota
// accounting needs them.
struct Tally {
  Quantities all;
  Quantities unreserved;  // Unreserved and non-revocable: counts for quota.
  Quantities reserved;
  Quantities revocable;
};

struct FrameworkState {
  FrameworkId id;
  uint32_t seq = 0;  // Keys agent allocations and filters.
  bool active = false;
  std::set<std::string> roles;       // Subscribed.
  std::set<std::string> suppressed;  // A subset of `roles`.
  FrameworkCapabilities capabilities;
  // Per-role override of the global minimum (FrameworkInfo.offer_filters).
  absl::flat_hash_map<std::string, std::vector<Quantities>> min_allocatable;
  // Roles whose framework sorter holds this framework: the subscribed ones
  // plus any other role it still has resources allocated in.
  std::set<std::string> tracked;
  // Per role, the number of agents holding an allocation record for it.
  std::map<std::string, size_t> agents_with_allocation;
};

// Accounting for one top-level role (quota lives only there): its quota,
// and what counts against it from its whole subtree.
struct TopRole {
  std::string name;
  Quota quota;              // As given, for Quotas() and metrics.
  Quantities guarantees;    // By index.
  Quantities limits;        // By index; kUnlimited where absent (LimitAt).
  bool has_limits = false;  // Any limit at all.
  Quantities reserved;      // Reservations in agent totals, in the subtree.
  Quantities allocated;     // Offered or allocated unreserved non-revocable.
  size_t refs = 0;          // RoleStates pointing here.

  // Per cycle (Mesos's rolesConsumedQuota and the stage-1 target).
  Quantities consumed;
  Quantities unsatisfied;
  Quantities room;  // LimitRoom(limits, consumed).
  // The limits leave nothing of any resource the cluster has.
  bool saturated = false;

  bool HasQuota() const { return !quota.IsDefault(); }
  Quantities Consumed() const;
};

struct RoleState {
  explicit RoleState(std::string n)
      : name(std::move(n)), frameworks(/*hierarchical=*/false) {}
  std::string name;
  bool nested = false;     // Contains '/': needs HIERARCHICAL_ROLE agents.
  TopRole* top = nullptr;  // Accounting of the role's top-level ancestor.
  // The role is itself top-level, so `top` holds its own quota.
  bool top_level = false;
  DrfSorter frameworks;  // Clients are framework id values.
};

struct AgentState {
  AgentId id;
  uint32_t seq = 0;
  AgentCapabilities capabilities;
  Resources total;
  // total minus everything allocated, without allocation roles. Kept
  // incrementally so a cycle never recomputes it.
  Resources available;
  Tally total_tally;
  // What `total` holds, for the cycle's fast paths.
  bool has_reservations = false;
  bool has_revocable = false;
  bool has_gpus = false;
  bool active = true;
  // Set when what the agent reported as used did not fit its total; from
  // then on `available` is recomputed on every release.
  bool overcommitted = false;
  // (framework seq, role) -> resources, each with allocation role `role`.
  std::map<std::pair<uint32_t, std::string>, Resources> allocated;
  // Used by frameworks the allocator does not know yet (an agent that
  // reregisters before its frameworks); counted as unavailable only.
  std::map<FrameworkId, Resources> untracked;
};

class Allocator::Impl {
 public:
  explicit Impl(AllocatorOptions options);

  void AddFramework(const FrameworkId& id, const FrameworkOptions& options,
                    const std::map<AgentId, Resources>& used, bool active);
  void UpdateFramework(const FrameworkId& id, const FrameworkOptions& options);
  void RemoveFramework(const FrameworkId& id);
  void SetFrameworkActive(const FrameworkId& id, bool active);
  void AddAgent(const AgentId& id, const Resources& total,
                const std::map<FrameworkId, Resources>& used,
                const AgentCapabilities& capabilities);
  bool UpdateAgent(const AgentId& id, const std::optional<Resources>& total,
                   const std::optional<AgentCapabilities>& capabilities);
  void RemoveAgent(const AgentId& id);
  void SetAgentActive(const AgentId& id, bool active);
  void RecoverResources(const FrameworkId& framework, const AgentId& agent,
                        const Resources& resources,
                        std::optional<absl::Duration> refuse, absl::Time now);
  absl::Status UpdateAllocation(
      const FrameworkId& framework, const AgentId& agent,
      const Resources& offered,
      const std::vector<ResourceConversion>& conversions);
  absl::Status UpdateAvailable(
      const AgentId& agent, const std::vector<ResourceConversion>& conversions);
  void SuppressOffers(const FrameworkId& framework,
                      const std::set<std::string>& roles);
  void ReviveOffers(const FrameworkId& framework,
                    const std::set<std::string>& roles);
  void UpdateWeights(const std::map<std::string, double>& weights);
  std::map<std::string, double> Weights() const { return weights_; }
  absl::Status UpdateQuota(const std::string& role, const Quota& quota);
  std::map<std::string, Quota> Quotas() const;
  std::map<std::string, Scalar> QuotaConsumed(const std::string& role) const;
  void Recover(int expected_agents, const std::map<std::string, Quota>& quotas);
  void Pause() { paused_ = true; }
  void Resume() {
    paused_ = false;
    expected_agents_.reset();
  }
  bool paused() const { return paused_; }
  std::vector<Allocation> Allocate(
      absl::Time now, const std::optional<std::set<AgentId>>& agents);

  double RoleShare(const std::string& role) const;
  double FrameworkShare(const std::string& role,
                        const FrameworkId& framework) const;
  Resources TotalResources() const;
  Resources AllocatedResources() const;
  size_t ActiveFilterCount() const { return filters_.size(); }
  uint64_t allocation_runs() const { return allocation_runs_; }
  std::map<std::string, double> Metrics() const;

 private:
  // Mesos's per-cycle quota state.
  struct Cycle {
    int stage = 2;
    Quantities required_headroom;
    Quantities available_headroom;
    Quantities surplus;  // available - required, refreshed on change.
    size_t unsatisfied_roles = 0;
    // Roles with frameworks whose limits leave room for something.
    size_t unsaturated_roles = 0;
    std::vector<std::string> marked;  // Stage-1 roles marked in the sorter.
  };
  // A sorter update held back until the agent's walk is over: Mesos sorts
  // the roles once per agent and each role's frameworks once per visit.
  struct PendingSort {
    RoleState* role;
    FrameworkState* framework;
    Quantities quantities;
  };

  FrameworkState* FindFramework(const FrameworkId& id) const;
  AgentState* FindAgent(const AgentId& id) const;
  void SetFrameworkOptions(FrameworkState* framework,
                           const FrameworkOptions& options);

  // Sorter membership of a framework in a role (allocation_records.cc).
  void Track(FrameworkState* framework, const std::string& role);
  void Untrack(FrameworkState* framework, const std::string& role);
  void UntrackIfUnused(FrameworkState* framework, const std::string& role);
  void SyncActivation(FrameworkState* framework, const std::string& role);

  // Top-level role accounting.
  TopRole* GetTop(const std::string& role);  // Creates.
  TopRole* FindTop(const std::string& role) const;
  void MaybeEraseTop(TopRole* top);
  static std::string TopLevelOf(const std::string& role);

  Tally TallyOf(const Resources& resources);
  // Adds (sign +1) or removes (-1) an agent total's quantities and
  // reservations in every tally and sorter total.
  // With `sorters` false the sorters' totals are left alone (the caller
  // removes and adds back the same quantities).
  void CountTotal(AgentState* agent, int sign, bool sorters = true);
  void SetTotal(AgentState* agent, const Resources& total);

  // Groups resources by allocation role; resources without one are given
  // the framework's first role.
  std::map<std::string, Resources> SplitByRole(
      const Resources& resources, const FrameworkState& framework) const;
  void TrackUsed(AgentState* agent, FrameworkState* framework,
                 const Resources& used);
  // Records `allocated` (with allocation role `role`) for the framework on
  // the agent and counts it everywhere; with `defer` the sorter update is
  // queued in pending_ (the cycle).
  void AddRecord(AgentState* agent, FrameworkState* framework, RoleState* role,
                 const Resources& allocated, const Tally& tally, bool defer);
  void RemoveRecordPart(AgentState* agent, FrameworkState* framework,
                        const std::string& role, const Resources& part);
  void CountAllocation(RoleState* role, const Tally& tally, int sign);
  void RecoverInRole(AgentState* agent, FrameworkState* framework,
                     const std::string& role, const Resources& part,
                     std::optional<absl::Duration> refuse, absl::Time now);
  void RecoverUntracked(AgentState* agent, const FrameworkId& id,
                        const Resources& resources);
  void Release(AgentState* agent, const Resources& plain);
  void Reserve(AgentState* agent, const Resources& plain);
  void RecomputeAvailable(AgentState* agent);

  // The cycle (allocation_cycle.cc).
  std::vector<AgentState*> Candidates(
      const std::optional<std::set<AgentId>>& agents);
  void Shuffle(std::vector<AgentState*>* agents);
  void StartCycle(Cycle* cycle);
  void AllocateAgent(AgentState* agent, Cycle* cycle,
                     std::vector<Allocation>* out);
  // Visits one role on the agent; false stops the agent's walk.
  bool AllocateRole(AgentState* agent, RoleState* role, AgentView* view,
                    Cycle* cycle, std::vector<Allocation>* out);
  bool Allocatable(const FrameworkState& framework, const std::string& role,
                   const Quantities& offer) const;
  void Grant(AgentState* agent, FrameworkState* framework, RoleState* role,
             Resources offer, bool whole_agent, const Quantities& guaranteed,
             Cycle* cycle, std::vector<Allocation>* out);
  void FlushPending();
  bool Saturated(const TopRole& top) const;
  void RecordRunTime(absl::Time now, double ms);

  const AllocatorOptions options_;
  mutable ResourceNames names_;  // Grows as names appear, even in reads.
  std::vector<Quantities> min_allocatable_;
  std::vector<size_t> excluded_;  // Indices excluded from shares.
  std::map<std::string, double> weights_;
  DrfSorter role_sorter_{/*hierarchical=*/true};
  absl::flat_hash_map<std::string, std::unique_ptr<RoleState>> roles_;
  absl::flat_hash_map<std::string, std::unique_ptr<TopRole>> tops_;
  std::set<std::string> quota_roles_;  // Top-level roles with a quota.
  absl::flat_hash_map<std::string, std::unique_ptr<FrameworkState>>
      frameworks_;  // By id value, the sorters' client name.
  absl::flat_hash_map<uint32_t, FrameworkState*> frameworks_by_seq_;
  std::map<AgentId, std::unique_ptr<AgentState>> agents_;  // Ordered.
  absl::flat_hash_map<AgentId, AgentState*> agent_index_;  // For lookups.
  OfferFilters filters_;
  std::mt19937_64 rng_;
  uint32_t next_framework_seq_ = 1;
  uint32_t next_agent_seq_ = 1;

  // Cluster tallies (Mesos's totals and the role sorter's root).
  Quantities total_quantities_;
  Quantities reserved_total_;
  Quantities revocable_total_;
  Quantities allocated_all_;
  Quantities allocated_reserved_;
  Quantities allocated_revocable_;

  std::vector<PendingSort> pending_;
  std::vector<std::string> pending_unmark_;  // Guarantees met this agent.
  bool paused_ = false;
  std::optional<size_t> expected_agents_;

  // Metrics.
  uint64_t allocation_runs_ = 0;
  std::deque<std::pair<absl::Time, double>> run_ms_;  // Last hour, <= 1000.
};

}  // namespace agora

#endif  // AGORA_ALLOCATOR_ALLOCATOR_IMPL_H_
