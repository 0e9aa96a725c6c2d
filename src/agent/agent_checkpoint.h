// The agent's checkpoint of its dynamically reserved resources: one file,
// <work_dir>/meta/resources/resources.info (Mesos's name; an agent before
// checkpoint layout version 1 wrote checkpointed_resources, still read),
// holding a serialized agora.internal.CheckpointResources, replaced atomically
// (write to a temporary file, fsync, rename, fsync the directory) so that a
// crash leaves the old or the new checkpoint, never a mix.
//
// Thread rule: plain functions doing file I/O; the agent calls them from its
// loop.
#ifndef AGORA_AGENT_AGENT_CHECKPOINT_H_
#define AGORA_AGENT_AGENT_CHECKPOINT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/resources.h"

namespace agora {

std::string CheckpointedResourcesPath(const std::string& work_dir);

// The checkpointed resources; empty when there is no checkpoint yet.
// DataLoss when the file cannot be parsed or holds invalid resources,
// Unavailable when it cannot be read.
absl::StatusOr<Resources> LoadCheckpointedResources(
    const std::string& work_dir);

// Replaces the checkpoint with `resources` (creating the directories).
// Unavailable naming the path and cause on failure; the old checkpoint is
// intact then.
absl::Status StoreCheckpointedResources(const std::string& work_dir,
                                        const Resources& resources);

}  // namespace agora

#endif  // AGORA_AGENT_AGENT_CHECKPOINT_H_
