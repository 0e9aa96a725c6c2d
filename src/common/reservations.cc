#include "common/reservations.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace agora {

bool HasRefinedReservations(const Resource& r) {
  return r.reservations.size() > 1;
}

Resources PushReservation(const Resources& resources,
                          const Reservation& reservation) {
  Resources out;
  for (Resource r : resources.items()) {
    r.reservations.push_back(reservation);
    out += r;
  }
  return out;
}

Resources PopReservation(const Resources& resources) {
  Resources out;
  for (Resource r : resources.items()) {
    if (!r.reservations.empty()) r.reservations.pop_back();
    out += r;
  }
  return out;
}

absl::StatusOr<ResourceConversion> ReserveConversion(
    const Resources& reserved) {
  if (reserved.empty()) {
    return absl::InvalidArgumentError("RESERVE of no resources");
  }
  for (const Resource& r : reserved.items()) {
    if (r.reservations.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "RESERVE of '", r.ToString(), "': the resource is not reserved"));
    }
    const Reservation& top = r.reservations.back();
    if (top.type != Reservation::Type::kDynamic) {
      return absl::InvalidArgumentError(
          absl::StrCat("RESERVE of '", r.ToString(),
                       "': the new reservation must be dynamic"));
    }
    if (r.reservations.size() > 1) {
      const std::string& below = r.reservations[r.reservations.size() - 2].role;
      if (top.role == below || !IsRoleOrDescendant(top.role, below)) {
        return absl::InvalidArgumentError(
            absl::StrCat("RESERVE of '", r.ToString(), "': role '", top.role,
                         "' does not refine the reservation to '", below, "'"));
      }
    }
  }
  return ResourceConversion{PopReservation(reserved), reserved};
}

absl::StatusOr<ResourceConversion> UnreserveConversion(
    const Resources& reserved) {
  if (reserved.empty()) {
    return absl::InvalidArgumentError("UNRESERVE of no resources");
  }
  for (const Resource& r : reserved.items()) {
    if (r.reservations.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "UNRESERVE of '", r.ToString(), "': the resource is not reserved"));
    }
    if (r.reservations.back().type != Reservation::Type::kDynamic) {
      return absl::InvalidArgumentError(
          absl::StrCat("UNRESERVE of '", r.ToString(),
                       "': a static reservation cannot be unreserved"));
    }
  }
  return ResourceConversion{reserved, PopReservation(reserved)};
}

absl::StatusOr<Resources> ApplyConversions(
    Resources resources, const std::vector<ResourceConversion>& conversions) {
  for (const ResourceConversion& c : conversions) {
    if (!resources.Contains(c.consumed)) {
      return absl::FailedPreconditionError(
          absl::StrCat("'", c.consumed.ToString(), "' is not contained in '",
                       resources.ToString(), "'"));
    }
    resources -= c.consumed;
    resources += c.converted;
  }
  return resources;
}

}  // namespace agora
