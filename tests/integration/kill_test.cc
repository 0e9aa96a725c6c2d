// End-to-end kills through the real binaries: agora-execute --kill_after
// sends KILL once its task is running; the executor sends SIGTERM to the
// task's whole process group and SIGKILL after the grace period (3 s by
// default), reporting TASK_KILLING first for a framework with the
// TASK_KILLING_STATE capability (agora-execute has it).
#include <glob.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "integration/cluster.h"

namespace agora::testing {
namespace {

std::vector<std::string> Glob(const std::string& pattern) {
  glob_t g;
  std::vector<std::string> out;
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);
  }
  ::globfree(&g);
  return out;
}

// True while `pid` exists and is not a zombie.
bool Alive(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() &&
         line[paren + 2] != 'Z';
}

class KillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = LocalCluster::Start({});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
  }
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(KillTest, KillAfterRunningKillsTheWholeProcessTree) {
  auto result = cluster_->Execute(
      {"--name=tree",
       "--command=sleep 1000 & echo $! > child.pid; "
       "setsid sleep 1000 & echo $! > escaped.pid; sleep 1000",
       "--resources=cpus:0.5;mem:64", "--kill_after=500ms"});
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string& out = result->output;
  EXPECT_EQ(result->exit_code, 1) << out;
  size_t running = out.find("TASK_RUNNING for task 'tree'");
  size_t asked = out.find("Asked to kill task 'tree'");
  size_t killing = out.find("TASK_KILLING for task 'tree'");
  size_t killed = out.find("TASK_KILLED for task 'tree'");
  ASSERT_NE(running, std::string::npos) << out;
  ASSERT_NE(asked, std::string::npos) << out;
  ASSERT_NE(killing, std::string::npos) << out;
  ASSERT_NE(killed, std::string::npos) << out;
  EXPECT_LT(running, asked);
  EXPECT_LT(asked, killing);
  EXPECT_LT(killing, killed);
  EXPECT_TRUE(absl::StrContains(out, "Command terminated with signal SIGTERM"))
      << out;

  // Both background children went with the task: the one in the task's
  // process group and the one that left it (setsid).
  for (const char* name : {"child.pid", "escaped.pid"}) {
    // (The `latest` symlinks make the same file appear more than once.)
    std::set<std::string> files;
    for (const std::string& path :
         Glob(cluster_->agent_work_dir() +
              "/slaves/*/frameworks/*/executors/tree/runs/*/" + name)) {
      files.insert(std::filesystem::canonical(path).string());
    }
    ASSERT_EQ(files.size(), 1u) << name << "\n" << out;
    int pid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(
        absl::StripAsciiWhitespace(ReadFile(*files.begin())), &pid));
    ASSERT_GT(pid, 1);
    bool gone = WaitFor([&] { return !Alive(pid); }, absl::Seconds(10));
    if (!gone) ::kill(pid, SIGKILL);  // Leave nothing behind.
    EXPECT_TRUE(gone) << name << ": process " << pid << " outlived the kill";
  }
}

TEST_F(KillTest, TaskIgnoringSigtermIsKilledAfterTheDefaultGracePeriod) {
  absl::Time start = absl::Now();
  auto result = cluster_->Execute(
      {"--name=stubborn", "--command=trap '' TERM; sleep 1000",
       "--resources=cpus:0.5;mem:64", "--kill_after=200ms"});
  absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string& out = result->output;
  EXPECT_TRUE(absl::StrContains(out, "TASK_KILLED for task 'stubborn'")) << out;
  EXPECT_TRUE(absl::StrContains(out, "Command terminated with signal SIGKILL"))
      << out;
  // Kill policy default: 3 s between SIGTERM and SIGKILL.
  EXPECT_GE(took, absl::Seconds(3)) << out;
}

}  // namespace
}  // namespace agora::testing
