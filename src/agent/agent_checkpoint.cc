// The agent's checkpointed resources: the file, and the agent's handling of
// the master's CheckpointResources.
#include "agent/agent_checkpoint.h"

#include "absl/strings/str_cat.h"
#include "agent/agent.h"
#include "agora/internal/agent_link.pb.h"
#include "common/checkpointed_resources.h"
#include "common/file_util.h"
#include "common/resources_proto.h"
#include "glog/logging.h"

namespace agora {
namespace {

std::string ResourcesDir(const std::string& work_dir) {
  return absl::StrCat(work_dir, "/meta/resources");
}

// Where agents before checkpoint layout version 1 kept the file.
std::string LegacyResourcesPath(const std::string& work_dir) {
  return absl::StrCat(ResourcesDir(work_dir), "/checkpointed_resources");
}

// The checkpoint's file errors are Unavailable: the agent cannot go on
// without it, and a later attempt may succeed.
absl::Status Unavailable(const absl::Status& status) {
  return absl::UnavailableError(status.message());
}

}  // namespace

std::string CheckpointedResourcesPath(const std::string& work_dir) {
  return absl::StrCat(ResourcesDir(work_dir), "/resources.info");
}

absl::StatusOr<Resources> LoadCheckpointedResources(
    const std::string& work_dir) {
  std::string path = CheckpointedResourcesPath(work_dir);
  absl::StatusOr<std::string> data = ReadFile(path);
  if (absl::IsNotFound(data.status())) {
    path = LegacyResourcesPath(work_dir);
    data = ReadFile(path);
  }
  if (absl::IsNotFound(data.status())) return Resources();
  if (!data.ok()) return Unavailable(data.status());
  internal::CheckpointResources checkpoint;
  if (!checkpoint.ParseFromString(*data)) {
    return absl::DataLossError(absl::StrCat("cannot parse ", path));
  }
  absl::StatusOr<Resources> resources = FromProto(checkpoint.resources());
  if (!resources.ok()) {
    return absl::DataLossError(
        absl::StrCat(path, ": ", resources.status().message()));
  }
  return resources->AllocatedTo("");
}

absl::Status StoreCheckpointedResources(const std::string& work_dir,
                                        const Resources& resources) {
  absl::Status st = CreateDirectories(ResourcesDir(work_dir));
  if (!st.ok()) return Unavailable(st);
  internal::CheckpointResources checkpoint;
  *checkpoint.mutable_resources() = ToProto(resources);
  st = WriteFileAtomically(CheckpointedResourcesPath(work_dir),
                           checkpoint.SerializeAsString());
  return st.ok() ? st : Unavailable(st);
}

absl::Status Agent::RecoverCheckpointedResources() {
  absl::StatusOr<Resources> checkpointed =
      LoadCheckpointedResources(options_.work_dir);
  if (!checkpointed.ok()) return checkpointed.status();
  absl::StatusOr<Resources> total =
      ApplyCheckpointedResources(options_.resources, *checkpointed);
  if (!total.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpointed resources in ",
        CheckpointedResourcesPath(options_.work_dir),
        " are incompatible with --resources: ", total.status().message()));
  }
  checkpointed_ = *std::move(checkpointed);
  total_ = *std::move(total);
  if (!checkpointed_.empty()) {
    LOG(INFO) << "Recovered checkpointed resources " << checkpointed_;
  }
  return absl::OkStatus();
}

void Agent::OnCheckpointResources(
    const internal::CheckpointResources& message) {
  absl::StatusOr<Resources> checkpointed = FromProto(message.resources());
  absl::StatusOr<Resources> total =
      checkpointed.ok() ? ApplyCheckpointedResources(
                              options_.resources, checkpointed->AllocatedTo(""))
                        : checkpointed.status();
  if (!total.ok()) {
    LOG(ERROR) << "Ignoring checkpointed resources from the master: "
               << total.status();
    return;
  }
  Resources next = checkpointed->AllocatedTo("");
  if (absl::Status s = StoreCheckpointedResources(options_.work_dir, next);
      !s.ok()) {
    // Not durable: keep the old checkpoint; the master learns the agent's
    // resources again when it reregisters.
    LOG(ERROR) << "Could not checkpoint resources " << next << ": " << s;
    return;
  }
  checkpointed_ = std::move(next);
  total_ = *std::move(total);
  LOG(INFO) << "Checkpointed resources " << checkpointed_ << "; total now "
            << total_;
}

}  // namespace agora
