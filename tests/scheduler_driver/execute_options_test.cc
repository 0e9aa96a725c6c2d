// agora-execute's flag validation and the FrameworkInfo and TaskInfos built
// from the flags.
#include "cli/execute_options.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace agora::cli {
namespace {

ExecuteFlags GoodFlags() {
  ExecuteFlags flags;
  flags.master = "127.0.0.1:5050";
  flags.name = "hello";
  flags.command = "echo hi";
  return flags;
}

// The one-line error for `flags`, or "" when they are accepted.
std::string ErrorFor(const ExecuteFlags& flags) {
  absl::StatusOr<ExecuteOptions> options = ValidateExecuteFlags(flags);
  if (options.ok()) return "";
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(options.status().message());
}

TEST(ExecuteFlagsTest, DefaultsAreMesosExecutes) {
  absl::StatusOr<ExecuteOptions> options = ValidateExecuteFlags(GoodFlags());
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->resources.ToString(), "cpus:1; mem:128");
  EXPECT_TRUE(options->shell);
  EXPECT_EQ(options->role, "*");
  EXPECT_FALSE(options->checkpoint);
  EXPECT_TRUE(options->partition_aware);
  EXPECT_FALSE(options->kill_after.has_value());
  EXPECT_EQ(options->instances, 1);
  EXPECT_TRUE(options->env.empty());
}

TEST(ExecuteFlagsTest, EachBadFlagIsNamedInOneLine) {
  struct Case {
    void (*mutate)(ExecuteFlags*);
    const char* expect;
  } cases[] = {
      {[](ExecuteFlags* f) { f->master = ""; }, "--master is required"},
      {[](ExecuteFlags* f) { f->master = "nohostport"; }, "nohostport"},
      {[](ExecuteFlags* f) { f->name = ""; }, "--name is required"},
      {[](ExecuteFlags* f) { f->command = ""; }, "--command is required"},
      {[](ExecuteFlags* f) { f->resources = "mem:-5"; },
       "--resources='mem:-5'"},
      {[](ExecuteFlags* f) { f->resources = "cpus:abc"; }, "cpus:abc"},
      {[](ExecuteFlags* f) { f->resources = ""; }, "--resources"},
      {[](ExecuteFlags* f) { f->env = "not-json"; }, "--env"},
      {[](ExecuteFlags* f) { f->env = "[1,2]"; }, "JSON object"},
      {[](ExecuteFlags* f) { f->env = R"({"A":1})"; },
       "'A' is not a JSON string"},
      {[](ExecuteFlags* f) { f->env = "file:///no/such/env.json"; },
       "cannot read"},
      {[](ExecuteFlags* f) { f->kill_after = "soon"; }, "--kill_after='soon'"},
      {[](ExecuteFlags* f) { f->instances = 0; }, "--instances"},
      {[](ExecuteFlags* f) { f->role = "a b"; }, "--role"},
  };
  for (const Case& c : cases) {
    ExecuteFlags flags = GoodFlags();
    c.mutate(&flags);
    std::string error = ErrorFor(flags);
    EXPECT_TRUE(absl::StrContains(error, c.expect))
        << "expected '" << c.expect << "' in '" << error << "'";
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

TEST(ExecuteFlagsTest, ParsesEnvKillAfterAndStripsReservations) {
  ExecuteFlags flags = GoodFlags();
  flags.env = R"({"B":"2","A":"1"})";
  flags.kill_after = "10secs";
  flags.resources = "cpus(web):2;mem:64;ports:[31000-31001]";
  absl::StatusOr<ExecuteOptions> options = ValidateExecuteFlags(flags);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->env,
            (std::map<std::string, std::string>{{"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(options->kill_after, absl::Seconds(10));
  // Where a task's resources come from is the offer's business.
  EXPECT_EQ(options->resources.ToString(),
            "cpus:2; mem:64; ports:[31000-31001]");
}

TEST(ExecuteFlagsTest, EnvMayComeFromAFile) {
  std::string path = ::testing::TempDir() + "/execute_env_" +
                     std::to_string(::getpid()) + ".json";
  std::ofstream(path) << R"({"GREETING":"hello world"})";
  absl::StatusOr<std::map<std::string, std::string>> env =
      ParseEnvironment("file://" + path);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->at("GREETING"), "hello world");
}

TEST(ExecuteFlagsTest, FrameworkInfoIsMesosExecutes) {
  ExecuteFlags flags = GoodFlags();
  flags.role = "batch";
  flags.checkpoint = true;
  ExecuteOptions options = *ValidateExecuteFlags(flags);
  mesos::v1::FrameworkInfo info = BuildFrameworkInfo(options, "alice");
  EXPECT_EQ(info.user(), "alice");
  EXPECT_EQ(info.name(), "agora-execute instance");
  EXPECT_EQ(info.role(), "batch");
  EXPECT_TRUE(info.checkpoint());
  EXPECT_EQ(info.failover_timeout(), 0);
  EXPECT_FALSE(info.has_id());
  std::vector<int> caps;
  for (const auto& c : info.capabilities()) caps.push_back(c.type());
  using Cap = mesos::v1::FrameworkInfo::Capability;
  EXPECT_EQ(caps, (std::vector<int>{
                      Cap::RESERVATION_REFINEMENT, Cap::TASK_KILLING_STATE,
                      Cap::REVOCABLE_RESOURCES, Cap::PARTITION_AWARE}));

  options.partition_aware = false;
  info = BuildFrameworkInfo(options, "alice");
  for (const auto& c : info.capabilities()) {
    EXPECT_NE(c.type(), Cap::PARTITION_AWARE);
  }
}

TEST(ExecuteFlagsTest, OneInstanceUsesTheNameAsTaskId) {
  ExecuteFlags flags = GoodFlags();
  flags.env = R"({"K":"V"})";
  std::vector<mesos::v1::TaskInfo> tasks =
      BuildTasks(*ValidateExecuteFlags(flags));
  ASSERT_EQ(tasks.size(), 1u);
  const mesos::v1::TaskInfo& task = tasks[0];
  EXPECT_EQ(task.task_id().value(), "hello");
  EXPECT_EQ(task.name(), "hello");
  EXPECT_TRUE(task.command().shell());
  EXPECT_EQ(task.command().value(), "echo hi");
  EXPECT_EQ(task.command().arguments_size(), 0);
  ASSERT_EQ(task.command().environment().variables_size(), 1);
  EXPECT_EQ(task.command().environment().variables(0).name(), "K");
  EXPECT_EQ(task.command().environment().variables(0).value(), "V");
  EXPECT_EQ(task.resources_size(), 2);
  EXPECT_FALSE(task.has_agent_id());
}

TEST(ExecuteFlagsTest, InstancesGetNumberedTaskIds) {
  ExecuteFlags flags = GoodFlags();
  flags.instances = 3;
  std::vector<mesos::v1::TaskInfo> tasks =
      BuildTasks(*ValidateExecuteFlags(flags));
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0].task_id().value(), "hello-0");
  EXPECT_EQ(tasks[2].task_id().value(), "hello-2");
  EXPECT_EQ(TaskIdFor("x", 0, 1), "x");
  EXPECT_EQ(TaskIdFor("x", 4, 5), "x-4");
}

TEST(ExecuteFlagsTest, NoShellSplitsTheCommandIntoArgv) {
  ExecuteFlags flags = GoodFlags();
  flags.shell = false;
  flags.command = "/bin/echo  one two";
  std::vector<mesos::v1::TaskInfo> tasks =
      BuildTasks(*ValidateExecuteFlags(flags));
  const mesos::v1::CommandInfo& command = tasks[0].command();
  EXPECT_FALSE(command.shell());
  EXPECT_EQ(command.value(), "/bin/echo");
  ASSERT_EQ(command.arguments_size(), 3);
  EXPECT_EQ(command.arguments(0), "/bin/echo");
  EXPECT_EQ(command.arguments(2), "two");
}

}  // namespace
}  // namespace agora::cli
