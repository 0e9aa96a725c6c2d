// ProcStat: a process's /proc/<pid>/stat, parsed in one place for every
// reader: the posix launcher's process table and usage without cgroups,
// the command executor's kill of its task's process tree, and the agent's
// check that a checkpointed pid still names the process it launched (the
// start time tells it from a later process that reuses the number). Also
// the host's boot id, which tells the agent that its checkpointed processes
// died with a reboot.
//
// Thread rule: plain functions, any thread.
#ifndef AGORA_COMMON_PROC_STAT_H_
#define AGORA_COMMON_PROC_STAT_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agora {

// The fields of proc(5) the project uses (1-based numbers of proc(5)).
struct ProcStat {
  char state = '?';               // 3: R, S, D, Z, T, ...
  pid_t ppid = 0;                 // 4
  pid_t pgrp = 0;                 // 5
  pid_t session = 0;              // 6
  uint64_t utime_ticks = 0;       // 14
  uint64_t stime_ticks = 0;       // 15
  uint64_t num_threads = 0;       // 20
  uint64_t start_time_ticks = 0;  // 22: clock ticks after boot
  uint64_t rss_pages = 0;         // 24
};

// Parses one stat line ("pid (comm) state ppid ..."; comm may hold spaces
// and parentheses). False when it is malformed.
bool ParseProcStat(absl::string_view line, ProcStat* stat);

// Reads /proc/<name>/stat relative to `proc_fd` (an open /proc directory;
// -1 opens the absolute path) with one read(2) into a stack buffer.
// nullopt when the process is gone or the line does not parse.
std::optional<ProcStat> ReadProcStatAt(int proc_fd, const char* name);
std::optional<ProcStat> ReadProcStat(pid_t pid);

// The start time of live process `pid` (not a zombie), or nullopt.
std::optional<uint64_t> ProcessStartTime(pid_t pid);

// /proc/sys/kernel/random/boot_id without its newline; it changes with
// every boot of the host.
absl::StatusOr<std::string> ReadBootId();

}  // namespace agora

#endif  // AGORA_COMMON_PROC_STAT_H_
