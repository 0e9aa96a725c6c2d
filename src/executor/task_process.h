// TaskProcess: the command executor's one child, the task's command, run in
// its own process group (within the executor's session). A signal goes to
// the whole process tree, as Mesos's killtree does: the group, and every
// descendant found through /proc (also one that moved to another group or
// session) with its group; descendants seen once are remembered, so a
// SIGKILL still reaches those orphaned when their parent died.
//
// Thread rule: Start() and Signal() from the executor's loop; the exit
// callback runs on a waiter thread and must only post to the loop.
#ifndef AGORA_EXECUTOR_TASK_PROCESS_H_
#define AGORA_EXECUTOR_TASK_PROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace agora {

struct TaskCommand {
  // With shell: /bin/sh -c `value`. Without: execvp(value, argv) with
  // argv = `arguments` (or {value} when empty), searched in the executor's
  // PATH.
  bool shell = true;
  std::string value;
  std::vector<std::string> arguments;
  std::map<std::string, std::string> env;  // Exact.
  std::string cwd;
};

class TaskProcess {
 public:
  using ExitCallback = std::function<void(int wait_status)>;

  TaskProcess() = default;
  ~TaskProcess();  // Joins the waiter (the child must have been killed).

  TaskProcess(const TaskProcess&) = delete;
  TaskProcess& operator=(const TaskProcess&) = delete;

  // Forks and execs `command`; returns its pid once exec succeeded, or the
  // failure with errno text ("failed to execute 'x': No such file or
  // directory"). `on_exit` runs once, on the waiter thread.
  absl::StatusOr<pid_t> Start(const TaskCommand& command, ExitCallback on_exit);

  // Sends `signal` to the task's process tree (see above). False if the
  // task's process group is gone.
  bool Signal(int signal);

  pid_t pid() const { return pid_; }

 private:
  // Remembers every current descendant of `pid_`.
  void CollectDescendants();

  pid_t pid_ = 0;
  // Set by the waiter once `pid_` is reaped: from then on no process has
  // it as parent (its children went to init or a subreaper, and the number
  // may belong to an unrelated new process), so /proc is not scanned.
  std::atomic<bool> reaped_{false};
  std::thread waiter_;
  // pid -> start time (ProcStat::start_time_ticks), which tells a
  // remembered pid from a later process that reuses it.
  std::map<pid_t, uint64_t> descendants_;
};

}  // namespace agora

#endif  // AGORA_EXECUTOR_TASK_PROCESS_H_
