// PosixLauncher: the Launcher with plain POSIX processes and no resource
// isolation: fork, a new session, exec; exit statuses through a
// ChildReaper; kills by walking the process tree in /proc.
//
// Thread rule: thread-safe (see launcher.h).
#ifndef AGORA_ISOLATION_POSIX_LAUNCHER_H_
#define AGORA_ISOLATION_POSIX_LAUNCHER_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <vector>

#include "isolation/child_reaper.h"
#include "isolation/launcher.h"
#include "isolation/proc_table.h"

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
  absl::Status Adopt(pid_t pid, uint64_t start_time,
                     ExitCallback on_exit) override;
  absl::Status Kill(pid_t pid, int signal) override;
  int KillMany(const std::vector<pid_t>& pids, int signal) override;

 private:
  absl::Status KillInTable(const std::map<pid_t, ProcEntry>& table, pid_t pid,
                           int signal);

  Options options_;
  ChildReaper reaper_;
};

// `program` resolved against `path` (a colon-separated PATH) when it holds
// no '/': the first executable match, or NotFound.
absl::StatusOr<std::string> ResolveProgram(const std::string& program,
                                           const std::string& path);

}  // namespace agora

#endif  // AGORA_ISOLATION_POSIX_LAUNCHER_H_
