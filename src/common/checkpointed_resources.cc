#include "common/checkpointed_resources.h"

#include "absl/strings/str_cat.h"

namespace agora {

Resources StripDynamicReservations(const Resources& resources) {
  Resources out;
  for (Resource r : resources.items()) {
    while (!r.reservations.empty() &&
           r.reservations.back().type == Reservation::Type::kDynamic) {
      r.reservations.pop_back();
    }
    out += r;
  }
  return out;
}

Resources DynamicallyReserved(const Resources& resources) {
  Resources out;
  for (const Resource& r : resources.items()) {
    if (!r.reservations.empty() &&
        r.reservations.back().type == Reservation::Type::kDynamic) {
      out += r;
    }
  }
  return out;
}

absl::StatusOr<Resources> ApplyCheckpointedResources(
    const Resources& total, const Resources& checkpointed) {
  for (const Resource& r : checkpointed.items()) {
    if (r.reservations.empty() ||
        r.reservations.back().type != Reservation::Type::kDynamic) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpointed resource ", r.ToString(),
                       " is not dynamically reserved"));
    }
  }
  Resources stripped = StripDynamicReservations(checkpointed);
  if (!total.Contains(stripped)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpointed resources ", checkpointed.ToString(),
        " are not part of the agent's resources ", total.ToString()));
  }
  return total - stripped + checkpointed;
}

}  // namespace agora
