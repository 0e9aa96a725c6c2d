// Task validation as a pure function: each rule with its message.
#include "master/task_validation.h"

#include <map>
#include <string>

#include "absl/strings/match.h"
#include "common/resources_proto.h"
#include "gtest/gtest.h"

namespace agora {
namespace {

Resources R(const char* text, const char* role = "*") {
  return Resources::Parse(text)->AllocatedTo(role);
}

class TaskValidationTest : public ::testing::Test {
 protected:
  TaskValidationTest() {
    context_.framework = FrameworkId("fw");
    context_.agent = AgentId("S0");
    context_.role = "*";
    context_.available = R("cpus:2;mem:1024");
    context_.task_id_in_use = [this](const std::string& id) {
      return used_.count(id) > 0;
    };
    context_.find_executor =
        [this](const std::string& id) -> const mesos::v1::ExecutorInfo* {
      auto it = executors_.find(id);
      return it == executors_.end() ? nullptr : &it->second;
    };
  }

  static mesos::v1::TaskInfo Task(const std::string& id,
                                  const char* resources = "cpus:1;mem:128") {
    mesos::v1::TaskInfo task;
    task.set_name(id);
    task.mutable_task_id()->set_value(id);
    task.mutable_agent_id()->set_value("S0");
    *task.mutable_resources() = ToProto(*Resources::Parse(resources));
    task.mutable_command()->set_value("true");
    return task;
  }

  // The error message, or "" when the task is valid.
  std::string Error(const mesos::v1::TaskInfo& task) {
    absl::StatusOr<ValidatedTask> result = ValidateTask(task, context_);
    if (result.ok()) return "";
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(result.status().message());
  }

  TaskLaunchContext context_;
  std::set<std::string> used_;
  std::map<std::string, mesos::v1::ExecutorInfo> executors_;
};

TEST_F(TaskValidationTest, ValidCommandTaskGetsTheOfferRole) {
  context_.role = "web";
  context_.available = R("cpus:2;mem:1024", "web");
  absl::StatusOr<ValidatedTask> result = ValidateTask(Task("t"), context_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->task_resources, R("cpus:1;mem:128", "web"));
  for (const auto& r : result->task.resources()) {
    EXPECT_EQ(r.allocation_info().role(), "web");
  }
  EXPECT_FALSE(result->new_executor);
}

TEST_F(TaskValidationTest, EachRuleHasItsMessage) {
  used_.insert("taken");
  mesos::v1::TaskInfo both = Task("both");
  both.mutable_executor()->mutable_executor_id()->set_value("e");
  mesos::v1::TaskInfo neither = Task("neither");
  neither.clear_command();
  mesos::v1::TaskInfo empty = Task("empty");
  empty.mutable_command()->set_value("");
  mesos::v1::TaskInfo no_path = Task("no-path");
  no_path.mutable_command()->set_shell(false);
  no_path.mutable_command()->clear_value();
  mesos::v1::TaskInfo other_agent = Task("other-agent");
  other_agent.mutable_agent_id()->set_value("S9");
  mesos::v1::TaskInfo no_resources = Task("none");
  no_resources.clear_resources();
  mesos::v1::TaskInfo negative = Task("negative");
  negative.mutable_resources(0)->mutable_scalar()->set_value(-1);
  mesos::v1::TaskInfo other_role = Task("other-role");
  other_role.mutable_resources(0)->mutable_allocation_info()->set_role("x");
  mesos::v1::TaskInfo grace = Task("grace");
  grace.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(-1);

  std::map<std::string, std::pair<mesos::v1::TaskInfo, std::string>> cases = {
      {"duplicate", {Task("taken"), "duplicate task id"}},
      {"bad id", {Task("a/b"), "contains '/'"}},
      {"empty id", {Task(""), "task id is empty"}},
      {"both", {both, "exactly one of 'command' and 'executor'"}},
      {"neither", {neither, "exactly one of 'command' and 'executor'"}},
      {"empty shell", {empty, "shell command is empty"}},
      {"no path", {no_path, "executable path"}},
      {"other agent", {other_agent, "names agent 'S9'"}},
      {"no resources", {no_resources, "uses no resources"}},
      {"negative", {negative, "invalid resources"}},
      {"other role", {other_role, "allocated to role 'x'"}},
      {"too big", {Task("big", "cpus:3"), "more resources"}},
      {"grace", {grace, "grace period"}},
  };
  for (const auto& [name, c] : cases) {
    std::string error = Error(c.first);
    EXPECT_TRUE(absl::StrContains(error, c.second))
        << name << ": '" << error << "'";
    if (!c.first.task_id().value().empty()) {
      EXPECT_TRUE(
          absl::StartsWith(error, "task '" + c.first.task_id().value() + "'"))
          << name << ": " << error;
    }
  }
}

TEST_F(TaskValidationTest, NewExecutorResourcesCountAgainstTheOffer) {
  mesos::v1::TaskInfo task = Task("t", "cpus:1;mem:128");
  task.clear_command();
  mesos::v1::ExecutorInfo* executor = task.mutable_executor();
  executor->mutable_executor_id()->set_value("e1");
  executor->mutable_command()->set_value("./my-executor");
  *executor->mutable_resources() =
      ToProto(*Resources::Parse("cpus:0.5;mem:32"));
  absl::StatusOr<ValidatedTask> result = ValidateTask(task, context_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->new_executor);
  EXPECT_EQ(result->executor_resources, R("cpus:0.5;mem:32"));
  EXPECT_EQ(result->task.executor().framework_id().value(), "fw");

  // With executor resources the task no longer fits.
  *executor->mutable_resources() = ToProto(*Resources::Parse("cpus:1.5"));
  EXPECT_TRUE(absl::StrContains(Error(task), "more resources"));

  // A running executor with that id and another definition is refused.
  executors_["e1"] = *executor;
  executors_["e1"].mutable_command()->set_value("./other");
  EXPECT_TRUE(absl::StrContains(Error(task), "different ExecutorInfo"));
  executors_["e1"] = *executor;
  absl::StatusOr<ValidatedTask> reuse = ValidateTask(task, context_);
  ASSERT_TRUE(reuse.ok()) << reuse.status();
  EXPECT_FALSE(reuse->new_executor);
}

}  // namespace
}  // namespace agora
