#include "common/proc_stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace agora {

bool ParseProcStat(absl::string_view line, ProcStat* stat) {
  size_t close_paren = line.rfind(')');
  if (close_paren == absl::string_view::npos || close_paren + 2 > line.size()) {
    return false;
  }
  absl::string_view rest = line.substr(close_paren + 2);
  // Field 3 (state) is the first token after "(comm) ".
  int field = 3;
  bool ok = true;
  while (!rest.empty() && field <= 24) {
    size_t space = rest.find(' ');
    absl::string_view token = rest.substr(0, space);
    rest = space == absl::string_view::npos ? absl::string_view()
                                            : rest.substr(space + 1);
    switch (field) {
      case 3:
        stat->state = token.empty() ? '?' : token[0];
        break;
      case 4:
        ok &= absl::SimpleAtoi(token, &stat->ppid);
        break;
      case 5:
        ok &= absl::SimpleAtoi(token, &stat->pgrp);
        break;
      case 6:
        ok &= absl::SimpleAtoi(token, &stat->session);
        break;
      case 14:
        ok &= absl::SimpleAtoi(token, &stat->utime_ticks);
        break;
      case 15:
        ok &= absl::SimpleAtoi(token, &stat->stime_ticks);
        break;
      case 20:
        ok &= absl::SimpleAtoi(token, &stat->num_threads);
        break;
      case 22:
        ok &= absl::SimpleAtoi(token, &stat->start_time_ticks);
        break;
      case 24:
        ok &= absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(token),
                               &stat->rss_pages);
        break;
      default:
        break;
    }
    ++field;
  }
  return ok && field > 24;
}

std::optional<ProcStat> ReadProcStatAt(int proc_fd, const char* name) {
  char path[48];
  snprintf(path, sizeof(path), proc_fd >= 0 ? "%s/stat" : "/proc/%s/stat",
           name);
  int fd =
      openat(proc_fd >= 0 ? proc_fd : AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof(buf) - 1);
  } while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return std::nullopt;
  ProcStat stat;
  if (!ParseProcStat(absl::string_view(buf, static_cast<size_t>(n)), &stat)) {
    return std::nullopt;
  }
  return stat;
}

std::optional<ProcStat> ReadProcStat(pid_t pid) {
  char name[24];
  snprintf(name, sizeof(name), "%d", static_cast<int>(pid));
  return ReadProcStatAt(-1, name);
}

std::optional<uint64_t> ProcessStartTime(pid_t pid) {
  std::optional<ProcStat> stat = ReadProcStat(pid);
  if (!stat || stat->state == 'Z' || stat->state == 'X') return std::nullopt;
  return stat->start_time_ticks;
}

absl::StatusOr<std::string> ReadBootId() {
  absl::StatusOr<std::string> id = ReadFile("/proc/sys/kernel/random/boot_id");
  if (!id.ok()) return id.status();
  return std::string(absl::StripAsciiWhitespace(*id));
}

}  // namespace agora
