// PosixLauncher: the Launcher with plain POSIX processes and no resource
// isolation: fork, a new session, exec; exit statuses through a
// ChildReaper; kills by walking the process tree in /proc.
//
// Thread rule: thread-safe (see launcher.h).
#ifndef AGORA_ISOLATION_POSIX_LAUNCHER_H_
#define AGORA_ISOLATION_POSIX_LAUNCHER_H_

#include <sys/types.h>

#include <vector>

#include "isolation/child_reaper.h"
#include "isolation/launcher.h"

namespace agora {

class PosixLauncher : public Launcher {
 public:
  PosixLauncher() = default;

  absl::StatusOr<pid_t> Launch(const LaunchSpec& spec,
                               ExitCallback on_exit) override;
  absl::Status Kill(pid_t pid, int signal) override;

 private:
  ChildReaper reaper_;
};

// The pids of every live descendant of `pid` (children, grandchildren, ...),
// read from /proc. Empty when `pid` has none or does not exist.
std::vector<pid_t> ProcessDescendants(pid_t pid);

// `program` resolved against `path` (a colon-separated PATH) when it holds
// no '/': the first executable match, or NotFound.
absl::StatusOr<std::string> ResolveProgram(const std::string& program,
                                           const std::string& path);

}  // namespace agora

#endif  // AGORA_ISOLATION_POSIX_LAUNCHER_H_
