// ContainerManager with a cgroups isolator over a fake cgroup filesystem
// and a fake launcher: what happens to a container's cgroup when its
// executor exits while the kernel still reports the cgroup busy.
#include <unistd.h>

#include <memory>
#include <optional>

#include "absl/time/clock.h"
#include "agent/container_manager.h"
#include "common/http_server.h"
#include "common/resources.h"
#include "common/resources_proto.h"
#include "fake_cgroup_fs.h"
#include "gtest/gtest.h"
#include "isolation/cgroups2_isolator.h"
#include "isolation/isolation_config.h"
#include "test_container_manager.h"

namespace agora {
namespace {

// Launches nothing; keeps the exit callback so the test can "exit" it.
class FakeLauncher : public Launcher {
 public:
  absl::StatusOr<pid_t> Launch(const LaunchSpec&,
                               ExitCallback on_exit) override {
    on_exit_ = std::move(on_exit);
    return getpid();
  }
  absl::Status Adopt(pid_t, uint64_t, ExitCallback) override {
    return absl::NotFoundError("fake launcher adopts nothing");
  }
  absl::Status Kill(pid_t, int) override { return absl::OkStatus(); }
  ExitCallback on_exit_;  // Loop thread only.
};

class ContainerDestroyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-destroy-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Cgroups2Isolator::Options iso;
    iso.root = "agora";
    iso.isolation = *ParseIsolation("cgroups/cpu");
    isolator_ = std::make_unique<Cgroups2Isolator>(&fs_, iso);
    ASSERT_TRUE(isolator_->Prepare(getpid()).ok());
    containers_ = MakeTestContainerManager(dir_, &loop_, &launcher_, &metrics_);
    containers_->set_isolator(isolator_.get());
    mesos::v1::AgentInfo info;
    info.set_hostname("agent-host");
    info.mutable_id()->set_value("S1");
    containers_->set_agent_info(info);
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

  void RunTask() {
    mesos::v1::FrameworkInfo framework;
    framework.mutable_id()->set_value("F1");
    framework.set_user("nobody");
    framework.set_name("fw");
    mesos::v1::TaskInfo task;
    task.set_name("t");
    task.mutable_task_id()->set_value("t");
    task.mutable_agent_id()->set_value("S1");
    task.mutable_command()->set_value("sleep 30");
    *task.mutable_resources() = ToProto(*Resources::Parse("cpus:0.5;mem:64"));
    RunOnLoop<bool>(&loop_, [&] {
      containers_->RunTask(framework, task);
      return true;
    });
  }
  // The container cgroups under the root (everything but "agent").
  std::vector<std::string> Containers() {
    return *RunOnLoop<std::vector<std::string>>(&loop_, [this] {
      return isolator_->Containers().value_or(std::vector<std::string>{});
    });
  }

  std::string dir_;
  EventLoop loop_{"destroy-test"};
  testing::FakeCgroupFs fs_;  // Loop thread only once the loop runs.
  std::unique_ptr<Cgroups2Isolator> isolator_;
  FakeLauncher launcher_;
  MetricsRegistry metrics_;
  std::unique_ptr<ContainerManager> containers_;
};

// While the kernel still reports a dead executor's cgroup busy (killed
// processes leaving), the agent retries the removal from loop timers
// instead of sleeping inside the exit handling: what was posted after the
// exit runs while the cgroup is still there, and the cgroup goes later.
TEST_F(ContainerDestroyTest, BusyCgroupIsRemovedLaterWithoutStallingTheLoop) {
  RunTask();
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Containers().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(Containers().size(), 1u);
  Launcher::ExitCallback on_exit =
      *RunOnLoop<Launcher::ExitCallback>(&loop_, [this] {
        fs_.busy_removes = 12;
        return launcher_.on_exit_;
      });
  ASSERT_TRUE(on_exit);
  on_exit(getpid(), 0);  // Posts the exit handling to the loop.
  // Runs right after the exit handling.
  EXPECT_EQ(Containers().size(), 1u);
  while (!Containers().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(Containers().empty());
  EXPECT_EQ(*RunOnLoop<int>(&loop_, [this] { return fs_.busy_removes; }), 0);
  EXPECT_EQ(
      metrics_.Snapshot().count("containerizer/mesos/container_destroy_errors"),
      0u);
}

}  // namespace
}  // namespace agora
