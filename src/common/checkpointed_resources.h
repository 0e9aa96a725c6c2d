// The agent's checkpointed resources: the dynamically reserved part of its
// total, which the agent keeps on disk so that reservations survive its
// restart, and which the master applies to the agent's --resources to get
// its total (Mesos's checkpointed resources, without persistent volumes).
//
// Thread rule: plain values; no shared state.
#ifndef AGORA_COMMON_CHECKPOINTED_RESOURCES_H_
#define AGORA_COMMON_CHECKPOINTED_RESOURCES_H_

#include "absl/status/statusor.h"
#include "common/resources.h"

namespace agora {

// Copies with every dynamic reservation popped off the top of each stack
// (static reservations stay).
Resources StripDynamicReservations(const Resources& resources);

// The resources whose top reservation is dynamic.
Resources DynamicallyReserved(const Resources& resources);

// `total` (the agent's --resources) with `checkpointed` applied: the
// checkpointed resources replace their stripped form. InvalidArgument when
// a checkpointed resource is not dynamically reserved or `total` does not
// hold its stripped form.
absl::StatusOr<Resources> ApplyCheckpointedResources(
    const Resources& total, const Resources& checkpointed);

}  // namespace agora

#endif  // AGORA_COMMON_CHECKPOINTED_RESOURCES_H_
