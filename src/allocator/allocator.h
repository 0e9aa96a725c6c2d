// Allocator: Mesos 1.11's hierarchical DRF allocator as pure logic. It knows
// agents (total and allocated resources, capabilities), frameworks (roles,
// suppressed roles, capabilities, per-role minimum offer sizes, active or
// not), role weights and quotas, and refuse filters. On Allocate() it
// decides which framework gets which agent's free resources for which role:
// one grant per (framework, role, agent), coarse-grained (everything left on
// the agent that the role may use, minus what quota limits and the quota
// headroom hold back), in DRF order (role tree sorted level by level, then a
// framework sorter per role), in two stages (roles below their quota
// guarantee first, then everyone). Granted resources count as offered or
// allocated until RecoverResources().
//
// No I/O, no threads, no protobuf, no clock of its own: the caller passes
// `now`. The master owns one Allocator on its loop and converts at its edge.
// Not thread-safe; call from one thread.
//
// What the master does around it (Mesos's triggers; the allocator never
// runs a cycle by itself):
//   - every --allocation_interval:      Allocate(now)
//   - after AddFramework(active) / ActivateFramework / ReviveOffers /
//     UpdateFramework that revives:     Allocate(now) (all agents, batched)
//   - after AddAgent, or UpdateAgent returning true: Allocate(now, {agent})
//   - never after RecoverResources (decline, rescind, task end),
//     UpdateWeights, UpdateQuota, SuppressOffers: the next periodic cycle
//     sees them.
//   - offer operations in ACCEPT: RESERVE / UNRESERVE are turned into
//     ResourceConversions (common/reservations.h) and passed to
//     UpdateAllocation() one operation at a time, in order; from then on
//     the offer holds the converted resources, and what is left unused is
//     recovered in its converted form;
//     operator RESERVE_RESOURCES / UNRESERVE_RESOURCES rescind the offers on
//     the agent, recover them, then call UpdateAvailable().
//   - operator UPDATE_QUOTA: validate every config first (ValidateQuota:
//     top-level roles, guarantee <= limit; and, unless `force`,
//     QuotaConsumed() <= the new limit), then call UpdateQuota() for each,
//     persist them, and rescind offers of roles now above their limit.
//     GET_QUOTA: Quotas(). UPDATE_WEIGHTS / GET_WEIGHTS: UpdateWeights(),
//     Weights(). --weights: UpdateWeights() at start. Master failover:
//     Recover() with the registry's quotas and agent count.
//   - /metrics/snapshot: merge Metrics().
#ifndef AGORA_ALLOCATOR_ALLOCATOR_H_
#define AGORA_ALLOCATOR_ALLOCATOR_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/reservations.h"
#include "common/resources.h"
#include "common/strong_id.h"

namespace agora {

struct AllocatorOptions {
  // Refuse filters last at least this long (MESOS-4302).
  absl::Duration allocation_interval = absl::Seconds(1);
  // An offer must contain at least one of these quantity sets
  // (`--min_allocatable_resources`, default "cpus:0.01|mem:32"); only the
  // scalar quantities count, whatever their reservation. Empty: anything
  // non-empty is allocatable.
  std::vector<Resources> min_allocatable_resources = DefaultMinAllocatable();
  // `--fair_sharing_excluded_resource_names` (e.g. {"gpus"}): these
  // resources do not count in DRF shares (they still count for quota).
  std::set<std::string> fair_sharing_excluded_resource_names;
  // `--filter_gpu_resources` (default true): agents with GPUs are offered
  // only to frameworks with the GPU_RESOURCES capability (MESOS-5634).
  bool filter_gpu_resources = true;
  // `--allocator_agent_recovery_factor`: after Recover(), allocation stays
  // paused until this fraction of the expected agents has been added.
  double agent_recovery_factor = 0.8;
  // Seed for the agent shuffle of each cycle; fixed in tests.
  uint64_t shuffle_seed = 0;
  // Shuffle agents each cycle as Mesos does; tests may turn it off to get a
  // deterministic agent order (sorted by id).
  bool shuffle_agents = true;

  static std::vector<Resources> DefaultMinAllocatable();
};

// The master's allocator flags, in Mesos's syntax. InvalidArgument naming
// the bad part.
//   --min_allocatable_resources: "cpus:0.01|mem:32" (sets separated by '|',
//     quantities in a set by ';'; scalars only, no roles).
absl::StatusOr<std::vector<Resources>> ParseMinAllocatableResources(
    absl::string_view text);
//   --weights: "role1=2,role2=3.5" (valid roles, weights > 0).
absl::StatusOr<std::map<std::string, double>> ParseWeights(
    absl::string_view text);

// FrameworkInfo.capabilities as far as allocation is concerned. Defaults are
// protobuf's (all false).
struct FrameworkCapabilities {
  bool multi_role = false;              // MULTI_ROLE
  bool revocable_resources = false;     // REVOCABLE_RESOURCES
  bool gpu_resources = false;           // GPU_RESOURCES
  bool reservation_refinement = false;  // RESERVATION_REFINEMENT
};

// Everything the allocator needs from a FrameworkInfo and the subscription.
struct FrameworkOptions {
  // FrameworkInfo.roles (MULTI_ROLE) or the single deprecated role. Invalid
  // role names (ValidateRole) are ignored with a warning.
  std::set<std::string> roles;
  // Roles the framework is suppressed in (SUBSCRIBE's suppressed_roles).
  std::set<std::string> suppressed_roles;
  FrameworkCapabilities capabilities;
  // FrameworkInfo.offer_filters[role].min_allocatable_resources: replaces
  // AllocatorOptions::min_allocatable_resources for offers in that role. A
  // present role with an empty list means any non-empty offer will do.
  std::map<std::string, std::vector<Resources>> min_allocatable_resources;
};

// SlaveInfo.capabilities as far as allocation is concerned. Defaults are
// those of a current agent (Agora's agents have all three).
struct AgentCapabilities {
  bool multi_role = true;              // MULTI_ROLE
  bool hierarchical_role = true;       // HIERARCHICAL_ROLE
  bool reservation_refinement = true;  // RESERVATION_REFINEMENT
};

// A role's quota: scalar quantities by resource name. A guarantee is served
// in the first stage of a cycle and protected by headroom; a limit caps the
// role's consumption (reservations plus offered or allocated unreserved
// non-revocable resources). A name absent from `limits` is unlimited; both
// maps empty is the default quota (none).
struct Quota {
  std::map<std::string, Scalar> guarantees;
  std::map<std::string, Scalar> limits;

  bool IsDefault() const { return guarantees.empty() && limits.empty(); }
  friend bool operator==(const Quota& a, const Quota& b) {
    return a.guarantees == b.guarantees && a.limits == b.limits;
  }
};

// One grant: `resources` (with allocation role `role`) of `agent` go to
// `framework`. The master turns each into one offer.
struct Allocation {
  FrameworkId framework;
  std::string role;
  AgentId agent;
  Resources resources;
};

class Allocator {
 public:
  explicit Allocator(AllocatorOptions options);
  ~Allocator();

  // --- Frameworks ----------------------------------------------------------

  // `used` is what the framework already has on agents (master failover,
  // agent reregistration), keyed by agent; each Resource carries its
  // allocation role (one without is taken to be in the framework's first
  // role). Used resources on an agent not yet added are ignored: the agent
  // reports them when it is added. Adding a known framework is a no-op.
  // Mesos runs a cycle over all agents when `active`.
  void AddFramework(const FrameworkId& id, const FrameworkOptions& options,
                    const std::map<AgentId, Resources>& used, bool active);
  // The same with default capabilities and no per-role minimum.
  void AddFramework(const FrameworkId& id, const std::set<std::string>& roles,
                    const std::map<AgentId, Resources>& used, bool active,
                    const std::set<std::string>& suppressed_roles = {});
  // UPDATE_FRAMEWORK / resubscription: new roles, suppressed roles,
  // capabilities and minimums. Roles left keep their allocations (the
  // framework stays tracked there, inactive) and lose their filters.
  // Newly unsuppressed roles are revived (filters cleared). Unknown
  // frameworks are ignored.
  void UpdateFramework(const FrameworkId& id, const FrameworkOptions& options);
  // Removing frees everything the framework holds. Unknown ids: no-op.
  void RemoveFramework(const FrameworkId& id);
  // Inactive frameworks get no offers but keep their allocations.
  // Deactivating drops all of the framework's filters (as Mesos does).
  void ActivateFramework(const FrameworkId& id);
  void DeactivateFramework(const FrameworkId& id);

  // --- Agents --------------------------------------------------------------

  // `total` is everything the agent has (reservations included); `used`
  // what frameworks already hold on it (reregistration), keyed by framework.
  // Use by a framework not added yet is kept off the offers but out of the
  // shares until that framework is added with it. Adding a known agent is a
  // no-op.
  void AddAgent(const AgentId& id, const Resources& total,
                const std::map<FrameworkId, Resources>& used,
                const AgentCapabilities& capabilities = AgentCapabilities());
  // A reregistered agent with new total resources (e.g. oversubscription,
  // changed --resources) and/or capabilities. Returns true when anything
  // changed; Mesos then runs a cycle over that agent.
  bool UpdateAgent(const AgentId& id, const std::optional<Resources>& total,
                   const std::optional<AgentCapabilities>& capabilities);
  void RemoveAgent(const AgentId& id);
  // Deactivated agents are not offered (agent disconnected, draining).
  void ActivateAgent(const AgentId& id);
  void DeactivateAgent(const AgentId& id);

  // --- Resources -----------------------------------------------------------

  // `resources` (each with its allocation role) of `agent` are no longer
  // used by `framework`: declined, left over from an ACCEPT, rescinded, or
  // freed by a terminal task. Only what the framework holds there is freed;
  // unknown agents or frameworks make this a no-op. With `refuse` set
  // (> 0), installs a refuse filter for (framework, role, agent) over
  // exactly these resources that lasts min(max(refuse, allocation_interval),
  // 365 days) from `now`; it is dropped by the first Allocate() at or after
  // that time. Non-positive `refuse` installs nothing (the master maps a
  // negative refuse_seconds to Mesos's 5 s default). Does not trigger an
  // allocation (Mesos's semantics).
  void RecoverResources(const FrameworkId& framework, const AgentId& agent,
                        const Resources& resources,
                        std::optional<absl::Duration> refuse, absl::Time now);

  // ACCEPT with RESERVE / UNRESERVE: `offered` (with its allocation role,
  // held by `framework` on `agent`) becomes `offered` with `conversions`
  // applied (build them with ReserveConversion / UnreserveConversion, with
  // the allocation role set). The agent's total changes the same way, so a
  // reservation made in an offer stays after the offer is recovered.
  // Nothing changes on error: NotFound for an unknown framework or agent,
  // FailedPrecondition when the framework does not hold `offered` or a
  // conversion does not apply.
  absl::Status UpdateAllocation(
      const FrameworkId& framework, const AgentId& agent,
      const Resources& offered,
      const std::vector<ResourceConversion>& conversions);

  // Operator RESERVE_RESOURCES / UNRESERVE_RESOURCES: applies `conversions`
  // (without allocation roles) to the agent's unallocated resources and its
  // total. FailedPrecondition, and no change, when the consumed resources
  // are not all free (in use by tasks or offered): the master rescinds
  // offers first. NotFound for an unknown agent.
  absl::Status UpdateAvailable(
      const AgentId& agent, const std::vector<ResourceConversion>& conversions);

  // --- Roles ---------------------------------------------------------------

  // SUPPRESS / REVIVE for `roles` (empty = all of the framework's roles).
  // Revive also clears the framework's filters in those roles.
  void SuppressOffers(const FrameworkId& framework,
                      const std::set<std::string>& roles);
  void ReviveOffers(const FrameworkId& framework,
                    const std::set<std::string>& roles);

  // Role weights (UPDATE_WEIGHTS, `--weights`): a role's share is divided by
  // its weight. Applies to the role's node in the role tree, now or when the
  // role appears. Non-positive weights are ignored. Does not trigger an
  // allocation (Mesos's semantics).
  void UpdateWeights(const std::map<std::string, double>& weights);
  std::map<std::string, double> Weights() const;

  // UPDATE_QUOTA for one role; the default Quota removes it. Only top-level
  // roles (and "*") may have quota: InvalidArgument for a nested or invalid
  // role or a guarantee above its limit. Does not trigger an allocation.
  absl::Status UpdateQuota(const std::string& role, const Quota& quota);
  // The checks UpdateQuota makes, without applying anything: UPDATE_QUOTA
  // is all-or-nothing, so the master validates every config first.
  static absl::Status ValidateQuota(const std::string& role,
                                    const Quota& quota);
  std::map<std::string, Quota> Quotas() const;
  // What counts against `role`'s quota now: its (and its subroles')
  // reservations plus offered or allocated unreserved non-revocable scalars.
  // Mesos checks a new limit (UPDATE_QUOTA without force) against
  // consumption without outstanding offers (they are rescinded instead):
  // the master subtracts its offers' unreserved non-revocable scalars.
  std::map<std::string, Scalar> QuotaConsumed(const std::string& role) const;

  // Master failover (Mesos's recover()): with quotas, sets them and pauses
  // allocation until agent_recovery_factor × `expected_agents` agents have
  // been added or the master calls Resume() (its --allocator_recovery_timeout
  // timer). Without quotas it does nothing.
  void Recover(int expected_agents, const std::map<std::string, Quota>& quotas);
  void Pause();
  void Resume();
  bool paused() const;

  // --- Allocation ----------------------------------------------------------

  // Runs one allocation cycle over `agents` (all agents when nullopt) and
  // returns the grants, which are counted as offered. Expired filters are
  // dropped first. A paused allocator returns nothing and counts no run.
  std::vector<Allocation> Allocate(
      absl::Time now,
      const std::optional<std::set<AgentId>>& agents = std::nullopt);

  // --- Observability (for /state, /roles, metrics and tests) ----------------

  // Dominant share of `role` among roles, weight applied (0 when unknown).
  double RoleShare(const std::string& role) const;
  // Dominant share of `framework` within `role`.
  double FrameworkShare(const std::string& role,
                        const FrameworkId& framework) const;
  Resources TotalResources() const;
  Resources AllocatedResources() const;
  size_t ActiveFilterCount() const;
  uint64_t allocation_runs() const;

  // The allocator's metrics under Mesos's names, to merge into
  // /metrics/snapshot:
  //   allocator/mesos/allocation_runs
  //   allocator/mesos/allocation_run_ms (last), .../count, min, max, p50,
  //     p90, p95, p99, p999, p9999 (cycles of the last hour, at most 1000)
  //   allocator/mesos/resources/{cpus,mem,disk}/{total,offered_or_allocated}
  //   allocator/mesos/roles/<role>/shares/dominant (roles with frameworks)
  //   allocator/mesos/offer_filters/roles/<role>/active (every known role)
  //   allocator/mesos/quota/roles/<role>/resources/<r>/{guarantee,limit,
  //     offered_or_allocated} (roles with quota, names in the quota)
  std::map<std::string, double> Metrics() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agora

#endif  // AGORA_ALLOCATOR_ALLOCATOR_H_
