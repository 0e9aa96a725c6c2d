// OfferFilters: the refuse filters of all frameworks. A filter on
// (framework, role, agent) holds the resources a framework declined there
// and blocks any later offer those resources contain (refused ⊇ offer) until
// it expires. Frameworks and agents are named by the allocator's internal
// sequence numbers.
//
// Expiry is explicit: Expire(now) drops every filter whose time has come, in
// time order, so each filter costs O(log n) to add and to expire.
//
// Not thread-safe; owned by the allocator.
#ifndef AGORA_ALLOCATOR_OFFER_FILTERS_H_
#define AGORA_ALLOCATOR_OFFER_FILTERS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/resources.h"

namespace agora {

class OfferFilters {
 public:
  // Installs a filter that holds until Expire(t) is called with t >= expiry.
  void Add(uint32_t framework, const std::string& role, uint32_t agent,
           Resources refused, absl::Time expiry);

  // True when a filter of (framework, role, agent) contains `offer`.
  bool Filtered(uint32_t framework, const std::string& role, uint32_t agent,
                const Resources& offer) const;

  void Expire(absl::Time now);
  // Drops the framework's filters in `role`, or in all roles.
  void RemoveFramework(uint32_t framework);
  void RemoveFrameworkRole(uint32_t framework, const std::string& role);
  void RemoveAgent(uint32_t agent);

  size_t size() const { return entries_.size(); }
  // Active filters per role (metrics).
  std::map<std::string, size_t> CountByRole() const;

 private:
  struct Filter {
    uint64_t id;
    Resources refused;
    absl::Time expiry;
  };
  // framework -> role -> agent -> filters.
  using AgentFilters = absl::flat_hash_map<uint32_t, std::vector<Filter>>;
  using RoleFilters = absl::flat_hash_map<std::string, AgentFilters>;
  struct Location {
    uint32_t framework;
    std::string role;
    uint32_t agent;
    absl::Time expiry;
  };

  void Forget(const std::vector<Filter>& filters);

  absl::flat_hash_map<uint32_t, RoleFilters> by_framework_;
  absl::flat_hash_map<uint64_t, Location> entries_;
  std::set<std::pair<absl::Time, uint64_t>> expiry_;
  uint64_t next_id_ = 1;
};

}  // namespace agora

#endif  // AGORA_ALLOCATOR_OFFER_FILTERS_H_
