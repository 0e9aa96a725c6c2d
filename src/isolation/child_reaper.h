// ChildReaper: collects the exit status of chosen child processes on one
// background thread (poll(2) over a pidfd per child) and reports it.
//
// Only the watched pids are waited for (never waitpid(-1)), so other code
// in the same process may fork and wait for its own children undisturbed.
// A child that exits before Watch() stays a zombie until watched, so there
// is no race between launch and Watch().
//
// Thread rule: Watch() is thread-safe. Callbacks run on the reaper thread,
// one at a time, and must only post to an event loop.
#ifndef AGORA_ISOLATION_CHILD_REAPER_H_
#define AGORA_ISOLATION_CHILD_REAPER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"

namespace agora {

class ChildReaper {
 public:
  // `pid` and its wait(2) status; -1 when the status could not be read
  // (someone else reaped the child).
  using Callback = std::function<void(pid_t pid, int wait_status)>;

  ChildReaper();   // Starts the thread.
  ~ChildReaper();  // Stops and joins it; pending callbacks never run.

  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

  // Calls `cb` once when child `pid` of this process has exited.
  void Watch(pid_t pid, Callback cb);

  // Calls `cb` once, with status -1, when `pid` (not a child of this
  // process) has exited. False, and `cb` never runs, when `pid` is gone or
  // names a process whose start time is not `start_time` (pid reuse). The
  // pid is pinned (pidfd) before its start time is checked, so the check
  // cannot race with a reuse.
  bool WatchAdopted(pid_t pid, uint64_t start_time, Callback cb);

  // How many children are watched and not yet reaped.
  size_t WatchedCount() const;

 private:
  struct Entry {
    int pidfd = -1;  // -1: pidfd_open unavailable; polled every 100 ms.
    Callback cb;
    // Not our child: its exit is seen through the pidfd (or its start time
    // when polling), never waitpid.
    bool adopted = false;
    uint64_t start_time = 0;
  };

  void ThreadMain();
  // Reaps every watched child that has exited, and reports the adopted
  // processes whose pidfd is in `readable` or that are gone; runs their
  // callbacks.
  void ReapExited(const std::set<pid_t>& readable);
  void Wake();

  mutable std::mutex mu_;
  std::map<pid_t, Entry> watched_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int wake_fd_ = -1;  // eventfd that interrupts poll() on Watch/stop.
  std::thread thread_;
};

}  // namespace agora

#endif  // AGORA_ISOLATION_CHILD_REAPER_H_
