// The agent's checkpointed resources: the file, and the agent's handling of
// the master's CheckpointResources.
#include "agent/agent_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "agent/agent.h"
#include "agora/internal/agent_link.pb.h"
#include "common/checkpointed_resources.h"
#include "common/resources_proto.h"
#include "glog/logging.h"

namespace agora {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat("cannot ", what, " ", path, ": ", strerror(errno)));
}

absl::Status MakeDirs(const std::string& path) {
  std::string partial;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      partial = path.substr(0, i);
      if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoError("create directory", partial);
      }
    }
  }
  return absl::OkStatus();
}

std::string MetaDir(const std::string& work_dir) {
  return absl::StrCat(work_dir, "/meta/resources");
}

}  // namespace

std::string CheckpointedResourcesPath(const std::string& work_dir) {
  return absl::StrCat(MetaDir(work_dir), "/checkpointed_resources");
}

absl::StatusOr<Resources> LoadCheckpointedResources(
    const std::string& work_dir) {
  const std::string path = CheckpointedResourcesPath(work_dir);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Resources();
    return ErrnoError("stat", path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("read", path);
  std::stringstream data;
  data << in.rdbuf();
  internal::CheckpointResources checkpoint;
  if (!checkpoint.ParseFromString(data.str())) {
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
  const std::string dir = MetaDir(work_dir);
  if (absl::Status s = MakeDirs(dir); !s.ok()) return s;
  const std::string path = CheckpointedResourcesPath(work_dir);
  const std::string tmp = path + ".tmp";
  internal::CheckpointResources checkpoint;
  *checkpoint.mutable_resources() = ToProto(resources);
  const std::string data = checkpoint.SerializeAsString();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create", tmp);
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status status = ErrnoError("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return status;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status status = ErrnoError("fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return status;
  }
  if (::close(fd) != 0) return ErrnoError("close", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status status = ErrnoError("rename into", path);
    ::unlink(tmp.c_str());
    return status;
  }
  int dirfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd >= 0) {
    ::fsync(dirfd);
    ::close(dirfd);
  }
  return absl::OkStatus();
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
