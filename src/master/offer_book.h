// OfferBook: the outstanding offers, by id, framework and agent. An offer is
// outstanding from the allocation that made it until it is accepted,
// declined, rescinded or timed out; its resources count as allocated in the
// allocator all that time.
//
// Thread rule: master loop only.
#ifndef AGORA_MASTER_OFFER_BOOK_H_
#define AGORA_MASTER_OFFER_BOOK_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/resources.h"
#include "common/strong_id.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

struct OutstandingOffer {
  std::string id;
  FrameworkId framework;
  AgentId agent;
  std::string role;
  Resources resources;                   // With allocation role `role`.
  mesos::v1::Offer offer;                // As sent to the framework.
  EventLoop::TimerId timeout_timer = 0;  // 0 without --offer_timeout.
};

// How long declined or unused resources stay refused (Filters.refuse_seconds):
// Mesos's default of 5 s when `filters` is null, unset, negative or NaN.
absl::Duration RefuseDuration(const mesos::v1::Filters* filters);

class OfferBook {
 public:
  explicit OfferBook(std::string master_id);

  // A new offer with a fresh id "<master_id>-O<n>"; `offer` is left for
  // the caller to fill in (its id, framework and agent are set).
  OutstandingOffer* Create(const FrameworkId& framework, const AgentId& agent,
                           const std::string& role, Resources resources);
  OutstandingOffer* Find(const std::string& id);
  // Removes and returns the offer; nullopt when unknown.
  std::optional<OutstandingOffer> Remove(const std::string& id);

  // Offer ids of one framework / on one agent, sorted.
  std::vector<std::string> OffersOf(const FrameworkId& framework) const;
  std::vector<std::string> OffersOn(const AgentId& agent) const;
  // Sum of outstanding offers' resources (allocation roles cleared).
  Resources OfferedTo(const FrameworkId& framework) const;
  Resources OfferedOn(const AgentId& agent) const;

  size_t size() const { return offers_.size(); }
  const std::map<std::string, OutstandingOffer>& all() const { return offers_; }

 private:
  const std::string master_id_;
  uint64_t next_id_ = 0;
  std::map<std::string, OutstandingOffer> offers_;
  std::map<FrameworkId, std::set<std::string>> by_framework_;
  std::map<AgentId, std::set<std::string>> by_agent_;
};

}  // namespace agora

#endif  // AGORA_MASTER_OFFER_BOOK_H_
