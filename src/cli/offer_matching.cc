#include "cli/offer_matching.h"

#include <algorithm>
#include <iterator>

#include "common/resources_proto.h"

namespace agora::cli {

namespace {

// 0: reserved to `role`; 1: another reservation offered to it (an
// ancestor's); 2: unreserved.
int Preference(const Resource& r, absl::string_view role) {
  if (r.IsUnreserved()) return 2;
  return r.ReservationRole() == role ? 0 : 1;
}

Ranges Intersect(const Ranges& a, const Ranges& b) {
  Ranges outside = a;
  outside.Subtract(b);
  Ranges inside = a;
  inside.Subtract(outside);
  return inside;
}

// The part of `have` that serves `need`; `need` shrinks by it.
Resource Take(const Resource& have, Resource* need) {
  Resource take = have;
  switch (have.kind) {
    case Resource::Kind::kScalar:
      take.scalar = std::min(have.scalar, need->scalar);
      need->scalar -= take.scalar;
      break;
    case Resource::Kind::kRanges:
      take.ranges = Intersect(have.ranges, need->ranges);
      need->ranges.Subtract(take.ranges);
      break;
    case Resource::Kind::kSet: {
      take.set.clear();
      std::set_intersection(have.set.begin(), have.set.end(), need->set.begin(),
                            need->set.end(),
                            std::inserter(take.set, take.set.end()));
      for (const std::string& item : take.set) need->set.erase(item);
      break;
    }
  }
  return take;
}

}  // namespace

std::optional<Resources> PickResources(const Resources& available,
                                       const Resources& required,
                                       absl::string_view role) {
  Resources picked;
  for (const Resource& want : required.items()) {
    Resource need = want;
    for (int preference = 0; preference < 3 && !need.IsEmpty(); ++preference) {
      for (const Resource& have : available.items()) {
        if (need.IsEmpty()) break;
        if (have.revocable || have.name != need.name ||
            have.kind != need.kind || Preference(have, role) != preference) {
          continue;
        }
        Resource take = Take(have, &need);
        if (!take.IsEmpty()) picked += take;
      }
    }
    if (!need.IsEmpty()) return std::nullopt;
  }
  return picked;
}

absl::StatusOr<std::vector<mesos::v1::TaskInfo>> MatchOffer(
    const mesos::v1::Offer& offer, const Resources& required,
    absl::string_view role, std::deque<mesos::v1::TaskInfo>* pending) {
  absl::StatusOr<Resources> available = FromProto(offer.resources());
  if (!available.ok()) return available.status();
  std::vector<mesos::v1::TaskInfo> launch;
  while (!pending->empty()) {
    std::optional<Resources> picked = PickResources(*available, required, role);
    if (!picked) break;
    *available -= *picked;
    mesos::v1::TaskInfo task = std::move(pending->front());
    pending->pop_front();
    *task.mutable_agent_id() = offer.agent_id();
    *task.mutable_resources() = ToProto(*picked);
    launch.push_back(std::move(task));
  }
  return launch;
}

}  // namespace agora::cli
