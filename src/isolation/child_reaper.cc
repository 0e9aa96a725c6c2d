#include "isolation/child_reaper.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "common/proc_stat.h"
#include "glog/logging.h"

namespace agora {
namespace {

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace

ChildReaper::ChildReaper() {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  PCHECK(wake_fd_ >= 0) << "eventfd for the child reaper";
  thread_ = std::thread([this] { ThreadMain(); });
}

ChildReaper::~ChildReaper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  Wake();
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [pid, entry] : watched_) {
    if (entry.pidfd >= 0) close(entry.pidfd);
  }
  close(wake_fd_);
}

void ChildReaper::Watch(pid_t pid, Callback cb) {
  Entry entry;
  entry.pidfd = PidfdOpen(pid);
  if (entry.pidfd < 0) {
    // Old kernels lack pidfd_open; the thread then polls with waitpid.
    VLOG(1) << "pidfd_open(" << pid << ") failed (" << errno
            << "); polling for its exit";
  }
  entry.cb = std::move(cb);
  {
    std::lock_guard<std::mutex> lock(mu_);
    watched_[pid] = std::move(entry);
  }
  Wake();
}

bool ChildReaper::WatchAdopted(pid_t pid, uint64_t start_time, Callback cb) {
  Entry entry;
  entry.adopted = true;
  entry.start_time = start_time;
  entry.pidfd = PidfdOpen(pid);
  if (entry.pidfd < 0 && errno != ENOSYS) return false;  // Gone.
  if (ProcessStartTime(pid) != start_time) {
    if (entry.pidfd >= 0) close(entry.pidfd);
    return false;
  }
  entry.cb = std::move(cb);
  {
    std::lock_guard<std::mutex> lock(mu_);
    watched_[pid] = std::move(entry);
  }
  Wake();
  return true;
}

size_t ChildReaper::WatchedCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watched_.size();
}

void ChildReaper::Wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof(one));
  (void)n;  // A full counter already guarantees a wake-up.
}

void ChildReaper::ThreadMain() {
  while (true) {
    std::vector<pollfd> fds;
    std::vector<pid_t> pids = {0};
    fds.push_back({wake_fd_, POLLIN, 0});
    bool polling = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      for (const auto& [pid, entry] : watched_) {
        if (entry.pidfd >= 0) {
          fds.push_back({entry.pidfd, POLLIN, 0});
          pids.push_back(pid);
        } else {
          polling = true;
        }
      }
    }
    int rc = poll(fds.data(), fds.size(), polling ? 100 : -1);
    if (rc < 0 && errno != EINTR) PLOG(ERROR) << "child reaper poll";
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      ssize_t n = read(wake_fd_, &count, sizeof(count));
      (void)n;
    }
    std::set<pid_t> readable;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents != 0) readable.insert(pids[i]);
    }
    ReapExited(readable);
  }
}

void ChildReaper::ReapExited(const std::set<pid_t>& readable) {
  std::vector<std::pair<pid_t, int>> exited;
  std::vector<Callback> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = watched_.begin(); it != watched_.end();) {
      if (it->second.adopted) {
        bool gone = it->second.pidfd >= 0
                        ? readable.count(it->first) > 0
                        : ProcessStartTime(it->first) != it->second.start_time;
        if (!gone) {
          ++it;
          continue;
        }
        if (it->second.pidfd >= 0) close(it->second.pidfd);
        exited.emplace_back(it->first, -1);
        callbacks.push_back(std::move(it->second.cb));
        it = watched_.erase(it);
        continue;
      }
      int status = 0;
      pid_t r = waitpid(it->first, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) {
        ++it;
        continue;
      }
      if (r < 0) {
        PLOG(ERROR) << "waitpid(" << it->first << ")";
        status = -1;
      }
      if (it->second.pidfd >= 0) close(it->second.pidfd);
      exited.emplace_back(it->first, status);
      callbacks.push_back(std::move(it->second.cb));
      it = watched_.erase(it);
    }
  }
  for (size_t i = 0; i < exited.size(); ++i) {
    callbacks[i](exited[i].first, exited[i].second);
  }
}

}  // namespace agora
