// The part of starting a child process that the agent's launcher and the
// command executor share: the clone itself (VforkClone where the kernel
// has it, a plain clone otherwise, every signal blocked around it), the
// child's prelude before exec (signal handlers back to their defaults,
// descriptors closed on exec) and the report pipe through which a child
// that fails before exec tells its parent which step failed and why.
//
// Thread rule: the *InChild functions run in the child between clone and
// exec, where only async-signal-safe calls are allowed (the child may share
// its parent's memory); the others on any thread of the parent.
#ifndef AGORA_COMMON_CHILD_PROCESS_H_
#define AGORA_COMMON_CHILD_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>

namespace agora {

// What a child writes to its report pipe when a step before exec fails.
struct ChildFailure {
  int step;   // The caller's numbering of its steps.
  int error;  // errno of the failed call.
};

// Starts `fn(arg)` in a new process with every signal blocked around the
// clone (the child inherits that mask; ResetSignalsInChild undoes it).
// With `use_vfork` it tries VforkClone(`flags`, `cgroup_fd`) first; where
// that is unavailable, or without `use_vfork`, `on_fallback` runs in the
// parent (it may prepare what the copied child needs; a negative return is
// an -errno that aborts the start) and a plain clone(SIGCHLD | flags, minus
// kCloneIntoCgroup) copies the parent's memory. Returns the child's pid or
// -errno.
pid_t StartChildProcess(uint64_t flags, int cgroup_fd, bool use_vfork,
                        void (*fn)(void*), void* arg,
                        const std::function<int()>& on_fallback = nullptr);

// In the child: every signal's handler back to SIG_DFL (the parent may
// ignore some, as gRPC ignores SIGPIPE), then the signal mask emptied.
void ResetSignalsInChild();

// In the child: marks every descriptor from 3 up close-on-exec, except
// `keep` (close_range where the kernel has it, one fcntl per fd otherwise).
void CloseOnExecFrom3InChild(int keep);

// In the child: writes ChildFailure{step, errno} to `report` and _exit(127).
[[noreturn]] void FailInChild(int report, int step);

// In the parent, after closing its copy of the pipe's write end: the
// child's failure, or nullopt when the pipe closed without one (the child
// exec'd: the pipe is close-on-exec).
std::optional<ChildFailure> ReadChildFailure(int report_read);

}  // namespace agora

#endif  // AGORA_COMMON_CHILD_PROCESS_H_
