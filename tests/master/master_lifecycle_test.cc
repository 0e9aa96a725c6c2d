// Master tests of lifecycles across both sides: framework failover and
// disconnection, kill, reconciliation, teardown, agent link loss, offer
// timeouts, message relays and heartbeats.
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "master/master_test_fixture.h"

namespace agora::testing {
namespace {

using mesos::v1::TaskStatus;

class MasterLifecycleTest : public MasterFixture {
 protected:
  // Launches `task_id` (cpus:1;mem:64) from the framework's next offer and
  // waits for the agent to receive it.
  void Launch(FakeScheduler* framework, FakeAgent* agent,
              const std::string& task_id) {
    auto offer = framework->TakeOffer();
    ASSERT_TRUE(offer.has_value());
    ASSERT_TRUE(
        framework
            ->Send(framework->Accept(
                {offer->id().value()},
                {CommandTask(task_id, agent->agent_id(), "cpus:1;mem:64")}))
            .ok());
    ASSERT_TRUE(agent->Take(FakeAgent::MasterMessage::kRunTask).has_value());
  }

  static std::optional<Event> TakeUpdate(FakeScheduler* framework,
                                         const std::string& task_id) {
    return framework->Take(
        [&](const Event& e) {
          return e.type() == Event::UPDATE &&
                 e.update().status().task_id().value() == task_id;
        },
        absl::Seconds(10));
  }
};

TEST_F(MasterLifecycleTest, ResubscriptionFailsOverTheOldStreamAndKeepsTasks) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* old = AddFramework();
  Launch(old, agent, "t1");

  mesos::v1::FrameworkInfo info = TestFrameworkInfo("fw");
  info.mutable_id()->set_value(old->framework_id());
  FakeScheduler* next = AddFramework(info);
  EXPECT_EQ(next->framework_id(), old->framework_id());
  EXPECT_NE(next->stream_id(), old->stream_id());

  auto error = old->Take(Event::ERROR);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->error().message(), "Framework failed over");
  ASSERT_TRUE(old->WaitForEnd().has_value());

  // The old stream id is dead, the new one works, the task is still there.
  Call revive;
  revive.set_type(Call::REVIVE);
  EXPECT_EQ(old->Send(revive).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(next->Send(revive).ok());
  nlohmann::json state = FrameworkState(next->framework_id());
  EXPECT_EQ(state["tasks"].size(), 1u);
  EXPECT_EQ(state["connected"], true);
  EXPECT_EQ(State()["frameworks"].size(), 1u);
}

TEST_F(MasterLifecycleTest, DisconnectedFrameworkLosesItsOffersNotItsTasks) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  mesos::v1::FrameworkInfo info = TestFrameworkInfo("fw");
  info.set_failover_timeout(3600);
  FakeScheduler* framework = AddFramework(info);
  Launch(framework, agent, "t1");
  ASSERT_TRUE(framework->TakeOffer().has_value());  // The rest of the agent.
  framework->Disconnect();
  ASSERT_TRUE(
      WaitUntil([&] { return Metrics()["master/outstanding_offers"] == 0.0; }));
  nlohmann::json state = FrameworkState(framework->framework_id());
  EXPECT_EQ(state["connected"], false);
  EXPECT_EQ(state["tasks"].size(), 1u);
  EXPECT_EQ(Metrics()["master/frameworks_inactive"], 1.0);
}

TEST_F(MasterLifecycleTest, KillIsForwardedAndUnknownTasksAreReconciled) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  Launch(framework, agent, "t1");

  Call kill;
  kill.set_type(Call::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("t1");
  ASSERT_TRUE(framework->Send(kill).ok());
  auto forwarded = agent->Take(FakeAgent::MasterMessage::kKillTask);
  ASSERT_TRUE(forwarded.has_value());
  EXPECT_EQ(forwarded->kill_task().task_id().value(), "t1");
  EXPECT_EQ(forwarded->kill_task().framework_id().value(),
            framework->framework_id());

  kill.mutable_kill()->mutable_task_id()->set_value("nope");
  ASSERT_TRUE(framework->Send(kill).ok());
  auto lost = TakeUpdate(framework, "nope");
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ(lost->update().status().state(), mesos::v1::TASK_LOST);
  EXPECT_EQ(lost->update().status().reason(),
            TaskStatus::REASON_RECONCILIATION);
  EXPECT_FALSE(lost->update().status().has_uuid());
}

TEST_F(MasterLifecycleTest, ReconciliationReportsLatestStates) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  Launch(framework, agent, "t1");
  agent->SendStatusUpdate(framework->framework_id(), "t1",
                          mesos::v1::TASK_RUNNING);
  ASSERT_TRUE(TakeUpdate(framework, "t1").has_value());

  Call implicit;
  implicit.set_type(Call::RECONCILE);
  ASSERT_TRUE(framework->Send(implicit).ok());
  auto update = TakeUpdate(framework, "t1");
  ASSERT_TRUE(update.has_value());
  const TaskStatus& status = update->update().status();
  EXPECT_EQ(status.state(), mesos::v1::TASK_RUNNING);
  EXPECT_EQ(status.reason(), TaskStatus::REASON_RECONCILIATION);
  EXPECT_EQ(status.source(), TaskStatus::SOURCE_MASTER);
  EXPECT_FALSE(status.has_uuid());
  EXPECT_EQ(status.agent_id().value(), agent->agent_id());

  Call explicit_call;
  explicit_call.set_type(Call::RECONCILE);
  explicit_call.mutable_reconcile()->add_tasks()->mutable_task_id()->set_value(
      "t1");
  explicit_call.mutable_reconcile()->add_tasks()->mutable_task_id()->set_value(
      "ghost");
  ASSERT_TRUE(framework->Send(explicit_call).ok());
  auto known = TakeUpdate(framework, "t1");
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ(known->update().status().state(), mesos::v1::TASK_RUNNING);
  auto ghost = TakeUpdate(framework, "ghost");
  ASSERT_TRUE(ghost.has_value());
  EXPECT_EQ(ghost->update().status().state(), mesos::v1::TASK_LOST);
  EXPECT_EQ(ghost->update().status().reason(),
            TaskStatus::REASON_RECONCILIATION);
}

TEST_F(MasterLifecycleTest, TeardownKillsTasksAndRemovesTheFramework) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  Launch(framework, agent, "t1");

  Call teardown;
  teardown.set_type(Call::TEARDOWN);
  ASSERT_TRUE(framework->Send(teardown).ok());
  auto shutdown = agent->Take(FakeAgent::MasterMessage::kShutdownFramework);
  ASSERT_TRUE(shutdown.has_value());
  EXPECT_EQ(shutdown->shutdown_framework().framework_id().value(),
            framework->framework_id());
  std::optional<grpc::Status> end = framework->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(end->ok()) << end->error_message();

  nlohmann::json state = State();
  EXPECT_EQ(state["frameworks"].size(), 0u);
  ASSERT_EQ(state["completed_frameworks"].size(), 1u);
  nlohmann::json task = state["completed_frameworks"][0]["completed_tasks"][0];
  EXPECT_EQ(task["state"], "TASK_KILLED");
  EXPECT_EQ(task["statuses"].back()["reason"], "REASON_FRAMEWORK_REMOVED");
  EXPECT_EQ(Metrics()["master/tasks_killed"], 1.0);
  EXPECT_EQ(Metrics()["master/cpus_used"], 0.0);

  // The removed id cannot come back.
  mesos::v1::FrameworkInfo info = TestFrameworkInfo("fw");
  info.mutable_id()->set_value(framework->framework_id());
  FakeScheduler again(server_->grpc_address());
  auto refused = again.Subscribe(info);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MasterLifecycleTest, AgentLinkLossRescindsItsOffers) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  agent->Disconnect();
  auto rescind = framework->Take(Event::RESCIND);
  ASSERT_TRUE(rescind.has_value());
  EXPECT_EQ(rescind->rescind().offer_id().value(), offer->id().value());
  EXPECT_EQ(Metrics()["master/slaves_active"], 0.0);
  EXPECT_FALSE(framework->TakeOffer(absl::Milliseconds(300)).has_value());
}

TEST_F(MasterLifecycleTest, OfferTimeoutRescindsTheOffer) {
  MasterOptions options = TestMasterOptions();
  options.offer_timeout = absl::Milliseconds(200);
  StartMaster(options);
  AddAgent();
  FakeScheduler* framework = AddFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  auto rescind = framework->Take(Event::RESCIND);
  ASSERT_TRUE(rescind.has_value());
  EXPECT_EQ(rescind->rescind().offer_id().value(), offer->id().value());
  // Returned without a filter: offered again.
  EXPECT_TRUE(framework->TakeOffer().has_value());
}

TEST_F(MasterLifecycleTest, MessagesAndExecutorExitsAreRelayed) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();

  Call message;
  message.set_type(Call::MESSAGE);
  message.mutable_message()->mutable_agent_id()->set_value(agent->agent_id());
  message.mutable_message()->mutable_executor_id()->set_value("e1");
  message.mutable_message()->set_data("to-executor");
  ASSERT_TRUE(framework->Send(message).ok());
  auto relayed = agent->Take(FakeAgent::MasterMessage::kFrameworkToExecutor);
  ASSERT_TRUE(relayed.has_value());
  EXPECT_EQ(relayed->framework_to_executor().data(), "to-executor");

  internal::AgentMessage from;
  from.mutable_executor_to_framework()->mutable_framework_id()->set_value(
      framework->framework_id());
  from.mutable_executor_to_framework()->mutable_executor_id()->set_value("e1");
  from.mutable_executor_to_framework()->set_data("to-framework");
  agent->Send(from);
  auto event = framework->Take(Event::MESSAGE);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->message().data(), "to-framework");
  EXPECT_EQ(event->message().agent_id().value(), agent->agent_id());

  internal::AgentMessage exited;
  exited.mutable_executor_exited()->mutable_framework_id()->set_value(
      framework->framework_id());
  exited.mutable_executor_exited()->mutable_executor_id()->set_value("e1");
  exited.mutable_executor_exited()->set_status(9);
  agent->Send(exited);
  auto failure = framework->Take(Event::FAILURE);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->failure().executor_id().value(), "e1");
  EXPECT_EQ(failure->failure().status(), 9);
}

TEST_F(MasterLifecycleTest, HeartbeatsFollowTheInterval) {
  MasterOptions options = TestMasterOptions();
  options.heartbeat_interval = absl::Milliseconds(100);
  StartMaster(options);
  FakeScheduler* framework = AddFramework();
  EXPECT_TRUE(framework->Take(Event::HEARTBEAT).has_value());
  EXPECT_TRUE(framework->Take(Event::HEARTBEAT).has_value());
}

TEST_F(MasterLifecycleTest, TasksUnknownToAReregisteringAgentAreLost) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  // Checkpointing: its tasks survive the link loss until reregistration.
  mesos::v1::FrameworkInfo info = TestFrameworkInfo("fw");
  info.set_checkpoint(true);
  FakeScheduler* framework = AddFramework(info);
  Launch(framework, agent, "t1");
  std::string agent_id = agent->agent_id();
  agent->Disconnect();
  ASSERT_TRUE(WaitUntil(
      [&] { return Metrics()["master/slaves_disconnected"] == 1.0; }));

  FakeAgent back(server_->grpc_address());
  internal::ReregisterAgent reregister;
  *reregister.mutable_agent_info() =
      TestAgentInfo("agent-host", kAgentResources);
  reregister.mutable_agent_info()->mutable_id()->set_value(agent_id);
  ASSERT_TRUE(back.Reregister(reregister).ok());
  auto lost = TakeUpdate(framework, "t1");
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ(lost->update().status().state(), mesos::v1::TASK_LOST);
  EXPECT_EQ(Metrics()["master/cpus_used"], 0.0);
  EXPECT_EQ(FrameworkState(framework->framework_id())["tasks"].size(), 0u);
}

}  // namespace
}  // namespace agora::testing
