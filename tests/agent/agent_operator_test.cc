// AgentOperator over a real ContainerManager whose launcher is a fake: the
// "executor" (this test process's pid) never subscribes, so its task stays
// queued. Calls run on the loop, as the transports post them.
#include "agent/agent_operator.h"

#include <stdlib.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/http_server.h"
#include "common/resources.h"
#include "common/resources_proto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_container_manager.h"

namespace agora {
namespace {

using mesos::v1::agent::Call;
using mesos::v1::agent::Response;
using ::testing::HasSubstr;

// Launches nothing; the "executor" is this process.
class FakeLauncher : public Launcher {
 public:
  absl::StatusOr<pid_t> Launch(const LaunchSpec&, ExitCallback) override {
    return getpid();
  }
  absl::Status Adopt(pid_t, uint64_t, ExitCallback) override {
    return absl::NotFoundError("fake launcher adopts nothing");
  }
  absl::Status Kill(pid_t, int) override { return absl::OkStatus(); }
};

class AgentOperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-operator-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    containers_ = MakeTestContainerManager(dir_, &loop_, &launcher_, &metrics_);
    info_.set_hostname("agent-host");
    info_.mutable_id()->set_value("S1");
    metrics_.Increment("slave/tasks_finished", 3);
    operator_ = std::make_unique<AgentOperator>(AgentOperator::Sources{
        &loop_, "1.2.3", &flags_, &info_, containers_.get(), &metrics_});
    loop_.Start();
  }
  void TearDown() override {
    RunOnLoop<bool>(&loop_, [this] {
      containers_.reset();
      return true;
    });
    loop_.Stop();
    ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0);
  }

  absl::StatusOr<Response> Handle(const Call& call) {
    return *RunOnLoop<absl::StatusOr<Response>>(
        &loop_, [this, call] { return operator_->Handle(call); });
  }
  absl::StatusOr<Response> Handle(Call::Type type) {
    Call call;
    call.set_type(type);
    return Handle(call);
  }

  void RunSleeper() {
    mesos::v1::FrameworkInfo framework;
    framework.mutable_id()->set_value("F1");
    framework.set_user("nobody");
    framework.set_name("fw");
    mesos::v1::TaskInfo task;
    task.set_name("sleeper");
    task.mutable_task_id()->set_value("sleeper");
    *task.mutable_agent_id() = info_.id();
    task.mutable_command()->set_value("sleep 30");
    *task.mutable_resources() = ToProto(*Resources::Parse("cpus:0.5;mem:64"));
    RunOnLoop<bool>(&loop_, [&] {
      containers_->set_agent_info(info_);
      containers_->RunTask(framework, task);
      return true;
    });
  }

  std::string dir_;
  EventLoop loop_{"operator-test"};
  FakeLauncher launcher_;
  MetricsRegistry metrics_;
  std::map<std::string, std::string> flags_{{"work_dir", "/w"},
                                            {"port", "5051"}};
  mesos::v1::AgentInfo info_;
  std::unique_ptr<ContainerManager> containers_;
  std::unique_ptr<AgentOperator> operator_;
};

TEST_F(AgentOperatorTest, HealthFlagsVersionAgent) {
  auto health = Handle(Call::GET_HEALTH);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->type(), Response::GET_HEALTH);
  EXPECT_TRUE(health->get_health().healthy());

  auto flags = Handle(Call::GET_FLAGS);
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->type(), Response::GET_FLAGS);
  ASSERT_EQ(flags->get_flags().flags_size(), 2);
  EXPECT_EQ(flags->get_flags().flags(0).name(), "port");
  EXPECT_EQ(flags->get_flags().flags(0).value(), "5051");

  auto version = Handle(Call::GET_VERSION);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->get_version().version_info().version(), "1.2.3");

  auto agent = Handle(Call::GET_AGENT);
  ASSERT_TRUE(agent.ok());
  EXPECT_EQ(agent->type(), Response::GET_AGENT);
  EXPECT_EQ(agent->get_agent().agent_info().id().value(), "S1");
  EXPECT_EQ(agent->get_agent().agent_info().hostname(), "agent-host");
}

TEST_F(AgentOperatorTest, MetricsNeedTheirBody) {
  auto bare = Handle(Call::GET_METRICS);
  EXPECT_EQ(bare.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bare.status().message(), HasSubstr("get_metrics"));
  Call call;
  call.set_type(Call::GET_METRICS);
  call.mutable_get_metrics();
  auto metrics = Handle(call);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_EQ(metrics->get_metrics().metrics_size(), 1);
  EXPECT_EQ(metrics->get_metrics().metrics(0).name(), "slave/tasks_finished");
  EXPECT_EQ(metrics->get_metrics().metrics(0).value(), 3);
}

TEST_F(AgentOperatorTest, NoTypeIsInvalid) {
  auto r = Handle(Call());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("'type'"));
}

TEST_F(AgentOperatorTest, EveryOtherCallIsUnimplementedByName) {
  const std::set<Call::Type> served = {
      Call::GET_HEALTH,     Call::GET_FLAGS,     Call::GET_VERSION,
      Call::GET_METRICS,    Call::GET_STATE,     Call::GET_CONTAINERS,
      Call::GET_FRAMEWORKS, Call::GET_EXECUTORS, Call::GET_TASKS,
      Call::GET_AGENT};
  const auto* types = Call::Type_descriptor();
  int unserved = 0;
  for (int i = 0; i < types->value_count(); ++i) {
    auto type = static_cast<Call::Type>(types->value(i)->number());
    if (served.count(type)) continue;
    ++unserved;
    auto r = Handle(type);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented)
        << types->value(i)->name();
    EXPECT_THAT(r.status().message(), HasSubstr(types->value(i)->name()));
  }
  EXPECT_EQ(unserved, types->value_count() - 10);
}

TEST_F(AgentOperatorTest, QueuedTaskAndItsContainer) {
  RunSleeper();
  auto tasks = Handle(Call::GET_TASKS);
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->get_tasks().queued_tasks_size(), 1) << tasks->DebugString();
  EXPECT_EQ(tasks->get_tasks().queued_tasks(0).task_id().value(), "sleeper");
  EXPECT_EQ(tasks->get_tasks().queued_tasks(0).state(),
            mesos::v1::TASK_STAGING);
  EXPECT_EQ(tasks->get_tasks().launched_tasks_size(), 0);

  auto containers = Handle(Call::GET_CONTAINERS);
  ASSERT_TRUE(containers.ok());
  ASSERT_EQ(containers->get_containers().containers_size(), 1);
  const auto& c = containers->get_containers().containers(0);
  std::string container_id = *RunOnLoop<std::string>(&loop_, [this] {
    return containers_->frameworks()
        .at("F1")
        .executors.at("sleeper")
        .container_id;
  });
  EXPECT_EQ(c.container_id().value(), container_id);
  EXPECT_EQ(c.container_status().container_id().value(), container_id);
  EXPECT_EQ(c.container_status().executor_pid(),
            static_cast<uint32_t>(getpid()));
  EXPECT_EQ(c.framework_id().value(), "F1");
  EXPECT_EQ(c.executor_id().value(), "sleeper");
  const auto& s = c.resource_statistics();
  EXPECT_GT(s.timestamp(), 0);
  EXPECT_DOUBLE_EQ(s.cpus_limit(), 0.6);  // The executor's 0.1 included.
  EXPECT_EQ(s.mem_limit_bytes(), uint64_t{96} << 20);
  EXPECT_GE(s.processes(), 1u);  // Read from this process's tree.
  EXPECT_GT(s.mem_rss_bytes(), 0u);

  auto state = Handle(Call::GET_STATE);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->get_state().get_tasks().queued_tasks_size(), 1);
  ASSERT_EQ(state->get_state().get_executors().executors_size(), 1);
  EXPECT_EQ(state->get_state()
                .get_executors()
                .executors(0)
                .executor_info()
                .executor_id()
                .value(),
            "sleeper");
  ASSERT_EQ(state->get_state().get_frameworks().frameworks_size(), 1);
  EXPECT_EQ(
      state->get_state().get_frameworks().frameworks(0).framework_info().name(),
      "fw");
}

}  // namespace
}  // namespace agora
