#include "isolation/proc_table.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/proc_stat.h"

namespace agora {

// Every process's parent, group and session, from /proc/<pid>/stat
// (ReadProcStatAt: one read(2) per file, since this runs when a container
// is destroyed).
std::map<pid_t, ProcEntry> ReadProcessTable() {
  std::map<pid_t, ProcEntry> table;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return table;
  while (struct dirent* d = readdir(dir)) {
    int pid;
    if (d->d_name[0] < '1' || d->d_name[0] > '9' ||
        !absl::SimpleAtoi(d->d_name, &pid)) {
      continue;
    }
    std::optional<ProcStat> stat = ReadProcStatAt(dirfd(dir), d->d_name);
    if (!stat) continue;  // The process just exited.
    table.emplace_hint(table.end(), pid,
                       ProcEntry{stat->ppid, stat->pgrp, stat->session});
  }
  closedir(dir);
  return table;
}

std::vector<pid_t> Descendants(const std::map<pid_t, ProcEntry>& table,
                               pid_t root) {
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, e] : table) children.emplace(e.ppid, pid);
  std::vector<pid_t> out;
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    auto [begin, end] = children.equal_range(p);
    for (auto it = begin; it != end; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return out;
}

absl::StatusOr<ProcessTreeUsage> ReadProcessTreeUsage(pid_t pid) {
  std::vector<pid_t> pids = ProcessDescendants(pid);
  pids.insert(pids.begin(), pid);
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  ProcessTreeUsage usage;
  int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0) return absl::ErrnoToStatus(errno, "failed to open /proc");
  for (pid_t p : pids) {
    std::string name = absl::StrCat(p);
    std::optional<ProcStat> stat = ReadProcStatAt(proc, name.c_str());
    if (!stat) {
      if (p == pid) {
        close(proc);
        return absl::NotFoundError(absl::StrCat("process ", pid, " is gone"));
      }
      continue;
    }
    usage.user_secs += static_cast<double>(stat->utime_ticks) / ticks;
    usage.system_secs += static_cast<double>(stat->stime_ticks) / ticks;
    usage.rss_bytes += stat->rss_pages * page;
    usage.processes += 1;
    usage.threads += static_cast<uint32_t>(stat->num_threads);
  }
  close(proc);
  return usage;
}

std::vector<pid_t> ProcessDescendants(pid_t pid) {
  return Descendants(ReadProcessTable(), pid);
}

}  // namespace agora
