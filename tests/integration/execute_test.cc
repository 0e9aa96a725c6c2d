// End-to-end tests through the real binaries: agora-master, agora-agent,
// agora-executor and agora-execute, on port 0 in a fresh directory each.
#include <glob.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/cluster.h"
#include "nlohmann/json.hpp"

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

class ExecuteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = LocalCluster::Start({});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
  }
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(ExecuteTest, TaskOutputLandsInSandboxStdout) {
  auto result =
      cluster_->Execute({"--name=hello", "--command=echo hello-from-agora",
                         "--resources=cpus:0.5;mem:64"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->output;
  EXPECT_TRUE(absl::StrContains(result->output, "TASK_RUNNING"))
      << result->output;
  EXPECT_TRUE(absl::StrContains(result->output, "TASK_FINISHED"))
      << result->output;

  std::vector<std::string> sandboxes =
      Glob(cluster_->agent_work_dir() +
           "/slaves/*/frameworks/*/executors/hello/runs/*/stdout");
  ASSERT_FALSE(sandboxes.empty()) << "no sandbox stdout found";
  bool found = false;
  for (const std::string& path : sandboxes) {
    if (absl::StrContains(ReadFile(path), "hello-from-agora")) found = true;
  }
  EXPECT_TRUE(found);
}

TEST_F(ExecuteTest, FailingCommandGivesTaskFailedAndNonZeroExit) {
  auto result = cluster_->Execute(
      {"--name=fails", "--command=exit 3", "--resources=cpus:0.5;mem:64"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NE(result->exit_code, 0) << result->output;
  EXPECT_TRUE(absl::StrContains(result->output, "TASK_FAILED"))
      << result->output;
  EXPECT_TRUE(absl::StrContains(result->output, "Command exited with status 3"))
      << result->output;
}

TEST_F(ExecuteTest, FiftyInstancesAllFinish) {
  auto result =
      cluster_->Execute({"--name=many", "--command=true", "--instances=50",
                         "--resources=cpus:0.05;mem:32"},
                        absl::Seconds(240));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->output;
  int finished = 0;
  for (int i = 0; i < 50; ++i) {
    std::string line = absl::StrCat("TASK_FINISHED for task 'many-", i, "'");
    if (absl::StrContains(result->output, line)) ++finished;
  }
  EXPECT_EQ(finished, 50) << result->output;

  auto state = HttpGet(cluster_->master_ports().http, "/metrics/snapshot");
  ASSERT_TRUE(state.ok()) << state.status();
  auto metrics = nlohmann::json::parse(*state);
  EXPECT_EQ(metrics.value("master/tasks_finished", 0.0), 50.0);
}

TEST_F(ExecuteTest, TaskNeedingMoreThanTheAgentHasNeverLaunches) {
  // Nothing fits, so agora-execute keeps declining; it must not crash the
  // cluster, and a later task must still run.
  auto big = cluster_->Execute(
      {"--name=big", "--command=true", "--resources=cpus:64;mem:64"},
      absl::Seconds(3));
  EXPECT_FALSE(big.ok());  // Still waiting for an offer that fits.
  auto small = cluster_->Execute(
      {"--name=small", "--command=true", "--resources=cpus:0.5;mem:64"});
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->exit_code, 0) << small->output;
}

// Task names and labels are bytes to protobuf's proto2 strings: a name
// that is not UTF-8 must not make /state (rendered as JSON) throw on the
// master or the agent; the bad bytes come out as U+FFFD.
TEST_F(ExecuteTest, ANameThatIsNotUtf8KeepsStateServable) {
  auto result = cluster_->Execute({"--name=bad\xff\xfename", "--command=true",
                                   "--resources=cpus:0.5;mem:64"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->output;
  for (int port :
       {cluster_->master_ports().http, cluster_->agent_ports().http}) {
    auto state = HttpGet(port, "/state");
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_TRUE(absl::StrContains(*state, "bad\xef\xbf\xbd\xef\xbf\xbdname"))
        << *state;
  }
  EXPECT_TRUE(HttpGet(cluster_->master_ports().http, "/health").ok());
}

TEST(ExecuteFlagsTest, BadInputIsAClearErrorAtStartUp) {
  std::string dir = ::testing::TempDir();
  struct Case {
    std::string binary;
    std::vector<std::string> args;
    std::string expect;  // A fragment of the error message.
  } cases[] = {
      {"agora-master", {"--no_such_flag=1"}, "no_such_flag"},
      {"agora-agent",
       {"--master=127.0.0.1:1", "--resources=cpus:abc",
        "--work_dir=" + dir + "/bad-agent"},
       "cpus:abc"},
      {"agora-agent",
       {"--master=nohostport", "--work_dir=" + dir + "/bad-agent2"},
       "nohostport"},
      {"agora-execute",
       {"--master=127.0.0.1:1", "--name=x", "--command=true",
        "--resources=mem:-5"},
       "mem"},
      {"agora-execute", {"--master=127.0.0.1:1", "--command=true"}, "--name"},
      {"agora-execute",
       {"--master=127.0.0.1:1", "--name=x", "--command=true", "--env=not-json"},
       "--env"},
  };
  int i = 0;
  for (const Case& c : cases) {
    auto proc = Subprocess::Start(BinDir() + "/" + c.binary, c.args,
                                  absl::StrCat(dir, "/flags", i++, ".log"));
    ASSERT_TRUE(proc.ok());
    auto code = (*proc)->Wait(absl::Seconds(20));
    ASSERT_TRUE(code.ok()) << c.binary << " did not exit on bad input";
    EXPECT_NE(*code, 0) << c.binary;
    EXPECT_TRUE(absl::StrContains((*proc)->Log(), c.expect))
        << c.binary << " output: " << (*proc)->Log();
  }
}

}  // namespace
}  // namespace agora::testing
