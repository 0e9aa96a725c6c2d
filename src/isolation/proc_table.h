// ProcessTable: the processes as /proc shows them, for the posix launcher
// (what is left of a container whose executor is gone) and for usage
// without cgroups (posix/cpu, posix/mem). Each call reads /proc afresh;
// every /proc/<pid>/stat is read by common/proc_stat.h, with one read(2)
// into a buffer on the stack, since a walk runs at the end of each posix
// container.
//
// Thread rule: plain functions, any thread.
#ifndef AGORA_ISOLATION_PROC_TABLE_H_
#define AGORA_ISOLATION_PROC_TABLE_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/statusor.h"

namespace agora {

// A process's parent, process group and session.
struct ProcEntry {
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
};

// Every process of /proc by pid. Processes that exit during the walk are
// left out.
std::map<pid_t, ProcEntry> ReadProcessTable();

// The descendants of `root` in `table` (children, grandchildren, ...).
std::vector<pid_t> Descendants(const std::map<pid_t, ProcEntry>& table,
                               pid_t root);

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

}  // namespace agora

#endif  // AGORA_ISOLATION_PROC_TABLE_H_
