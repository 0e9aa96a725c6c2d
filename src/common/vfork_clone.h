// VforkClone: starts a child process the way posix_spawn does, without
// copying the caller's address space: clone3 with CLONE_VM | CLONE_VFORK,
// the child running a function on a stack of its own while the calling
// thread waits until the child has exec'd or exited. For a large,
// multi-threaded parent such as the agent this skips the page-table copy
// of fork and its teardown at exec, and the copy-on-write faults that
// fork leaves the parent's other threads.
//
// Thread rule: any thread. The child shares the caller's memory: `fn` may
// only make async-signal-safe calls, must not return into the caller's
// frames, and must end in exec or _exit. The caller must block all
// signals around the call (the child inherits that mask and resets the
// handlers before unblocking them).
#ifndef AGORA_COMMON_VFORK_CLONE_H_
#define AGORA_COMMON_VFORK_CLONE_H_

#include <sys/types.h>

#include <cstdint>

namespace agora {

// struct clone_args of <linux/sched.h> (version 2, 88 bytes), spelled out
// here because that header clashes with glibc's <sched.h>.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;

// clone3(`flags` | CLONE_VM | CLONE_VFORK, exit signal SIGCHLD, born in
// the cgroup whose directory is open as `cgroup_fd` when `flags` holds
// kCloneIntoCgroup); the child runs `fn(arg)` and exits with 127 should
// `fn` return. Returns the child's pid once it has exec'd or exited, or
// -errno: -ENOSYS where the kernel has no clone3 or this architecture has
// no trampoline (the caller falls back to a plain fork), -ENOMEM when no
// stack could be mapped, else clone3's own error.
pid_t VforkClone(uint64_t flags, int cgroup_fd, void (*fn)(void*), void* arg);

}  // namespace agora

#endif  // AGORA_COMMON_VFORK_CLONE_H_
