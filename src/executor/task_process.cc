#include "executor/task_process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/child_process.h"
#include "common/proc_stat.h"

namespace agora {
namespace {

// Steps the child reports (ChildFailure::step).
enum Step : int { kChdir = 0, kExec = 1 };

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child, which shares the executor's memory until exec
// (VforkClone) or has a copy of it (fork): async-signal-safe calls only.
[[noreturn]] void RunChild(bool shell, const char* program, char* const* argv,
                           char* const* envp, const char* cwd, int report,
                           pid_t executor) {
  // Every signal is blocked (by the parent, around the clone) until the
  // handlers, which must not run in a child sharing the parent's memory,
  // are back to their defaults.
  ResetSignalsInChild();
  // Its own process group, so a kill reaches everything it starts; it stays
  // in the executor's session, which is how the agent finds whatever is
  // left of the container when the executor dies.
  setpgid(0, 0);
  // Without cgroups, a task whose executor dies would live on unobserved;
  // at least its first process goes with the executor.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != executor) _exit(137);
  if (cwd[0] != '\0' && chdir(cwd) < 0) FailInChild(report, kChdir);
  CloseOnExecFrom3InChild(report);
  if (shell) {
    execve(program, argv, envp);
  } else {
    execvpe(program, argv, envp);
  }
  FailInChild(report, kExec);
}

struct ChildArgs {
  bool shell;
  const char* program;
  char* const* argv;
  char* const* envp;
  const char* cwd;
  int report;
  pid_t executor;
};

void RunChildEntry(void* p) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(p);
  RunChild(a.shell, a.program, a.argv, a.envp, a.cwd, a.report, a.executor);
}

}  // namespace

TaskProcess::~TaskProcess() {
  if (waiter_.joinable()) waiter_.join();
}

absl::StatusOr<pid_t> TaskProcess::Start(const TaskCommand& command,
                                         ExitCallback on_exit) {
  std::vector<std::string> argv = command.arguments;
  std::string program = command.value;
  if (command.shell) {
    program = "/bin/sh";
    argv = {"sh", "-c", command.value};
  } else if (argv.empty()) {
    argv = {command.value};
  }
  std::vector<std::string> env;
  for (const auto& [name, value] : command.env) {
    env.push_back(absl::StrCat(name, "=", value));
  }
  std::vector<char*> argv_ptrs = Pointers(argv), env_ptrs = Pointers(env);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    return absl::ErrnoToStatus(errno, "failed to create a pipe");
  }
  ChildArgs child{command.shell,   program.c_str(),     argv_ptrs.data(),
                  env_ptrs.data(), command.cwd.c_str(), fds[1],
                  getpid()};
  // Without copying the executor's memory where the kernel allows.
  pid_t pid =
      StartChildProcess(0, -1, /*use_vfork=*/true, &RunChildEntry, &child);
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::ErrnoToStatus(-pid, "failed to start the task's process");
  }
  close(fds[1]);
  std::optional<ChildFailure> failure = ReadChildFailure(fds[0]);
  close(fds[0]);
  if (failure) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return absl::ErrnoToStatus(
        failure->error,
        failure->step == kChdir
            ? absl::StrCat("failed to change directory to '", command.cwd, "'")
            : absl::StrCat("failed to execute '", program, "'"));
  }
  pid_ = pid;
  waiter_ = std::thread([this, pid, on_exit = std::move(on_exit)] {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) {
        status = -1;
        break;
      }
    }
    reaped_ = true;
    on_exit(status);
  });
  return pid;
}

void TaskProcess::CollectDescendants() {
  std::map<pid_t, std::vector<pid_t>> children;
  std::map<pid_t, uint64_t> starts;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return;
  while (struct dirent* entry = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    std::optional<ProcStat> stat = ReadProcStatAt(dirfd(proc), entry->d_name);
    if (!stat || stat->state == 'Z') continue;
    children[stat->ppid].push_back(pid);
    starts[pid] = stat->start_time_ticks;
  }
  closedir(proc);
  std::vector<pid_t> todo = {pid_};
  while (!todo.empty()) {
    pid_t parent = todo.back();
    todo.pop_back();
    for (pid_t child : children[parent]) {
      descendants_[child] = starts[child];
      todo.push_back(child);
    }
  }
}

bool TaskProcess::Signal(int signal) {
  if (pid_ <= 0) return false;
  // Descendants remembered before the reap are still signalled below.
  if (!reaped_) CollectDescendants();
  bool group = kill(-pid_, signal) == 0;
  const pid_t self = getpid(), own_group = getpgrp();
  for (const auto& [pid, start] : descendants_) {
    std::optional<ProcStat> stat = ReadProcStat(pid);
    if (pid == self || !stat || stat->state == 'Z' ||
        stat->start_time_ticks != start) {
      continue;
    }
    kill(pid, signal);
    if (stat->pgrp != pid_ && stat->pgrp != own_group && stat->pgrp > 1) {
      kill(-stat->pgrp, signal);
    }
  }
  return group;
}

}  // namespace agora
