// A real agent frozen with SIGSTOP stops answering the master's pings: the
// master marks it unreachable and a partition-aware framework (scheduler
// driver) sees its task TASK_UNREACHABLE. After SIGCONT the agent notices
// the lost link, reregisters with backoff, and the task comes back
// TASK_RUNNING with REASON_AGENT_REREGISTERED.
#include <signal.h>

#include <mutex>
#include <string>
#include <vector>

#include "agora/scheduler.h"
#include "agora/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "integration/cluster.h"
#include "nlohmann/json.hpp"

namespace agora::testing {
namespace {

using mesos::v1::TaskStatus;

// Launches one `sleep 600` task on the first offer and records every
// status update of it.
class OneLongTask : public Scheduler {
 public:
  void registered(SchedulerDriver*, const mesos::v1::FrameworkID&,
                  const mesos::v1::MasterInfo&) override {}
  void reregistered(SchedulerDriver*, const mesos::v1::MasterInfo&) override {}
  void disconnected(SchedulerDriver*) override {}
  void resourceOffers(SchedulerDriver* driver,
                      const std::vector<mesos::v1::Offer>& offers) override {
    for (const mesos::v1::Offer& offer : offers) {
      if (launched_) {
        driver->declineOffer(offer.id(), mesos::v1::Filters());
        continue;
      }
      launched_ = true;
      mesos::v1::TaskInfo task;
      task.set_name("long");
      task.mutable_task_id()->set_value("long");
      *task.mutable_agent_id() = offer.agent_id();
      for (const char* name : {"cpus", "mem"}) {
        mesos::v1::Resource* r = task.add_resources();
        r->set_name(name);
        r->set_type(mesos::v1::Value::SCALAR);
        r->mutable_scalar()->set_value(name[0] == 'c' ? 0.5 : 32);
      }
      task.mutable_command()->set_value("sleep 600");
      driver->launchTasks(offer.id(), {task}, mesos::v1::Filters());
    }
  }
  void offerRescinded(SchedulerDriver*, const mesos::v1::OfferID&) override {}
  void statusUpdate(SchedulerDriver*, const TaskStatus& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    updates_.push_back(status);
  }
  void frameworkMessage(SchedulerDriver*, const mesos::v1::ExecutorID&,
                        const mesos::v1::AgentID&,
                        const std::string&) override {}
  void agentLost(SchedulerDriver*, const mesos::v1::AgentID&) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++agents_lost_;
  }
  void executorLost(SchedulerDriver*, const mesos::v1::ExecutorID&,
                    const mesos::v1::AgentID&, int) override {}
  void error(SchedulerDriver*, const std::string& message) override {
    ADD_FAILURE() << message;
  }

  // Whether an update matching `pred` arrived.
  bool Saw(const std::function<bool(const TaskStatus&)>& pred) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const TaskStatus& s : updates_) {
      if (pred(s)) return true;
    }
    return false;
  }
  int agents_lost() {
    std::lock_guard<std::mutex> lock(mu_);
    return agents_lost_;
  }

 private:
  bool launched_ = false;  // Driver callback thread only.
  std::mutex mu_;
  std::vector<TaskStatus> updates_;
  int agents_lost_ = 0;
};

TEST(PartitionTest, FrozenAgentIsUnreachableThenComesBackWithItsTask) {
  LocalCluster::Options options;
  options.master_flags = {"--agent_ping_timeout=1secs",
                          "--max_agent_ping_timeouts=2"};
  options.agent_flags = {"--registration_backoff_factor=100ms"};
  auto cluster = LocalCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->WaitForAgents(1).ok());

  OneLongTask scheduler;
  mesos::v1::FrameworkInfo info;
  info.set_name("partition-aware");
  info.set_user("");
  info.set_checkpoint(true);
  info.add_capabilities()->set_type(
      mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE);
  AgoraSchedulerDriver driver(&scheduler, info, (*cluster)->master_address());
  ASSERT_EQ(driver.start(), mesos::v1::DRIVER_RUNNING);
  ASSERT_TRUE(WaitFor([&] {
    return scheduler.Saw([](const TaskStatus& s) {
      return s.state() == mesos::v1::TASK_RUNNING;
    });
  }));

  (*cluster)->agent()->Signal(SIGSTOP);
  bool unreachable = WaitFor(
      [&] {
        return scheduler.Saw([](const TaskStatus& s) {
          return s.state() == mesos::v1::TASK_UNREACHABLE &&
                 s.reason() == TaskStatus::REASON_AGENT_REMOVED;
        });
      },
      absl::Seconds(20));
  (*cluster)->agent()->Signal(SIGCONT);
  ASSERT_TRUE(unreachable);
  EXPECT_EQ(scheduler.agents_lost(), 1);

  ASSERT_TRUE(WaitFor(
      [&] {
        return scheduler.Saw([](const TaskStatus& s) {
          return s.state() == mesos::v1::TASK_RUNNING &&
                 s.reason() == TaskStatus::REASON_AGENT_REREGISTERED;
        });
      },
      absl::Seconds(30)));
  ASSERT_TRUE((*cluster)->WaitForAgents(1).ok());
  auto metrics = HttpGet((*cluster)->master_ports().http, "/metrics/snapshot");
  ASSERT_TRUE(metrics.ok());
  nlohmann::json snapshot = nlohmann::json::parse(*metrics);
  EXPECT_EQ(snapshot["master/slave_unreachable_completed"], 1.0);
  EXPECT_EQ(snapshot["master/slaves_unreachable"], 0.0);
  EXPECT_EQ(snapshot["master/tasks_running"], 1.0);
  EXPECT_FALSE(scheduler.Saw(
      [](const TaskStatus& s) { return s.state() == mesos::v1::TASK_LOST; }));

  driver.stop();
  driver.join();
}

// MARK_AGENT_GONE over agora.v1.Operator/Call: the framework's task is
// TASK_GONE_BY_OPERATOR and the real agent shuts itself down (exit 0).
TEST(PartitionTest, AgentMarkedGoneShutsDown) {
  LocalCluster::Options options;
  auto cluster = LocalCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->WaitForAgents(1).ok());

  OneLongTask scheduler;
  mesos::v1::FrameworkInfo info;
  info.set_name("partition-aware");
  info.set_user("");
  info.set_checkpoint(true);
  info.add_capabilities()->set_type(
      mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE);
  AgoraSchedulerDriver driver(&scheduler, info, (*cluster)->master_address());
  ASSERT_EQ(driver.start(), mesos::v1::DRIVER_RUNNING);
  std::string agent_id;
  ASSERT_TRUE(WaitFor([&] {
    return scheduler.Saw([&](const TaskStatus& s) {
      agent_id = s.agent_id().value();
      return s.state() == mesos::v1::TASK_RUNNING;
    });
  }));

  auto stub = agora::v1::Operator::NewStub(grpc::CreateChannel(
      (*cluster)->master_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  mesos::v1::master::Call call;
  call.set_type(mesos::v1::master::Call::MARK_AGENT_GONE);
  call.mutable_mark_agent_gone()->mutable_agent_id()->set_value(agent_id);
  mesos::v1::master::Response response;
  grpc::Status status = stub->Call(&context, call, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  ASSERT_TRUE(WaitFor([&] {
    return scheduler.Saw([](const TaskStatus& s) {
      return s.state() == mesos::v1::TASK_GONE_BY_OPERATOR &&
             s.reason() == TaskStatus::REASON_AGENT_REMOVED_BY_OPERATOR;
    });
  }));
  absl::StatusOr<int> exit = (*cluster)->agent()->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit.ok()) << "the agent kept running after being marked gone";
  EXPECT_EQ(*exit, 0);
  EXPECT_NE((*cluster)->agent()->Log().find("Agent has been marked gone"),
            std::string::npos);

  driver.stop();
  driver.join();
}

}  // namespace
}  // namespace agora::testing
