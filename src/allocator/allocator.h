// Allocator: Mesos's hierarchical DRF allocator as pure logic. It knows
// agents (total and allocated resources), frameworks (roles, suppressed
// roles, active or not) and refuse filters, and on Allocate() decides which
// framework gets which agent's free resources for which role: one grant per
// (framework, role, agent), coarse-grained (everything left on the agent that
// the role may use), in DRF order (role sorter, then a framework sorter per
// role). Granted resources count as allocated until RecoverResources().
//
// No I/O, no threads, no protobuf, no clock of its own: the caller passes
// `now`. The master owns one Allocator on its loop and converts at its edge.
// Not thread-safe; call from one thread.
#ifndef AGORA_ALLOCATOR_ALLOCATOR_H_
#define AGORA_ALLOCATOR_ALLOCATOR_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/resources.h"
#include "common/strong_id.h"

namespace agora {

struct AllocatorOptions {
  // Refuse filters last at least this long (MESOS-4302).
  absl::Duration allocation_interval = absl::Seconds(1);
  // An offer must contain at least one of these quantity sets
  // (`--min_allocatable_resources`, default "cpus:0.01|mem:32").
  std::vector<Resources> min_allocatable_resources = DefaultMinAllocatable();
  // Seed for the agent shuffle of each cycle; fixed in tests.
  uint64_t shuffle_seed = 0;
  // Shuffle agents each cycle as Mesos does; tests may turn it off to get a
  // deterministic agent order (sorted by id).
  bool shuffle_agents = true;

  static std::vector<Resources> DefaultMinAllocatable();
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

  // Frameworks. `roles` are the framework's roles (FrameworkInfo.roles, or
  // the single deprecated role); invalid role names (ValidateRole) are
  // ignored with a warning. `used` is what it already has on agents (on
  // master failover or agent reregistration), keyed by agent; each Resource
  // carries its allocation role (one without is taken to be in the
  // framework's first role). Used resources on an agent not yet added are
  // ignored: the agent reports them when it is added. Adding a known
  // framework is a no-op; removing an unknown one is a no-op.
  void AddFramework(const FrameworkId& id, const std::set<std::string>& roles,
                    const std::map<AgentId, Resources>& used, bool active,
                    const std::set<std::string>& suppressed_roles = {});
  void RemoveFramework(const FrameworkId& id);
  // Inactive frameworks get no offers but keep their allocations.
  void ActivateFramework(const FrameworkId& id);
  void DeactivateFramework(const FrameworkId& id);

  // Agents. `total` is everything the agent has; `used` what frameworks
  // already hold on it (reregistration), keyed by framework. Use by a
  // framework not added yet is kept off the offers but out of the shares
  // until that framework is added with it. Adding a known agent is a no-op.
  void AddAgent(const AgentId& id, const Resources& total,
                const std::map<FrameworkId, Resources>& used);
  void RemoveAgent(const AgentId& id);
  // Deactivated agents are not offered (agent disconnected, draining).
  void ActivateAgent(const AgentId& id);
  void DeactivateAgent(const AgentId& id);

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

  // SUPPRESS / REVIVE for `roles` (empty = all of the framework's roles).
  // Revive also clears the framework's filters in those roles.
  void SuppressOffers(const FrameworkId& framework,
                      const std::set<std::string>& roles);
  // UPDATE_FRAMEWORK (and a resubscription): replaces the framework's roles,
  // its suppressed roles (those not among `roles` are ignored) and its
  // per-role minimum allocatable quantities (FrameworkInfo.offer_filters:
  // for a role listed there, an offer must contain one of the sets; roles
  // not listed use the allocator-wide minimum). A removed role loses its
  // filters and gets no more offers; allocations in it stay until
  // recovered. Unknown frameworks make this a no-op. Does not trigger an
  // allocation.
  void UpdateFramework(const FrameworkId& framework,
                       const std::set<std::string>& roles,
                       const std::set<std::string>& suppressed_roles,
                       const std::map<std::string, std::vector<Resources>>&
                           min_allocatable = {});
  void ReviveOffers(const FrameworkId& framework,
                    const std::set<std::string>& roles);

  // Role weights (UPDATE_WEIGHTS, `--weights`): a role's share is divided by
  // its weight. Applies to the role's node in the role tree, now or when the
  // role appears. Non-positive weights are ignored. Does not trigger an
  // allocation (Mesos's semantics).
  void UpdateWeights(const std::map<std::string, double>& weights);

  // Runs one allocation cycle over `agents` (all agents when nullopt) and
  // returns the grants, which are counted as allocated. Expired filters are
  // dropped first.
  std::vector<Allocation> Allocate(
      absl::Time now,
      const std::optional<std::set<AgentId>>& agents = std::nullopt);

  // Observability (for /state, /roles, metrics and tests).
  // Dominant share of `role` among roles (0 when unknown).
  double RoleShare(const std::string& role) const;
  // Dominant share of `framework` within `role`.
  double FrameworkShare(const std::string& role,
                        const FrameworkId& framework) const;
  Resources TotalResources() const;
  Resources AllocatedResources() const;
  size_t ActiveFilterCount() const;
  uint64_t allocation_runs() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agora

#endif  // AGORA_ALLOCATOR_ALLOCATOR_H_
