// Reservation arithmetic on the Resources value type: the reservation stack
// (refinement), and the RESERVE / UNRESERVE operations expressed as resource
// conversions, as Mesos applies them to offers, allocations and agent totals.
//
// A resource's `reservations` is a stack, outermost first: "*" (empty),
// then e.g. eng (static or dynamic), then eng/dev (a refinement). RESERVE
// pushes one dynamic reservation, UNRESERVE pops the top one. Like resources
// merge (same stack, same allocation role), so two RESERVEs to the same role
// add up and an UNRESERVE of part of a reservation leaves the rest reserved.
//
// Thread rule: plain values; no shared state.
#ifndef AGORA_COMMON_RESERVATIONS_H_
#define AGORA_COMMON_RESERVATIONS_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/resources.h"

namespace agora {

// What an operation does to a set of resources: `consumed` leaves it and
// `converted` joins it. Both carry the same allocation role (or none).
struct ResourceConversion {
  Resources consumed;
  Resources converted;
};

// True when the resource's stack has more than one reservation.
bool HasRefinedReservations(const Resource& r);

// Copies with one reservation pushed onto (popped from) every resource's
// stack. Popping an unreserved resource leaves it unreserved.
Resources PushReservation(const Resources& resources,
                          const Reservation& reservation);
Resources PopReservation(const Resources& resources);

// RESERVE: `reserved` are the resources as they will be, each with the new
// dynamic reservation on top of its stack. The conversion consumes the same
// resources with that reservation popped. InvalidArgument when `reserved` is
// empty, a resource is unreserved, its top reservation is not dynamic, or it
// refines a reservation to a role that is not a strict ancestor of the new
// one (Mesos's refinement rule).
absl::StatusOr<ResourceConversion> ReserveConversion(const Resources& reserved);

// UNRESERVE: `reserved` are resources as they are now; the conversion
// consumes them and gives them back with their top reservation popped.
// InvalidArgument when `reserved` is empty, a resource is unreserved, or its
// top reservation is static (static reservations change only with the
// agent's --resources).
absl::StatusOr<ResourceConversion> UnreserveConversion(
    const Resources& reserved);

// Applies `conversions` in order. FailedPrecondition naming the missing
// resources when a conversion consumes something `resources` does not hold.
absl::StatusOr<Resources> ApplyConversions(
    Resources resources, const std::vector<ResourceConversion>& conversions);

}  // namespace agora

#endif  // AGORA_COMMON_RESERVATIONS_H_
