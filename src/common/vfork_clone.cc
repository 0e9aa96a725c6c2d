#include "common/vfork_clone.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace agora {
namespace {

// The child's stack. It only runs the set-up before exec, a few system
// calls (execvp may put a copy of argv on it): 256 KiB, of which only the
// pages used are ever touched. A guard page below turns an overflow into
// a fault instead of a write into the parent's memory.
constexpr size_t kStackSize = 256 * 1024;
constexpr size_t kGuardSize = 4096;

#if defined(__x86_64__) && defined(SYS_clone3)
// clone3 with the child switching to the stack in `args` (the kernel sets
// its stack pointer to stack + stack_size) and calling fn(arg) there; the
// parent returns the raw result. No C++ frame of the parent is ever
// returned into by the child, which is what makes sharing the memory safe.
long RawClone3Run(CloneArgs* args, void (*fn)(void*), void* arg) {
  long ret;
  register void (*fn_reg)(void*) asm("r12") = fn;
  register void* arg_reg asm("r13") = arg;
  asm volatile(
      "syscall\n\t"
      "testq %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      // Child: a fresh, 16-byte aligned stack; no frame to unwind into.
      "xorl %%ebp, %%ebp\n\t"
      "movq %%r13, %%rdi\n\t"
      "callq *%%r12\n\t"
      "movl $127, %%edi\n\t"
      "movl %[exit_nr], %%eax\n\t"
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(static_cast<long>(SYS_clone3)), "D"(args), "S"(sizeof(*args)),
        "r"(fn_reg), "r"(arg_reg), [exit_nr] "i"(SYS_exit)
      : "rcx", "r11", "memory");
  return ret;
}
#endif

}  // namespace

pid_t VforkClone(uint64_t flags, int cgroup_fd, void (*fn)(void*), void* arg) {
#if defined(__x86_64__) && defined(SYS_clone3)
  void* map = mmap(nullptr, kStackSize + kGuardSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (map == MAP_FAILED) return -ENOMEM;
  if (mprotect(map, kGuardSize, PROT_NONE) != 0) {
    munmap(map, kStackSize + kGuardSize);
    return -ENOMEM;
  }
  CloneArgs args;
  memset(&args, 0, sizeof(args));
  args.flags = flags | CLONE_VM | CLONE_VFORK;
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<uint64_t>(map) + kGuardSize;
  args.stack_size = kStackSize;
  if (flags & kCloneIntoCgroup) args.cgroup = static_cast<uint64_t>(cgroup_fd);
  long ret = RawClone3Run(&args, fn, arg);
  // CLONE_VFORK: the child has exec'd or exited, its stack is free.
  munmap(map, kStackSize + kGuardSize);
  return static_cast<pid_t>(ret);
#else
  (void)flags;
  (void)cgroup_fd;
  (void)fn;
  (void)arg;
  return -ENOSYS;
#endif
}

}  // namespace agora
