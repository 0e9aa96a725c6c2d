// PosixLauncher: the Launcher with plain POSIX processes and no resource
// isolation: fork, a new session, exec; exit statuses through a
// ChildReaper; kills by walking the process tree in /proc.
//
// Thread rule: thread-safe (see launcher.h).
#ifndef AGORA_ISOLATION_POSIX_LAUNCHER_H_
#define AGORA_ISOLATION_POSIX_LAUNCHER_H_

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "isolation/child_reaper.h"
#include "isolation/launcher.h"

namespace agora {

class PosixLauncher : public Launcher {
 public:
  struct Options {
    // false: never try clone3 (tests of the cgroup.procs fallback).
    bool use_clone3 = true;
  };
  PosixLauncher() = default;
  explicit PosixLauncher(Options options) : options_(options) {}

  absl::StatusOr<pid_t> Launch(const LaunchSpec& spec,
                               ExitCallback on_exit) override;
  absl::Status Kill(pid_t pid, int signal) override;

 private:
  Options options_;
  ChildReaper reaper_;
};

// The pids of every live descendant of `pid` (children, grandchildren, ...),
// read from /proc. Empty when `pid` has none or does not exist.
std::vector<pid_t> ProcessDescendants(pid_t pid);

// Usage of a process tree (the pid and its descendants) from /proc, for
// posix/cpu and posix/mem: CPU times, resident memory, process and thread
// counts. NotFound when `pid` is gone.
struct ProcessTreeUsage {
  double user_secs = 0;
  double system_secs = 0;
  uint64_t rss_bytes = 0;
  uint32_t processes = 0;
  uint32_t threads = 0;
};
absl::StatusOr<ProcessTreeUsage> ReadProcessTreeUsage(pid_t pid);

// `program` resolved against `path` (a colon-separated PATH) when it holds
// no '/': the first executable match, or NotFound.
absl::StatusOr<std::string> ResolveProgram(const std::string& program,
                                           const std::string& path);

}  // namespace agora

#endif  // AGORA_ISOLATION_POSIX_LAUNCHER_H_
