// Internal to the allocator module: the state behind Allocator and the
// bookkeeping shared by allocator.cc (events) and allocation_cycle.cc (the
// cycle). Not part of the public API.
#ifndef AGORA_ALLOCATOR_ALLOCATOR_IMPL_H_
#define AGORA_ALLOCATOR_ALLOCATOR_IMPL_H_

#include <cstdint>
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

// Gives each scalar resource name a small index, so quantities are flat
// arrays rather than maps of strings.
class ResourceNames {
 public:
  size_t Index(const std::string& name);
  // The scalar quantities of `resources`, across roles and reservations.
  Quantities Of(const Resources& resources);

 private:
  absl::flat_hash_map<std::string, size_t> index_;
};

struct FrameworkState {
  FrameworkId id;
  uint32_t seq = 0;  // Keys agent allocations and filters.
  bool active = false;
  std::set<std::string> roles;       // Subscribed.
  std::set<std::string> suppressed;  // A subset of `roles`.
  // Roles whose framework sorter holds this framework: the subscribed ones
  // plus any other role it still has resources allocated in.
  std::set<std::string> tracked;
  // Per role, the number of agents holding an allocation record for it.
  std::map<std::string, size_t> agents_with_allocation;
  // FrameworkInfo.offer_filters: per-role minimum allocatable quantities
  // that replace the allocator-wide ones.
  std::map<std::string, std::vector<Quantities>> min_allocatable;
};

struct RoleState {
  explicit RoleState(std::string n)
      : name(std::move(n)), frameworks(/*hierarchical=*/false) {}
  std::string name;
  DrfSorter frameworks;  // Clients are framework id values.
};

struct AgentState {
  AgentId id;
  uint32_t seq = 0;
  Resources total;
  // total minus everything allocated, without allocation roles. Kept
  // incrementally so a cycle never recomputes it.
  Resources available;
  Quantities total_quantities;
  bool has_reservations = false;  // Any reserved resource in `total`.
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

  void AddFramework(const FrameworkId& id, const std::set<std::string>& roles,
                    const std::map<AgentId, Resources>& used, bool active,
                    const std::set<std::string>& suppressed_roles);
  void RemoveFramework(const FrameworkId& id);
  void SetFrameworkActive(const FrameworkId& id, bool active);
  void AddAgent(const AgentId& id, const Resources& total,
                const std::map<FrameworkId, Resources>& used);
  void RemoveAgent(const AgentId& id);
  void SetAgentActive(const AgentId& id, bool active);
  void RecoverResources(const FrameworkId& framework, const AgentId& agent,
                        const Resources& resources,
                        std::optional<absl::Duration> refuse, absl::Time now);
  void SuppressOffers(const FrameworkId& framework,
                      const std::set<std::string>& roles);
  void UpdateFramework(
      const FrameworkId& framework, const std::set<std::string>& roles,
      const std::set<std::string>& suppressed_roles,
      const std::map<std::string, std::vector<Resources>>& min_allocatable);
  void ReviveOffers(const FrameworkId& framework,
                    const std::set<std::string>& roles);
  void UpdateWeights(const std::map<std::string, double>& weights);
  std::vector<Allocation> Allocate(
      absl::Time now, const std::optional<std::set<AgentId>>& agents);

  double RoleShare(const std::string& role) const;
  double FrameworkShare(const std::string& role,
                        const FrameworkId& framework) const;
  Resources TotalResources() const;
  Resources AllocatedResources() const;
  size_t ActiveFilterCount() const { return filters_.size(); }
  uint64_t allocation_runs() const { return allocation_runs_; }

 private:
  // A decision of the cycle: `offer` of the agent goes to `framework` in
  // `role`. With `whole_agent` the offer is everything available on the
  // agent and is taken from it without copying.
  struct Grant {
    FrameworkState* framework = nullptr;
    RoleState* role = nullptr;
    Resources offer;
    Quantities quantities;
    bool whole_agent = false;
  };

  FrameworkState* FindFramework(const FrameworkId& id) const;
  AgentState* FindAgent(const AgentId& id) const;

  // Sorter membership of a framework in a role.
  void Track(FrameworkState* framework, const std::string& role);
  void Untrack(FrameworkState* framework, const std::string& role);
  void UntrackIfUnused(FrameworkState* framework, const std::string& role);
  void SyncActivation(FrameworkState* framework, const std::string& role);

  // Groups resources by allocation role; resources without one are given
  // the framework's first role.
  std::map<std::string, Resources> SplitByRole(
      const Resources& resources, const FrameworkState& framework) const;
  void TrackUsed(AgentState* agent, FrameworkState* framework,
                 const Resources& used);
  void AddRecord(AgentState* agent, FrameworkState* framework, RoleState* role,
                 const Resources& allocated, const Quantities& quantities);
  void RemoveRecordPart(AgentState* agent, FrameworkState* framework,
                        const std::string& role, const Resources& part);
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
  void AllocateAgent(AgentState* agent, std::vector<Allocation>* out);
  std::optional<Grant> PickFramework(AgentState* agent, RoleState* role);
  bool MeetsMinimum(const Quantities& offer,
                    const std::vector<Quantities>& minimums) const;
  bool FrameworkMeetsMinimum(const FrameworkState& framework,
                             const std::string& role, const Quantities& offer,
                             bool meets_global) const;
  void ApplyGrant(AgentState* agent, Grant grant, std::vector<Allocation>* out);

  const AllocatorOptions options_;
  ResourceNames names_;
  std::vector<Quantities> min_allocatable_;
  // Frameworks with their own min_allocatable (the cycle skips agents
  // below the global minimum outright while there are none).
  size_t frameworks_with_own_minimum_ = 0;
  Quantities total_quantities_;
  DrfSorter role_sorter_{/*hierarchical=*/true};
  absl::flat_hash_map<std::string, std::unique_ptr<RoleState>> roles_;
  absl::flat_hash_map<std::string, std::unique_ptr<FrameworkState>>
      frameworks_;  // By id value, the sorters' client name.
  absl::flat_hash_map<uint32_t, FrameworkState*> frameworks_by_seq_;
  std::map<AgentId, std::unique_ptr<AgentState>> agents_;  // Ordered.
  absl::flat_hash_map<AgentId, AgentState*> agent_index_;  // For lookups.
  OfferFilters filters_;
  std::mt19937_64 rng_;
  uint32_t next_framework_seq_ = 1;
  uint32_t next_agent_seq_ = 1;
  uint64_t allocation_runs_ = 0;
};

}  // namespace agora

#endif  // AGORA_ALLOCATOR_ALLOCATOR_IMPL_H_
