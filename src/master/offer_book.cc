#include "master/offer_book.h"

#include <cmath>
#include <utility>

#include "common/ids.h"
#include "glog/logging.h"

namespace agora {

absl::Duration RefuseDuration(const mesos::v1::Filters* filters) {
  constexpr double kDefaultRefuseSeconds = 5.0;
  if (filters == nullptr) return absl::Seconds(kDefaultRefuseSeconds);
  double seconds = filters->refuse_seconds();  // 5 when unset (proto2).
  if (std::isnan(seconds) || seconds < 0) {
    LOG(WARNING) << "Using the default refuse_seconds of "
                 << kDefaultRefuseSeconds << " instead of " << seconds;
    seconds = kDefaultRefuseSeconds;
  }
  return absl::Seconds(seconds);
}

OfferBook::OfferBook(std::string master_id)
    : master_id_(std::move(master_id)) {}

OutstandingOffer* OfferBook::Create(const FrameworkId& framework,
                                    const AgentId& agent,
                                    const std::string& role,
                                    Resources resources) {
  OutstandingOffer offer;
  offer.id = FormatOfferId(master_id_, next_id_++);
  offer.framework = framework;
  offer.agent = agent;
  offer.role = role;
  offer.resources = std::move(resources);
  offer.offer.mutable_id()->set_value(offer.id);
  offer.offer.mutable_framework_id()->set_value(framework.value());
  offer.offer.mutable_agent_id()->set_value(agent.value());
  std::string id = offer.id;
  by_framework_[framework].insert(id);
  by_agent_[agent].insert(id);
  return &offers_.emplace(id, std::move(offer)).first->second;
}

OutstandingOffer* OfferBook::Find(const std::string& id) {
  auto it = offers_.find(id);
  return it == offers_.end() ? nullptr : &it->second;
}

std::optional<OutstandingOffer> OfferBook::Remove(const std::string& id) {
  auto it = offers_.find(id);
  if (it == offers_.end()) return std::nullopt;
  OutstandingOffer offer = std::move(it->second);
  offers_.erase(it);
  auto f = by_framework_.find(offer.framework);
  f->second.erase(id);
  if (f->second.empty()) by_framework_.erase(f);
  auto a = by_agent_.find(offer.agent);
  a->second.erase(id);
  if (a->second.empty()) by_agent_.erase(a);
  return offer;
}

namespace {
template <typename Map, typename Key>
std::vector<std::string> Ids(const Map& index, const Key& key) {
  auto it = index.find(key);
  if (it == index.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}
}  // namespace

std::vector<std::string> OfferBook::OffersOf(
    const FrameworkId& framework) const {
  return Ids(by_framework_, framework);
}

std::vector<std::string> OfferBook::OffersOn(const AgentId& agent) const {
  return Ids(by_agent_, agent);
}

Resources OfferBook::OfferedTo(const FrameworkId& framework) const {
  Resources out;
  for (const std::string& id : OffersOf(framework)) {
    out += offers_.at(id).resources.AllocatedTo("");
  }
  return out;
}

Resources OfferBook::OfferedOn(const AgentId& agent) const {
  Resources out;
  for (const std::string& id : OffersOn(agent)) {
    out += offers_.at(id).resources.AllocatedTo("");
  }
  return out;
}

}  // namespace agora
