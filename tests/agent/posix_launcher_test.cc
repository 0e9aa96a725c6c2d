#include "isolation/posix_launcher.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isolation/child_reaper.h"

namespace agora {
namespace {

using ::testing::HasSubstr;

// Records one exit; Wait() returns its wait status.
class ExitRecorder {
 public:
  Launcher::ExitCallback Callback() {
    return [this](pid_t pid, int status) {
      std::lock_guard<std::mutex> lock(mu_);
      pid_ = pid;
      status_ = status;
      cv_.notify_all();
    };
  }
  std::optional<int> Wait(absl::Duration timeout = absl::Seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                 [this] { return status_.has_value(); });
    return status_;
  }
  pid_t pid() {
    std::lock_guard<std::mutex> lock(mu_);
    return pid_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  pid_t pid_ = 0;
  std::optional<int> status_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PosixLauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-launcher-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(system(cmd.c_str()), 0);
  }
  LaunchSpec Shell(const std::string& script) {
    LaunchSpec spec;
    spec.program = "/bin/sh";
    spec.argv = {"sh", "-c", script};
    spec.stdout_path = dir_ + "/stdout";
    spec.stderr_path = dir_ + "/stderr";
    return spec;
  }

  std::string dir_;
  PosixLauncher launcher_;
};

TEST_F(PosixLauncherTest, RunsWithExactEnvironmentCwdAndOutputFiles) {
  setenv("AGORA_LAUNCHER_TEST_LEAK", "leaked", 1);
  LaunchSpec spec = Shell(
      "echo \"foo=$FOO leak=$AGORA_LAUNCHER_TEST_LEAK\"; pwd; "
      "echo oops >&2; exit 0");
  spec.env = {{"FOO", "bar"}};
  spec.cwd = dir_;
  ExitRecorder exit;
  absl::StatusOr<pid_t> pid = launcher_.Launch(spec, exit.Callback());
  ASSERT_TRUE(pid.ok()) << pid.status();
  std::optional<int> status = exit.Wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(exit.pid(), *pid);
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_EQ(ReadAll(dir_ + "/stdout"), "foo=bar leak=\n" + dir_ + "\n");
  EXPECT_EQ(ReadAll(dir_ + "/stderr"), "oops\n");
  unsetenv("AGORA_LAUNCHER_TEST_LEAK");
}

TEST_F(PosixLauncherTest, StartsANewSessionAndProcessGroup) {
  LaunchSpec spec = Shell("ps -o pid=,pgid=,sid= -p $$");
  ExitRecorder exit;
  absl::StatusOr<pid_t> pid = launcher_.Launch(spec, exit.Callback());
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_TRUE(exit.Wait().has_value());
  std::istringstream out(ReadAll(dir_ + "/stdout"));
  pid_t p = 0, pgid = 0, sid = 0;
  out >> p >> pgid >> sid;
  EXPECT_EQ(p, *pid);
  EXPECT_EQ(pgid, *pid);
  EXPECT_EQ(sid, *pid);
}

TEST_F(PosixLauncherTest, ReportsExitStatus) {
  ExitRecorder exit;
  ASSERT_TRUE(launcher_.Launch(Shell("exit 7"), exit.Callback()).ok());
  std::optional<int> status = exit.Wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 7);
}

TEST_F(PosixLauncherTest, ExecFailureReachesTheCaller) {
  LaunchSpec spec;
  spec.program = dir_ + "/no-such-binary";
  absl::StatusOr<pid_t> pid = launcher_.Launch(spec, [](pid_t, int) {
    ADD_FAILURE() << "no exit callback after a failed launch";
  });
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(pid.status().message(), HasSubstr("No such file or directory"));
  EXPECT_THAT(pid.status().message(), HasSubstr("no-such-binary"));
}

TEST_F(PosixLauncherTest, NonExecutableProgramIsPermissionDenied) {
  std::ofstream(dir_ + "/plain") << "not a program\n";
  LaunchSpec spec;
  spec.program = dir_ + "/plain";
  absl::StatusOr<pid_t> pid = launcher_.Launch(spec, [](pid_t, int) {});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(PosixLauncherTest, MissingWorkingDirectoryIsReported) {
  LaunchSpec spec = Shell("true");
  spec.cwd = dir_ + "/missing";
  absl::StatusOr<pid_t> pid = launcher_.Launch(spec, [](pid_t, int) {});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(pid.status().message(), HasSubstr("failed to change directory"));
}

TEST_F(PosixLauncherTest, BareProgramNamesUseThePathOfTheEnvironment) {
  LaunchSpec spec;
  spec.program = "sh";
  spec.argv = {"sh", "-c", "echo found"};
  spec.env = {{"PATH", "/nonexistent:/bin:/usr/bin"}};
  spec.stdout_path = dir_ + "/stdout";
  ExitRecorder exit;
  ASSERT_TRUE(launcher_.Launch(spec, exit.Callback()).ok());
  ASSERT_TRUE(exit.Wait().has_value());
  EXPECT_EQ(ReadAll(dir_ + "/stdout"), "found\n");

  spec.program = "agora-no-such-command";
  absl::StatusOr<pid_t> missing = launcher_.Launch(spec, [](pid_t, int) {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

bool Gone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  return close == std::string::npos || line.substr(close + 2, 1) == "Z";
}

TEST_F(PosixLauncherTest, KillReachesTheWholeTreeEvenInOtherSessions) {
  // One child in the group, one that escaped into its own session.
  ExitRecorder exit;
  absl::StatusOr<pid_t> pid = launcher_.Launch(
      Shell("sleep 1000 & setsid sleep 1001 & wait"), exit.Callback());
  ASSERT_TRUE(pid.ok()) << pid.status();
  std::vector<pid_t> tree;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((tree = ProcessDescendants(*pid)).size() < 2 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(tree.size(), 2u);
  ASSERT_TRUE(launcher_.Kill(*pid, SIGKILL).ok());
  std::optional<int> status = exit.Wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  for (pid_t child : tree) {
    while (!Gone(child) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_TRUE(Gone(child)) << "pid " << child << " survived";
  }
}

TEST_F(PosixLauncherTest, KillReachesOrphansOfAnExitedLeader) {
  ExitRecorder exit;
  absl::StatusOr<pid_t> pid =
      launcher_.Launch(Shell("sleep 1000 & echo $!"), exit.Callback());
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_TRUE(exit.Wait().has_value());  // The leader is gone and reaped.
  pid_t orphan = 0;
  std::istringstream(ReadAll(dir_ + "/stdout")) >> orphan;
  ASSERT_GT(orphan, 0);
  ASSERT_FALSE(Gone(orphan));
  ASSERT_TRUE(launcher_.Kill(*pid, SIGKILL).ok());
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!Gone(orphan) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(Gone(orphan));
}

TEST_F(PosixLauncherTest, KillOfAnExitedProcessIsNotFound) {
  ExitRecorder exit;
  absl::StatusOr<pid_t> pid = launcher_.Launch(Shell("true"), exit.Callback());
  ASSERT_TRUE(pid.ok());
  ASSERT_TRUE(exit.Wait().has_value());
  EXPECT_EQ(launcher_.Kill(*pid, SIGTERM).code(), absl::StatusCode::kNotFound);
}

TEST(ChildReaperTest, ReportsEachWatchedChildOnce) {
  ChildReaper reaper;
  std::mutex mu;
  std::condition_variable cv;
  std::map<pid_t, int> exits;
  std::vector<pid_t> pids;
  for (int code : {3, 4, 5}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(code);
    pids.push_back(pid);
    if (code == 4) {
      // Exited before Watch(): still reported (a zombie until then).
      siginfo_t info;
      ASSERT_EQ(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), 0);
    }
    reaper.Watch(pid, [&](pid_t p, int status) {
      std::lock_guard<std::mutex> lock(mu);
      exits[p] += 1000 + WEXITSTATUS(status);
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10),
                          [&] { return exits.size() == 3; }));
  EXPECT_EQ(exits[pids[0]], 1003);
  EXPECT_EQ(exits[pids[1]], 1004);
  EXPECT_EQ(exits[pids[2]], 1005);
  EXPECT_EQ(reaper.WatchedCount(), 0u);
}

TEST(ChildReaperTest, LeavesUnwatchedChildrenAlone) {
  ChildReaper reaper;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(9);
  int status = 0;
  // The reaper must not steal this child from its owner.
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(WEXITSTATUS(status), 9);
}

}  // namespace
}  // namespace agora
