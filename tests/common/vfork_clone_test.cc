#include "common/vfork_clone.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace agora {
namespace {

struct Shared {
  pid_t pid_seen = 0;
  int written = 0;
  const char* program = nullptr;
};

void WriteAndExit(void* p) {
  Shared* shared = static_cast<Shared*>(p);
  shared->pid_seen = static_cast<pid_t>(getpid());
  shared->written = 42;
  _exit(7);
}

void ExecTrue(void* p) {
  Shared* shared = static_cast<Shared*>(p);
  char* const argv[] = {const_cast<char*>("true"), nullptr};
  char* const envp[] = {nullptr};
  execve(shared->program, argv, envp);
  shared->written = errno;  // Only reached when exec failed.
  _exit(127);
}

void ReturnWithoutExiting(void*) {}

int WaitExitCode(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The child runs in the caller's memory (CLONE_VM): what it writes is
// what the parent reads afterwards, and the parent only resumes once the
// child is gone (CLONE_VFORK). A fork would leave `written` at 0.
TEST(VforkCloneTest, ChildSharesMemoryAndParentWaitsForIt) {
  Shared shared;
  pid_t pid = VforkClone(0, -1, &WriteAndExit, &shared);
  ASSERT_GT(pid, 0) << strerror(-pid);
  EXPECT_EQ(shared.written, 42);
  EXPECT_EQ(shared.pid_seen, pid);
  EXPECT_EQ(WaitExitCode(pid), 7);
}

TEST(VforkCloneTest, ExecsAProgramAndTheCallerCarriesOn) {
  Shared shared;
  shared.program = "/bin/true";
  std::string before = "state of the caller's frame";
  for (int i = 0; i < 20; ++i) {
    pid_t pid = VforkClone(0, -1, &ExecTrue, &shared);
    ASSERT_GT(pid, 0) << strerror(-pid);
    EXPECT_EQ(WaitExitCode(pid), 0);
  }
  EXPECT_EQ(shared.written, 0);
  EXPECT_EQ(before, "state of the caller's frame");
}

TEST(VforkCloneTest, AFailedExecIsSeenByTheParent) {
  Shared shared;
  shared.program = "/nonexistent/agora-program";
  pid_t pid = VforkClone(0, -1, &ExecTrue, &shared);
  ASSERT_GT(pid, 0) << strerror(-pid);
  EXPECT_EQ(shared.written, ENOENT);
  EXPECT_EQ(WaitExitCode(pid), 127);
}

TEST(VforkCloneTest, AFunctionThatReturnsEndsTheChildWith127) {
  pid_t pid = VforkClone(0, -1, &ReturnWithoutExiting, nullptr);
  ASSERT_GT(pid, 0) << strerror(-pid);
  EXPECT_EQ(WaitExitCode(pid), 127);
}

TEST(VforkCloneTest, InvalidFlagsAreAnErrorNotACrash) {
  // CLONE_THREAD without CLONE_SIGHAND is refused by the kernel.
  pid_t pid =
      VforkClone(0x00010000 /* CLONE_THREAD */, -1, &WriteAndExit, nullptr);
  EXPECT_LT(pid, 0);
}

}  // namespace
}  // namespace agora
