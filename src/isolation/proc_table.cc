#include "isolation/proc_table.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace agora {
namespace {

// The fields of /proc/<name>/stat after "(comm) " (comm may hold spaces
// and ')'), read with `proc` an open /proc directory. False when the
// process is gone.
bool ReadStatFields(int proc, const char* name, char* buf, size_t size,
                    absl::string_view* fields) {
  char path[32];
  snprintf(path, sizeof(path), "%s/stat", name);
  int fd = openat(proc, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n;
  do {
    n = read(fd, buf, size - 1);
  } while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return false;
  absl::string_view line(buf, static_cast<size_t>(n));
  size_t close_paren = line.rfind(')');
  if (close_paren == absl::string_view::npos || close_paren + 2 > line.size()) {
    return false;
  }
  *fields = line.substr(close_paren + 2);
  return true;
}

}  // namespace

// Every process's parent, group and session, from /proc/<pid>/stat. Runs
// when a container is destroyed, so it reads each file with one read(2)
// into a buffer on the stack.
std::map<pid_t, ProcEntry> ReadProcessTable() {
  std::map<pid_t, ProcEntry> table;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return table;
  char buf[1024];
  while (struct dirent* d = readdir(dir)) {
    int pid;
    if (d->d_name[0] < '1' || d->d_name[0] > '9' ||
        !absl::SimpleAtoi(d->d_name, &pid)) {
      continue;
    }
    absl::string_view fields;
    if (!ReadStatFields(dirfd(dir), d->d_name, buf, sizeof(buf), &fields)) {
      continue;  // The process just exited.
    }
    // "state ppid pgrp session ..."
    std::vector<absl::string_view> f =
        absl::StrSplit(fields, absl::MaxSplits(' ', 4));
    ProcEntry e;
    if (f.size() < 4 || !absl::SimpleAtoi(f[1], &e.ppid) ||
        !absl::SimpleAtoi(f[2], &e.pgid) || !absl::SimpleAtoi(f[3], &e.sid)) {
      continue;
    }
    table.emplace_hint(table.end(), pid, e);
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
  char buf[1024];
  for (pid_t p : pids) {
    absl::string_view fields;
    std::string name = absl::StrCat(p);
    if (!ReadStatFields(proc, name.c_str(), buf, sizeof(buf), &fields)) {
      if (p == pid) {
        close(proc);
        return absl::NotFoundError(absl::StrCat("process ", pid, " is gone"));
      }
      continue;
    }
    // Fields after "(comm)": state is [0]; utime [11], stime [12],
    // num_threads [17], rss [21] (proc(5) numbers 14, 15, 20, 24).
    std::vector<absl::string_view> f =
        absl::StrSplit(fields, ' ', absl::SkipEmpty());
    uint64_t utime, stime, threads, rss;
    if (f.size() < 22 || !absl::SimpleAtoi(f[11], &utime) ||
        !absl::SimpleAtoi(f[12], &stime) ||
        !absl::SimpleAtoi(f[17], &threads) || !absl::SimpleAtoi(f[21], &rss)) {
      continue;
    }
    usage.user_secs += static_cast<double>(utime) / ticks;
    usage.system_secs += static_cast<double>(stime) / ticks;
    usage.rss_bytes += rss * page;
    usage.processes += 1;
    usage.threads += static_cast<uint32_t>(threads);
  }
  close(proc);
  return usage;
}

std::vector<pid_t> ProcessDescendants(pid_t pid) {
  return Descendants(ReadProcessTable(), pid);
}

}  // namespace agora
