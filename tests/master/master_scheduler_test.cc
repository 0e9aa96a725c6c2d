// Master tests on the scheduler side: subscription, offers, calls and their
// errors, through a real gRPC master with FakeScheduler and FakeAgent.
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "master/master_test_fixture.h"

namespace agora::testing {
namespace {

using mesos::v1::TaskStatus;

class MasterSchedulerTest : public MasterFixture {};

TEST_F(MasterSchedulerTest, SubscribeGetsSubscribedAndThenAnOffer) {
  StartMaster();
  FakeAgent* agent = AddAgent("agent-host");
  FakeScheduler framework(server_->grpc_address());
  auto subscribed = framework.Subscribe(TestFrameworkInfo("first"));
  ASSERT_TRUE(subscribed.ok()) << subscribed.status();
  EXPECT_EQ(subscribed->framework_id().value(), server_->master_id() + "-0000");
  EXPECT_DOUBLE_EQ(subscribed->heartbeat_interval_seconds(), 15);
  EXPECT_EQ(subscribed->master_info().id(), server_->master_id());
  EXPECT_EQ(framework.stream_id().size(), 36u) << framework.stream_id();

  std::optional<mesos::v1::Offer> offer = framework.TakeOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_TRUE(
      absl::StartsWith(offer->id().value(), server_->master_id() + "-O"))
      << offer->id().value();
  EXPECT_EQ(offer->framework_id().value(), framework.framework_id());
  EXPECT_EQ(offer->agent_id().value(), agent->agent_id());
  EXPECT_EQ(offer->hostname(), "agent-host");
  EXPECT_EQ(offer->allocation_info().role(), "*");
  EXPECT_DOUBLE_EQ(OfferedScalar(*offer, "cpus"), 4);
  EXPECT_DOUBLE_EQ(OfferedScalar(*offer, "mem"), 4096);
  for (const auto& r : offer->resources()) {
    EXPECT_EQ(r.allocation_info().role(), "*") << r.name();
  }
  EXPECT_EQ(Metrics()["master/outstanding_offers"], 1.0);
  nlohmann::json state = FrameworkState(framework.framework_id());
  EXPECT_EQ(state["offers"].size(), 1u);
  EXPECT_EQ(state["offered_resources"]["cpus"], 4.0);

  // A second framework gets the next id.
  FakeScheduler second(server_->grpc_address());
  auto next = second.Subscribe(TestFrameworkInfo("second"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->framework_id().value(), server_->master_id() + "-0001");
}

TEST_F(MasterSchedulerTest, AcceptLaunchSendsRunTaskAndTaskIsStaging) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());

  grpc::Status status = framework->Send(framework->Accept(
      {offer->id().value()},
      {CommandTask("t1", agent->agent_id(), "cpus:1;mem:128", "echo hi")}));
  ASSERT_TRUE(status.ok()) << status.error_message();

  auto run = agent->Take(FakeAgent::MasterMessage::kRunTask);
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->run_task().task().task_id().value(), "t1");
  EXPECT_EQ(run->run_task().task().command().value(), "echo hi");
  EXPECT_EQ(run->run_task().framework().id().value(),
            framework->framework_id());
  for (const auto& r : run->run_task().task().resources()) {
    EXPECT_EQ(r.allocation_info().role(), "*");
  }

  nlohmann::json task = FrameworkState(framework->framework_id())["tasks"][0];
  EXPECT_EQ(task["id"], "t1");
  EXPECT_EQ(task["state"], "TASK_STAGING");
  EXPECT_EQ(task["slave_id"], agent->agent_id());
  EXPECT_EQ(task["resources"]["cpus"], 1.0);
  EXPECT_EQ(Metrics()["master/tasks_staging"], 1.0);
  EXPECT_EQ(Metrics()["master/cpus_used"], 1.0);

  // The rest came back without a filter (refuse_seconds 0): re-offered.
  auto rest = framework->TakeOffer();
  ASSERT_TRUE(rest.has_value());
  EXPECT_DOUBLE_EQ(OfferedScalar(*rest, "cpus"), 3);
  EXPECT_DOUBLE_EQ(OfferedScalar(*rest, "mem"), 4096 - 128);
}

// The one UPDATE for `task_id`, checked to come from the master.
TaskStatus MasterUpdate(FakeScheduler* framework, const std::string& task_id) {
  auto event = framework->Take(
      [&](const Event& e) {
        return e.type() == Event::UPDATE &&
               e.update().status().task_id().value() == task_id;
      },
      absl::Seconds(10));
  EXPECT_TRUE(event.has_value()) << "no update for " << task_id;
  if (!event.has_value()) return TaskStatus();
  const TaskStatus& status = event->update().status();
  EXPECT_EQ(status.source(), TaskStatus::SOURCE_MASTER);
  EXPECT_FALSE(status.has_uuid());
  return status;
}

TEST_F(MasterSchedulerTest, InvalidTasksGetTaskErrorWithReasonAndMessage) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  const std::string& a = agent->agent_id();

  mesos::v1::TaskInfo no_command = CommandTask("no-command", a, "cpus:1");
  no_command.clear_command();
  mesos::v1::TaskInfo empty_shell = CommandTask("empty-shell", a, "cpus:1", "");
  mesos::v1::TaskInfo no_resources = CommandTask("no-resources", a, "cpus:1");
  no_resources.clear_resources();
  ASSERT_TRUE(framework
                  ->Send(framework->Accept(
                      {offer->id().value()},
                      {CommandTask("dup", a, "cpus:1;mem:64"),
                       CommandTask("dup", a, "cpus:1;mem:64"),
                       CommandTask("too-big", a, "cpus:100;mem:64"), no_command,
                       empty_shell, no_resources,
                       CommandTask("ok", a, "cpus:1;mem:64")}))
                  .ok());

  struct Expected {
    const char* task;
    const char* fragment;
  } expected[] = {{"dup", "duplicate task id"},
                  {"too-big", "more resources"},
                  {"no-command", "exactly one of 'command' and 'executor'"},
                  {"empty-shell", "shell command is empty"},
                  {"no-resources", "uses no resources"}};
  for (const Expected& e : expected) {
    TaskStatus status = MasterUpdate(framework, e.task);
    EXPECT_EQ(status.state(), mesos::v1::TASK_ERROR) << e.task;
    EXPECT_EQ(status.reason(), TaskStatus::REASON_TASK_INVALID) << e.task;
    EXPECT_TRUE(absl::StrContains(status.message(), e.fragment))
        << e.task << ": " << status.message();
  }
  // The valid ones launched: the first "dup" and "ok".
  ASSERT_TRUE(agent->Take(FakeAgent::MasterMessage::kRunTask).has_value());
  ASSERT_TRUE(agent->Take(FakeAgent::MasterMessage::kRunTask).has_value());
  EXPECT_FALSE(
      agent->Take(FakeAgent::MasterMessage::kRunTask, absl::Milliseconds(200))
          .has_value());
  EXPECT_EQ(FrameworkState(framework->framework_id())["tasks"].size(), 2u);
  EXPECT_EQ(Metrics()["master/tasks_error"], 5.0);
}

TEST_F(MasterSchedulerTest, UnknownOfferGivesTaskLostWithInvalidOffers) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());

  ASSERT_TRUE(framework
                  ->Send(framework->Accept(
                      {"no-such-offer"},
                      {CommandTask("t", agent->agent_id(), "cpus:1")}))
                  .ok());
  TaskStatus status = MasterUpdate(framework, "t");
  EXPECT_EQ(status.state(), mesos::v1::TASK_LOST);
  EXPECT_EQ(status.reason(), TaskStatus::REASON_INVALID_OFFERS);
  EXPECT_TRUE(absl::StrContains(status.message(), "no-such-offer"))
      << status.message();

  // Mixing a valid and a used-up offer: the valid one is discarded too.
  ASSERT_TRUE(framework
                  ->Send(framework->Accept(
                      {offer->id().value(), offer->id().value()},
                      {CommandTask("t2", agent->agent_id(), "cpus:1")}))
                  .ok());
  status = MasterUpdate(framework, "t2");
  EXPECT_EQ(status.state(), mesos::v1::TASK_LOST);
  EXPECT_TRUE(absl::StrContains(status.message(), "more than once"))
      << status.message();
  EXPECT_FALSE(
      agent->Take(FakeAgent::MasterMessage::kRunTask, absl::Milliseconds(200))
          .has_value());
  EXPECT_EQ(Metrics()["master/tasks_lost"], 2.0);

  mesos::v1::FrameworkInfo aware = TestFrameworkInfo("aware");
  aware.add_capabilities()->set_type(
      mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE);
  FakeScheduler* partition_aware = AddFramework(aware);
  ASSERT_TRUE(
      partition_aware
          ->Send(partition_aware->Accept(
              {"gone"}, {CommandTask("p", agent->agent_id(), "cpus:1")}))
          .ok());
  EXPECT_EQ(MasterUpdate(partition_aware, "p").state(),
            mesos::v1::TASK_DROPPED);
}

TEST_F(MasterSchedulerTest, DeclineFilterBlocksReofferUntilItExpires) {
  StartMaster();  // 50 ms allocation interval.
  AddAgent();
  FakeScheduler* framework = AddFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());

  absl::Time declined = absl::Now();
  ASSERT_TRUE(
      framework->Send(framework->Decline({offer->id().value()}, 1.0)).ok());
  auto again = framework->TakeOffer(absl::Seconds(10));
  absl::Duration waited = absl::Now() - declined;
  ASSERT_TRUE(again.has_value());
  // Twenty allocation runs passed in between; the filter held the agent.
  EXPECT_GE(waited, absl::Milliseconds(990)) << waited;
  EXPECT_EQ(again->agent_id().value(), offer->agent_id().value());

  // Without a filter the resources come back on the next runs.
  declined = absl::Now();
  ASSERT_TRUE(
      framework->Send(framework->Decline({again->id().value()}, 0)).ok());
  ASSERT_TRUE(framework->TakeOffer(absl::Seconds(10)).has_value());
  EXPECT_LT(absl::Now() - declined, absl::Milliseconds(990));
}

TEST_F(MasterSchedulerTest, StatusUpdateAndAcknowledgementAreRelayed) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  ASSERT_TRUE(framework
                  ->Send(framework->Accept(
                      {offer->id().value()},
                      {CommandTask("t1", agent->agent_id(), "cpus:2;mem:64")}))
                  .ok());
  ASSERT_TRUE(agent->Take(FakeAgent::MasterMessage::kRunTask).has_value());

  auto acknowledge = [&](const std::string& uuid) {
    Call call;
    call.set_type(Call::ACKNOWLEDGE);
    call.mutable_acknowledge()->mutable_agent_id()->set_value(
        agent->agent_id());
    call.mutable_acknowledge()->mutable_task_id()->set_value("t1");
    call.mutable_acknowledge()->set_uuid(uuid);
    return framework->Send(call);
  };
  auto update_for = [&](mesos::v1::TaskState state) {
    return framework->Take(
        [state](const Event& e) {
          return e.type() == Event::UPDATE &&
                 e.update().status().state() == state;
        },
        absl::Seconds(10));
  };

  std::string running = agent->SendStatusUpdate(framework->framework_id(), "t1",
                                                mesos::v1::TASK_RUNNING);
  auto update = update_for(mesos::v1::TASK_RUNNING);
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->update().status().uuid(), running);
  EXPECT_EQ(update->update().status().agent_id().value(), agent->agent_id());
  EXPECT_TRUE(WaitUntil([&] {
    return FrameworkState(framework->framework_id())["tasks"][0]["state"] ==
           "TASK_RUNNING";
  }));

  ASSERT_TRUE(acknowledge(running).ok());
  auto ack = agent->Take(FakeAgent::MasterMessage::kAcknowledgement);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->acknowledgement().uuid(), running);
  EXPECT_EQ(ack->acknowledgement().task_id().value(), "t1");
  EXPECT_EQ(ack->acknowledgement().framework_id().value(),
            framework->framework_id());

  // The same uuid again is not the pending one: counted, not relayed.
  ASSERT_TRUE(acknowledge(running).ok());
  EXPECT_TRUE(WaitUntil([&] {
    return Metrics()["master/invalid_status_update_acknowledgements"] == 1.0;
  }));
  EXPECT_FALSE(agent
                   ->Take(FakeAgent::MasterMessage::kAcknowledgement,
                          absl::Milliseconds(200))
                   .has_value());

  // A terminal update releases the resources; its ack completes the task.
  std::string finished = agent->SendStatusUpdate(
      framework->framework_id(), "t1", mesos::v1::TASK_FINISHED);
  ASSERT_TRUE(update_for(mesos::v1::TASK_FINISHED).has_value());
  EXPECT_EQ(Metrics()["master/cpus_used"], 0.0);
  EXPECT_EQ(Metrics()["master/tasks_finished"], 1.0);
  EXPECT_EQ(FrameworkState(framework->framework_id())["tasks"].size(), 1u);
  ASSERT_TRUE(acknowledge(finished).ok());
  ASSERT_TRUE(
      agent->Take(FakeAgent::MasterMessage::kAcknowledgement).has_value());
  nlohmann::json state = FrameworkState(framework->framework_id());
  EXPECT_EQ(state["tasks"].size(), 0u);
  ASSERT_EQ(state["completed_tasks"].size(), 1u);
  EXPECT_EQ(state["completed_tasks"][0]["state"], "TASK_FINISHED");
}

TEST_F(MasterSchedulerTest, CallErrorsHaveSpecificCodesAndMessages) {
  StartMaster();
  FakeScheduler* framework = AddFramework();
  Call revive;
  revive.set_type(Call::REVIVE);

  grpc::Status wrong = framework->SendRaw(
      [&] {
        Call c = revive;
        c.mutable_framework_id()->set_value(framework->framework_id());
        return c;
      }(),
      "not-the-stream-id");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(wrong.error_message(), "stream id"));

  Call with_id = revive;
  with_id.mutable_framework_id()->set_value(framework->framework_id());
  grpc::Status missing = framework->SendRaw(with_id, "");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  grpc::Status no_framework =
      framework->SendRaw(revive, framework->stream_id());
  EXPECT_EQ(no_framework.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(no_framework.error_message(), "framework_id"));

  Call unknown = revive;
  unknown.mutable_framework_id()->set_value("nobody");
  grpc::Status not_found = framework->SendRaw(unknown, framework->stream_id());
  EXPECT_EQ(not_found.error_code(), grpc::StatusCode::NOT_FOUND);

  Call accept;
  accept.set_type(Call::ACCEPT);
  grpc::Status no_body = framework->Send(accept);
  EXPECT_EQ(no_body.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(no_body.error_message(), "'accept'"));

  Call suppress;
  suppress.set_type(Call::SUPPRESS);
  suppress.mutable_suppress()->add_roles("not-my-role");
  grpc::Status bad_role = framework->Send(suppress);
  EXPECT_EQ(bad_role.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_TRUE(framework->Send(revive).ok());
}

TEST_F(MasterSchedulerTest, CallAfterTheStreamEndedIsFailedPrecondition) {
  StartMaster();
  mesos::v1::FrameworkInfo info = TestFrameworkInfo("fw");
  info.set_failover_timeout(3600);
  FakeScheduler* framework = AddFramework(info);
  framework->Disconnect();
  ASSERT_TRUE(WaitUntil([&] {
    return FrameworkState(framework->framework_id())["connected"] == false;
  }));
  Call revive;
  revive.set_type(Call::REVIVE);
  grpc::Status status = framework->Send(revive);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "not subscribed"));
  EXPECT_EQ(Metrics()["master/frameworks_disconnected"], 1.0);
}

TEST_F(MasterSchedulerTest, TwoFrameworksGetOffersInDrfOrder) {
  MasterOptions options = TestMasterOptions();
  // Only triggered allocations: the order below is then exact.
  options.allocation_interval = absl::Hours(1);
  StartMaster(options);
  FakeAgent* agent1 = AddAgent("a1", "cpus:2;mem:1024");
  FakeAgent* agent2 = AddAgent("a2", "cpus:2;mem:1024");

  FakeScheduler* first = AddFramework(TestFrameworkInfo("first"));
  std::vector<mesos::v1::Offer> offers = first->TakeOffers(2);
  ASSERT_EQ(offers.size(), 2u);
  // `first` takes all of agent 1 (share 0.5) and hands agent 2 back
  // without a filter.
  const mesos::v1::Offer& on1 =
      offers[0].agent_id().value() == agent1->agent_id() ? offers[0]
                                                         : offers[1];
  const mesos::v1::Offer& on2 = &on1 == &offers[0] ? offers[1] : offers[0];
  ASSERT_TRUE(first
                  ->Send(first->Accept({on1.id().value()},
                                       {CommandTask("big", agent1->agent_id(),
                                                    "cpus:2;mem:1024")}))
                  .ok());
  ASSERT_TRUE(first->Send(first->Decline({on2.id().value()}, 0)).ok());
  ASSERT_TRUE(
      WaitUntil([&] { return Metrics()["master/outstanding_offers"] == 0.0; }));

  // `second` (share 0) comes before `first` (share 0.5) for agent 2.
  FakeScheduler* second = AddFramework(TestFrameworkInfo("second"));
  auto offer = second->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->agent_id().value(), agent2->agent_id());
  EXPECT_FALSE(first->TakeOffer(absl::Milliseconds(300)).has_value());
}

TEST_F(MasterSchedulerTest, AnotherFrameworksOfferIsRejectedAndUntouched) {
  MasterOptions options = TestMasterOptions();
  options.allocation_interval = absl::Hours(1);
  StartMaster(options);
  FakeAgent* agent = AddAgent();
  FakeScheduler* owner = AddFramework(TestFrameworkInfo("owner"));
  auto offer = owner->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  FakeScheduler* thief = AddFramework(TestFrameworkInfo("thief"));

  grpc::Status declined =
      thief->Send(thief->Decline({offer->id().value()}, 1000));
  EXPECT_EQ(declined.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(declined.error_message(), "another framework"));
  grpc::Status accepted = thief->Send(thief->Accept(
      {offer->id().value()}, {CommandTask("x", agent->agent_id(), "cpus:1")}));
  EXPECT_EQ(accepted.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  ASSERT_TRUE(owner
                  ->Send(owner->Accept(
                      {offer->id().value()},
                      {CommandTask("mine", agent->agent_id(), "cpus:1")}))
                  .ok());
  auto run = agent->Take(FakeAgent::MasterMessage::kRunTask);
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->run_task().task().task_id().value(), "mine");
}

}  // namespace
}  // namespace agora::testing
