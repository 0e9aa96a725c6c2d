#include "common/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/vfork_clone.h"

namespace agora {

pid_t StartChildProcess(uint64_t flags, int cgroup_fd, bool use_vfork,
                        void (*fn)(void*), void* arg,
                        const std::function<int()>& on_fallback) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = -ENOSYS;
  if (use_vfork) pid = VforkClone(flags, cgroup_fd, fn, arg);
  if (pid == -ENOSYS || pid == -E2BIG || pid == -EINVAL) {
    // No clone3 (or no CLONE_INTO_CGROUP, kernels before 5.7): copy.
    int prepared = on_fallback ? on_fallback() : 0;
    if (prepared < 0) {
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      return prepared;
    }
    pid = static_cast<pid_t>(syscall(SYS_clone,
                                     SIGCHLD | (flags & ~kCloneIntoCgroup),
                                     nullptr, nullptr, nullptr, 0));
    if (pid == 0) {
      fn(arg);
      _exit(127);
    }
    if (pid < 0) pid = -errno;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return pid;
}

void ResetSignalsInChild() {
  // The parent blocked every signal around the clone, so none of its
  // handlers can run here (in a child that may share its memory) before
  // they are all reset.
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

void CloseOnExecFrom3InChild(int keep) {
#ifdef SYS_close_range
  // CLOSE_RANGE_CLOEXEC = 4. `keep` (the report pipe) is close-on-exec
  // already, as it must close when the program runs.
  if (syscall(SYS_close_range, 3U, ~0U, 4U) == 0) return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = 3; fd < max; ++fd) {
    if (fd != keep) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
}

void FailInChild(int report, int step) {
  ChildFailure f{step, errno};
  ssize_t n = write(report, &f, sizeof(f));
  (void)n;
  _exit(127);
}

std::optional<ChildFailure> ReadChildFailure(int report_read) {
  ChildFailure failure;
  ssize_t n;
  do {
    n = read(report_read, &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(failure))) return failure;
  return std::nullopt;
}

}  // namespace agora
