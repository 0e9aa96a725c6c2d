// Master tests of the framework-facing contract: failover timeout, kill,
// filters, suppress/revive, UPDATE_FRAMEWORK, acknowledgements, bounded
// histories, bad input and slow subscribers.
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <limits>
#include <mutex>
#include <string>

#include "absl/strings/match.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "master/master_test_fixture.h"

namespace agora::testing {
namespace {

using mesos::v1::TaskStatus;

mesos::v1::FrameworkInfo WithFailover(mesos::v1::FrameworkInfo info,
                                      double seconds) {
  info.set_failover_timeout(seconds);
  return info;
}

mesos::v1::FrameworkInfo MultiRole(const std::vector<std::string>& roles) {
  mesos::v1::FrameworkInfo info = TestFrameworkInfo("multi");
  for (const std::string& role : roles) info.add_roles(role);
  info.add_capabilities()->set_type(
      mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
  return info;
}

class MasterContractTest : public MasterFixture {
 protected:
  // Launches `task_id` (cpus:1;mem:64) from the framework's next offer and
  // waits for the agent to receive it; returns the RunTask.
  internal::RunTask Launch(FakeScheduler* framework, FakeAgent* agent,
                           const std::string& task_id,
                           std::optional<double> refuse_seconds = 0,
                           const mesos::v1::TaskInfo* custom = nullptr) {
    auto offer = framework->TakeOffer();
    EXPECT_TRUE(offer.has_value());
    if (!offer.has_value()) return internal::RunTask();
    mesos::v1::TaskInfo task =
        custom != nullptr
            ? *custom
            : CommandTask(task_id, agent->agent_id(), "cpus:1;mem:64");
    EXPECT_TRUE(framework
                    ->Send(framework->Accept({offer->id().value()}, {task},
                                             refuse_seconds))
                    .ok());
    auto run = agent->Take(FakeAgent::MasterMessage::kRunTask);
    EXPECT_TRUE(run.has_value());
    return run.has_value() ? run->run_task() : internal::RunTask();
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

  // Sends TASK_FINISHED for `task_id` and acknowledges it.
  void Finish(FakeScheduler* framework, FakeAgent* agent,
              const std::string& task_id) {
    std::string uuid = agent->SendStatusUpdate(
        framework->framework_id(), task_id, mesos::v1::TASK_FINISHED);
    ASSERT_TRUE(TakeUpdate(framework, task_id).has_value());
    Call ack;
    ack.set_type(Call::ACKNOWLEDGE);
    ack.mutable_acknowledge()->mutable_agent_id()->set_value(agent->agent_id());
    ack.mutable_acknowledge()->mutable_task_id()->set_value(task_id);
    ack.mutable_acknowledge()->set_uuid(uuid);
    ASSERT_TRUE(framework->Send(ack).ok());
  }

  static Call Simple(Call::Type type) {
    Call call;
    call.set_type(type);
    return call;
  }

  static Call Roles(Call::Type type, const std::vector<std::string>& roles) {
    Call call = Simple(type);
    for (const std::string& role : roles) {
      if (type == Call::SUPPRESS) call.mutable_suppress()->add_roles(role);
      if (type == Call::REVIVE) call.mutable_revive()->add_roles(role);
    }
    return call;
  }
};

// --- Framework lifecycle
// ------------------------------------------------------

TEST_F(MasterContractTest, FailoverTimeoutRemovesTheFrameworkAndKillsItsTasks) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework =
      AddFramework(WithFailover(TestFrameworkInfo("fw"), 0.5));
  Launch(framework, agent, "t1");
  std::string id = framework->framework_id();

  framework->Disconnect();
  // First only disconnected: still there, its task too.
  ASSERT_TRUE(WaitUntil([&] {
    nlohmann::json state = FrameworkState(id);
    return !state.is_null() && state["connected"] == false;
  }));
  EXPECT_EQ(FrameworkState(id)["tasks"].size(), 1u);

  // Then removed once the failover timeout passes.
  auto shutdown = agent->Take(FakeAgent::MasterMessage::kShutdownFramework);
  ASSERT_TRUE(shutdown.has_value());
  EXPECT_EQ(shutdown->shutdown_framework().framework_id().value(), id);
  nlohmann::json state = State();
  EXPECT_EQ(state["frameworks"].size(), 0u);
  ASSERT_EQ(state["completed_frameworks"].size(), 1u);
  nlohmann::json task = state["completed_frameworks"][0]["completed_tasks"][0];
  EXPECT_EQ(task["id"], "t1");
  EXPECT_EQ(task["state"], "TASK_KILLED");
  EXPECT_EQ(task["statuses"].back()["reason"], "REASON_FRAMEWORK_REMOVED");
  EXPECT_EQ(Metrics()["master/tasks_killed"], 1.0);
  EXPECT_EQ(Metrics()["master/cpus_used"], 0.0);

  // The id is gone for good.
  FakeScheduler again(server_->grpc_address());
  mesos::v1::FrameworkInfo info = TestFrameworkInfo("fw");
  info.mutable_id()->set_value(id);
  auto refused = again.Subscribe(info);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MasterContractTest, ZeroFailoverTimeoutRemovesTheFrameworkAtOnce) {
  StartMaster();
  FakeScheduler* framework = AddFramework(TestFrameworkInfo("fw"));
  framework->Disconnect();
  ASSERT_TRUE(
      WaitUntil([&] { return State()["completed_frameworks"].size() == 1u; }));
  EXPECT_EQ(State()["frameworks"].size(), 0u);
}

TEST_F(MasterContractTest, ResubscriptionWithinTheTimeoutKeepsEveryTask) {
  MasterOptions options = TestMasterOptions();
  options.heartbeat_interval = absl::Milliseconds(100);
  StartMaster(options);
  FakeAgent* agent = AddAgent();
  FakeScheduler* first =
      AddFramework(WithFailover(TestFrameworkInfo("fw"), 1.0));
  Launch(first, agent, "t1");
  Launch(first, agent, "t2");
  first->Disconnect();
  ASSERT_TRUE(WaitUntil([&] {
    return FrameworkState(first->framework_id())["connected"] == false;
  }));

  mesos::v1::FrameworkInfo info = WithFailover(TestFrameworkInfo("fw"), 1.0);
  info.mutable_id()->set_value(first->framework_id());
  FakeScheduler* second = AddFramework(info);
  ASSERT_EQ(second->framework_id(), first->framework_id());
  // Well past the old deadline (15 heartbeats = 1.5 s): nothing removed.
  for (int i = 0; i < 15; ++i) {
    ASSERT_TRUE(second->Take(Event::HEARTBEAT).has_value());
  }
  EXPECT_FALSE(agent
                   ->Take(FakeAgent::MasterMessage::kShutdownFramework,
                          absl::Milliseconds(1))
                   .has_value());
  nlohmann::json state = FrameworkState(second->framework_id());
  EXPECT_EQ(state["connected"], true);
  EXPECT_EQ(state["tasks"].size(), 2u);
  EXPECT_EQ(State()["completed_frameworks"].size(), 0u);
}

TEST_F(MasterContractTest, TeardownRescindsOffersAndKillsTasks) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  Launch(framework, agent, "t1");
  ASSERT_TRUE(framework->TakeOffer().has_value());  // The rest of the agent.
  EXPECT_EQ(Metrics()["master/outstanding_offers"], 1.0);
  ASSERT_TRUE(framework->Send(Simple(Call::TEARDOWN)).ok());
  ASSERT_TRUE(
      agent->Take(FakeAgent::MasterMessage::kShutdownFramework).has_value());
  EXPECT_EQ(Metrics()["master/outstanding_offers"], 0.0);
  nlohmann::json frameworks = GetJson(*server_, "/frameworks");
  EXPECT_EQ(frameworks["frameworks"].size(), 0u);
  ASSERT_EQ(frameworks["completed_frameworks"].size(), 1u);
  EXPECT_EQ(
      frameworks["completed_frameworks"][0]["completed_tasks"][0]["statuses"]
          .back()["reason"],
      "REASON_FRAMEWORK_REMOVED");
}

TEST_F(MasterContractTest, CompletedHistoriesAreBounded) {
  MasterOptions options = TestMasterOptions();
  options.max_completed_frameworks = 2;
  options.max_completed_tasks_per_framework = 2;
  StartMaster(options);
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework(TestFrameworkInfo("tasks"));
  for (const char* id : {"a", "b", "c"}) {
    Launch(framework, agent, id);
    Finish(framework, agent, id);
  }
  ASSERT_TRUE(WaitUntil([&] {
    return FrameworkState(framework->framework_id())["tasks"].size() == 0u;
  }));
  nlohmann::json completed =
      FrameworkState(framework->framework_id())["completed_tasks"];
  ASSERT_EQ(completed.size(), 2u);  // "a" dropped.
  EXPECT_EQ(completed[0]["id"], "b");
  EXPECT_EQ(completed[1]["id"], "c");

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    FakeScheduler* f = AddFramework(TestFrameworkInfo("f" + std::to_string(i)));
    ids.push_back(f->framework_id());
    ASSERT_TRUE(f->Send(Simple(Call::TEARDOWN)).ok());
  }
  for (const char* path : {"/state", "/frameworks"}) {
    nlohmann::json json = GetJson(*server_, path);
    ASSERT_EQ(json["completed_frameworks"].size(), 2u) << path;
    EXPECT_EQ(json["completed_frameworks"][0]["id"], ids[1]) << path;
    EXPECT_EQ(json["completed_frameworks"][1]["id"], ids[2]) << path;
  }
}

// --- Kill --------------------------------------------------------------------

TEST_F(MasterContractTest, KillCarriesTheCallsPolicyElseTheTasks) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  mesos::v1::TaskInfo task =
      CommandTask("t1", agent->agent_id(), "cpus:1;mem:64");
  task.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(
      7000000000);
  Launch(framework, agent, "t1", 0, &task);

  Call kill = Simple(Call::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("t1");
  ASSERT_TRUE(framework->Send(kill).ok());
  auto from_task = agent->Take(FakeAgent::MasterMessage::kKillTask);
  ASSERT_TRUE(from_task.has_value());
  EXPECT_EQ(from_task->kill_task().kill_policy().grace_period().nanoseconds(),
            7000000000);

  kill.mutable_kill()
      ->mutable_kill_policy()
      ->mutable_grace_period()
      ->set_nanoseconds(1000000);
  ASSERT_TRUE(framework->Send(kill).ok());
  auto from_call = agent->Take(FakeAgent::MasterMessage::kKillTask);
  ASSERT_TRUE(from_call.has_value());
  EXPECT_EQ(from_call->kill_task().kill_policy().grace_period().nanoseconds(),
            1000000);
  EXPECT_EQ(Metrics()["master/messages_kill_task"], 2.0);
}

TEST_F(MasterContractTest, KillNamingAnotherAgentOrFrameworkChangesNothing) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* owner = AddFramework(TestFrameworkInfo("owner"));
  Launch(owner, agent, "t1");
  FakeScheduler* other = AddFramework(TestFrameworkInfo("other"));

  Call kill = Simple(Call::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("t1");
  kill.mutable_kill()->mutable_agent_id()->set_value("some-other-agent");
  ASSERT_TRUE(owner->Send(kill).ok());

  // Another framework's task is unknown to it: reconciled as such.
  kill.mutable_kill()->clear_agent_id();
  ASSERT_TRUE(other->Send(kill).ok());
  auto answer = TakeUpdate(other, "t1");
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->update().status().reason(),
            TaskStatus::REASON_RECONCILIATION);
  EXPECT_NE(answer->update().status().state(), mesos::v1::TASK_RUNNING);
  EXPECT_NE(answer->update().status().state(), mesos::v1::TASK_STAGING);

  EXPECT_FALSE(
      agent->Take(FakeAgent::MasterMessage::kKillTask, absl::Milliseconds(300))
          .has_value());
  EXPECT_EQ(FrameworkState(owner->framework_id())["tasks"][0]["state"],
            "TASK_STAGING");
  Call empty = Simple(Call::KILL);
  empty.mutable_kill()->mutable_task_id()->set_value("");
  grpc::Status status = owner->Send(empty);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "task_id"));
}

TEST_F(MasterContractTest, ShutdownIsSentToTheExecutorsAgent) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  Call shutdown = Simple(Call::SHUTDOWN);
  shutdown.mutable_shutdown()->mutable_agent_id()->set_value(agent->agent_id());
  shutdown.mutable_shutdown()->mutable_executor_id()->set_value("e1");
  ASSERT_TRUE(framework->Send(shutdown).ok());
  auto sent = agent->Take(FakeAgent::MasterMessage::kShutdownExecutor);
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->shutdown_executor().executor_id().value(), "e1");
  EXPECT_EQ(sent->shutdown_executor().framework_id().value(),
            framework->framework_id());
}

// --- Filters, suppress, revive
// ------------------------------------------------

TEST_F(MasterContractTest, FilterBlocksOnlySubsetsOnThatAgent) {
  MasterOptions options = TestMasterOptions();
  StartMaster(options);
  FakeAgent* agent = AddAgent("a1", "cpus:4;mem:1024");
  FakeScheduler* framework = AddFramework();
  // Launching with a long filter refuses the rest (cpus:3) on this agent.
  Launch(framework, agent, "t1", 3600);
  EXPECT_FALSE(framework->TakeOffer(absl::Milliseconds(300)).has_value());

  // A second agent is not filtered.
  FakeAgent* agent2 = AddAgent("a2", "cpus:1;mem:256");
  auto offer2 = framework->TakeOffer();
  ASSERT_TRUE(offer2.has_value());
  EXPECT_EQ(offer2->agent_id().value(), agent2->agent_id());
  ASSERT_TRUE(
      framework->Send(framework->Decline({offer2->id().value()}, 3600)).ok());

  // Once the task ends, agent 1 has more than was refused: offered again.
  std::string uuid = agent->SendStatusUpdate(framework->framework_id(), "t1",
                                             mesos::v1::TASK_FINISHED);
  (void)uuid;
  auto again = framework->TakeOffer();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->agent_id().value(), agent->agent_id());
  EXPECT_DOUBLE_EQ(OfferedScalar(*again, "cpus"), 4);
}

TEST_F(MasterContractTest, DeclineWithoutRefuseSecondsUsesTheDefault) {
  StartMaster();  // 50 ms allocation interval.
  AddAgent();
  FakeScheduler* framework = AddFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  // No filters at all, then a negative refuse_seconds: Mesos's 5 s either
  // way, so twenty allocation runs pass without the agent.
  for (std::optional<double> refuse :
       {std::optional<double>(), std::optional<double>(-3)}) {
    ASSERT_TRUE(
        framework->Send(framework->Decline({offer->id().value()}, refuse))
            .ok());
    EXPECT_FALSE(framework->TakeOffer(absl::Seconds(1)).has_value());
    ASSERT_TRUE(framework->Send(Simple(Call::REVIVE)).ok());
    offer = framework->TakeOffer();
    ASSERT_TRUE(offer.has_value());
  }
}

TEST_F(MasterContractTest, DeclineNeverTriggersAnAllocationReviveDoes) {
  MasterOptions options = TestMasterOptions();
  options.allocation_interval = absl::Hours(1);  // Triggered runs only.
  StartMaster(options);
  AddAgent();
  FakeScheduler* framework = AddFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  ASSERT_TRUE(
      framework->Send(framework->Decline({offer->id().value()}, 0)).ok());
  EXPECT_FALSE(framework->TakeOffer(absl::Milliseconds(300)).has_value());
  ASSERT_TRUE(framework->Send(Simple(Call::REVIVE)).ok());
  EXPECT_TRUE(framework->TakeOffer().has_value());
}

TEST_F(MasterContractTest, ReviveClearsFiltersAndSuppressStopsOffers) {
  StartMaster();  // 50 ms allocation interval.
  AddAgent();
  FakeScheduler* framework = AddFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  ASSERT_TRUE(
      framework->Send(framework->Decline({offer->id().value()}, 3600)).ok());
  EXPECT_FALSE(framework->TakeOffer(absl::Milliseconds(300)).has_value());
  ASSERT_TRUE(framework->Send(Simple(Call::REVIVE)).ok());
  offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());

  // Suppressed (all roles): no offers even without a filter.
  ASSERT_TRUE(framework->Send(Simple(Call::SUPPRESS)).ok());
  ASSERT_TRUE(
      framework->Send(framework->Decline({offer->id().value()}, 0)).ok());
  EXPECT_FALSE(framework->TakeOffer(absl::Milliseconds(500)).has_value());
  ASSERT_TRUE(framework->Send(Simple(Call::REVIVE)).ok());
  EXPECT_TRUE(framework->TakeOffer().has_value());
}

TEST_F(MasterContractTest, SuppressAndReviveArePerRole) {
  StartMaster();
  AddAgent();
  FakeScheduler* framework = AddFramework(MultiRole({"a", "b"}));
  ASSERT_TRUE(framework->Send(Roles(Call::SUPPRESS, {"a"})).ok());
  // Whatever is offered from now on goes to role "b" only.
  for (int i = 0; i < 4; ++i) {
    auto offer = framework->TakeOffer();
    ASSERT_TRUE(offer.has_value());
    if (i > 0) {
      EXPECT_EQ(offer->allocation_info().role(), "b");
    }
    ASSERT_TRUE(
        framework->Send(framework->Decline({offer->id().value()}, 0)).ok());
  }
  ASSERT_TRUE(framework->Send(Roles(Call::SUPPRESS, {"b"})).ok());
  ASSERT_TRUE(WaitUntil([&] {
    auto offer = framework->TakeOffer(absl::Milliseconds(200));
    if (!offer.has_value()) return true;
    framework->Send(framework->Decline({offer->id().value()}, 0));
    return false;
  }));
  EXPECT_FALSE(framework->TakeOffer(absl::Milliseconds(300)).has_value());
  ASSERT_TRUE(framework->Send(Roles(Call::REVIVE, {"a"})).ok());
  for (int i = 0; i < 3; ++i) {
    auto offer = framework->TakeOffer();
    ASSERT_TRUE(offer.has_value());
    EXPECT_EQ(offer->allocation_info().role(), "a");
    ASSERT_TRUE(
        framework->Send(framework->Decline({offer->id().value()}, 0)).ok());
  }
}

// --- UPDATE_FRAMEWORK
// ---------------------------------------------------------

Call UpdateCall(const mesos::v1::FrameworkInfo& info,
                const std::vector<std::string>& suppressed = {}) {
  Call call;
  call.set_type(Call::UPDATE_FRAMEWORK);
  *call.mutable_update_framework()->mutable_framework_info() = info;
  for (const std::string& role : suppressed) {
    call.mutable_update_framework()->add_suppressed_roles(role);
  }
  return call;
}

TEST_F(MasterContractTest, UpdateFrameworkChangesRolesAndRescindsOldOffers) {
  StartMaster();
  AddAgent();
  FakeScheduler* framework = AddFramework(MultiRole({"a"}));
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->allocation_info().role(), "a");

  mesos::v1::FrameworkInfo info = MultiRole({"b"});
  info.set_name("renamed");
  info.set_failover_timeout(42);
  info.add_capabilities()->set_type(
      mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE);
  info.mutable_id()->set_value(framework->framework_id());
  ASSERT_TRUE(framework->Send(UpdateCall(info)).ok());
  auto rescind = framework->Take(Event::RESCIND);
  ASSERT_TRUE(rescind.has_value());
  EXPECT_EQ(rescind->rescind().offer_id().value(), offer->id().value());
  auto next = framework->TakeOffer();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->allocation_info().role(), "b");

  nlohmann::json state = FrameworkState(framework->framework_id());
  EXPECT_EQ(state["name"], "renamed");
  EXPECT_EQ(state["roles"], nlohmann::json::array({"b"}));
  EXPECT_EQ(state["failover_timeout"], 42.0);
  EXPECT_TRUE(
      absl::StrContains(state["capabilities"].dump(), "PARTITION_AWARE"));
}

TEST_F(MasterContractTest, UpdateFrameworkRejectsImmutableChangesUntouched) {
  StartMaster();
  FakeScheduler* framework = AddFramework(MultiRole({"a"}));
  mesos::v1::FrameworkInfo info = MultiRole({"b"});
  info.mutable_id()->set_value(framework->framework_id());

  mesos::v1::FrameworkInfo other_user = info;
  other_user.set_user("someone-else");
  grpc::Status user = framework->Send(UpdateCall(other_user));
  EXPECT_EQ(user.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(user.error_message(), "'user'"))
      << user.error_message();

  mesos::v1::FrameworkInfo other_id = info;
  other_id.mutable_id()->set_value("not-me");
  grpc::Status id = framework->Send(UpdateCall(other_id));
  EXPECT_EQ(id.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  mesos::v1::FrameworkInfo bad_timeout = info;
  bad_timeout.set_failover_timeout(std::numeric_limits<double>::infinity());
  EXPECT_EQ(framework->Send(UpdateCall(bad_timeout)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  mesos::v1::FrameworkInfo bad_role = info;
  bad_role.add_roles("bad role");
  EXPECT_EQ(framework->Send(UpdateCall(bad_role)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  Call no_body = Simple(Call::UPDATE_FRAMEWORK);
  EXPECT_EQ(framework->Send(no_body).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(FrameworkState(framework->framework_id())["roles"],
            nlohmann::json::array({"a"}));
}

TEST_F(MasterContractTest, UpdateFrameworkOfferFiltersAndSuppressedRoles) {
  StartMaster();
  AddAgent("agent", "cpus:4;mem:4096");
  mesos::v1::FrameworkInfo info = MultiRole({"a"});
  // Offers in "a" must hold at least 8 cpus: this agent never qualifies.
  (*info.mutable_offer_filters())["a"]
      .mutable_min_allocatable_resources()
      ->add_quantities()
      ->mutable_quantities()
      ->insert({"cpus", [] {
                  mesos::v1::Value::Scalar s;
                  s.set_value(8);
                  return s;
                }()});
  FakeScheduler* framework = AddFramework(info);
  EXPECT_FALSE(framework->TakeOffer(absl::Milliseconds(400)).has_value());

  // Without the filter but with "a" suppressed: still nothing.
  info.clear_offer_filters();
  info.mutable_id()->set_value(framework->framework_id());
  ASSERT_TRUE(framework->Send(UpdateCall(info, {"a"})).ok());
  EXPECT_FALSE(framework->TakeOffer(absl::Milliseconds(400)).has_value());

  // Unsuppressed: offered.
  ASSERT_TRUE(framework->Send(UpdateCall(info)).ok());
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_DOUBLE_EQ(OfferedScalar(*offer, "cpus"), 4);
}

// --- Acknowledgements
// -----------------------------------------------------------

TEST_F(MasterContractTest, AcknowledgementsForUnknownTasksAreCountedNotSent) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  Call ack = Simple(Call::ACKNOWLEDGE);
  ack.mutable_acknowledge()->mutable_agent_id()->set_value(agent->agent_id());
  ack.mutable_acknowledge()->mutable_task_id()->set_value("never-launched");
  ack.mutable_acknowledge()->set_uuid(std::string(16, 'x'));
  ASSERT_TRUE(framework->Send(ack).ok());
  ASSERT_TRUE(WaitUntil([&] {
    return Metrics()["master/invalid_status_update_acknowledgements"] == 1.0;
  }));
  EXPECT_EQ(Metrics()["master/valid_status_update_acknowledgements"], 0.0);
  EXPECT_FALSE(agent
                   ->Take(FakeAgent::MasterMessage::kAcknowledgement,
                          absl::Milliseconds(200))
                   .has_value());

  // A uuid that is not one is malformed input.
  ack.mutable_acknowledge()->set_uuid("short");
  grpc::Status status = framework->Send(ack);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "uuid"));
}

// --- Bad input and slow subscribers
// ---------------------------------------------

// Sends `bytes` as the request of agora.v1.Scheduler/Call.
grpc::Status SendRawBytes(const std::string& address,
                          const std::string& stream_id,
                          const std::string& bytes) {
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.AddMetadata(kStreamIdMetadata, stream_id);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::Slice slice(bytes.data(), bytes.size());
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<grpc::Status> result;
  stub.UnaryCall(&context, "/agora.v1.Scheduler/Call", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   result = s;
                   cv.notify_all();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return result.has_value(); });
  return *result;
}

TEST_F(MasterContractTest, MalformedProtobufIsRejectedAndStateUntouched) {
  StartMaster();
  FakeScheduler* framework = AddFramework();
  Call revive = Simple(Call::REVIVE);
  revive.mutable_framework_id()->set_value(framework->framework_id());
  grpc::Status valid =
      SendRawBytes(server_->grpc_address(), framework->stream_id(),
                   revive.SerializeAsString());
  EXPECT_TRUE(valid.ok()) << valid.error_code() << " " << valid.error_message();
  // Field 2 (type) as a length-delimited field claiming 100 bytes.
  grpc::Status result = SendRawBytes(
      server_->grpc_address(), framework->stream_id(), "\x12\x64\x01\x02");
  EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(result.error_message(),
                                "not a valid mesos.v1.scheduler.Call"))
      << result.error_message();
  // A proto2 required field missing (Mesos's schema has them).
  Call kill = Simple(Call::KILL);
  kill.mutable_framework_id()->set_value(framework->framework_id());
  kill.mutable_kill();
  grpc::Status partial =
      SendRawBytes(server_->grpc_address(), framework->stream_id(),
                   kill.SerializePartialAsString());
  EXPECT_EQ(partial.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(partial.error_message(), "kill.task_id"))
      << partial.error_message();
  EXPECT_EQ(FrameworkState(framework->framework_id())["connected"], true);
  EXPECT_TRUE(framework->Send(Simple(Call::REVIVE)).ok());
}

// Sends `bytes` as the request of agora.v1.Scheduler/Subscribe and reads
// the stream to its end.
grpc::Status SubscribeRawBytes(const std::string& address,
                               const std::string& bytes, int* events) {
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::Slice slice(bytes.data(), bytes.size());
  grpc::ByteBuffer request(&slice, 1);
  grpc::internal::RpcMethod method("/agora.v1.Scheduler/Subscribe",
                                   grpc::internal::RpcMethod::SERVER_STREAMING);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
          channel.get(), method, &context, request));
  grpc::ByteBuffer event;
  *events = 0;
  while (reader->Read(&event)) ++(*events);
  return reader->Finish();
}

TEST_F(MasterContractTest, MalformedSubscribeIsRejectedWithAMessage) {
  StartMaster();
  int events = -1;
  grpc::Status garbage =
      SubscribeRawBytes(server_->grpc_address(), "\x12\x64\x01\x02", &events);
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(garbage.error_message(),
                                "not a valid mesos.v1.scheduler.Call"))
      << garbage.error_message();
  EXPECT_EQ(events, 0);
  // FrameworkInfo without its required user and name.
  Call subscribe = Simple(Call::SUBSCRIBE);
  subscribe.mutable_subscribe()->mutable_framework_info();
  grpc::Status partial = SubscribeRawBytes(
      server_->grpc_address(), subscribe.SerializePartialAsString(), &events);
  EXPECT_EQ(partial.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(partial.error_message(), "framework_info"))
      << partial.error_message();
  EXPECT_EQ(State()["frameworks"].size(), 0u);
  // The same bytes, well formed, subscribe.
  *subscribe.mutable_subscribe()->mutable_framework_info() =
      TestFrameworkInfo("raw");
  auto channel = grpc::CreateChannel(server_->grpc_address(),
                                     grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  grpc::Slice slice(subscribe.SerializeAsString());
  grpc::ByteBuffer request(&slice, 1);
  grpc::internal::RpcMethod method("/agora.v1.Scheduler/Subscribe",
                                   grpc::internal::RpcMethod::SERVER_STREAMING);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
          channel.get(), method, &context, request));
  grpc::ByteBuffer first;
  ASSERT_TRUE(reader->Read(&first));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(first.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  Event subscribed;
  ASSERT_TRUE(subscribed.ParseFromString(bytes));
  EXPECT_EQ(subscribed.type(), Event::SUBSCRIBED);
  context.TryCancel();
}

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

TEST_F(MasterContractTest, SubscriberThatStopsReadingIsDisconnected) {
  MasterOptions options = TestMasterOptions();
  options.max_framework_events_queued = 64;
  StartMaster(options);
  FakeAgent* agent = AddAgent();

  // A framework that subscribes and then never reads its stream.
  auto stub = agora::v1::Scheduler::NewStub(grpc::CreateChannel(
      server_->grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  Call subscribe = Simple(Call::SUBSCRIBE);
  *subscribe.mutable_subscribe()->mutable_framework_info() =
      WithFailover(TestFrameworkInfo("stalled"), 3600);
  std::unique_ptr<grpc::ClientReader<Event>> stream =
      stub->Subscribe(&context, subscribe);
  stream->WaitForInitialMetadata();
  ASSERT_TRUE(WaitUntil([&] { return State()["frameworks"].size() == 1u; }));
  std::string id = State()["frameworks"][0]["id"];

  // 1,500 messages of 64 KiB (about 100 MB) from its executor.
  const std::string data(64 * 1024, 'x');
  size_t before = ResidentBytes();
  for (int i = 0; i < 1500; ++i) {
    internal::AgentMessage message;
    auto* relay = message.mutable_executor_to_framework();
    relay->mutable_framework_id()->set_value(id);
    relay->mutable_executor_id()->set_value("e");
    relay->set_data(data);
    ASSERT_TRUE(agent->Send(message));
  }
  // An update for an unknown framework marks the end: once it is counted,
  // the master has handled every message before it.
  agent->SendStatusUpdate("nobody", "marker", mesos::v1::TASK_RUNNING);
  ASSERT_TRUE(WaitUntil(
      [&] { return Metrics()["master/invalid_status_updates"] == 1.0; },
      absl::Seconds(60)));
  size_t after = ResidentBytes();
  size_t growth = after > before ? after - before : 0;
  EXPECT_LT(growth, 40u << 20) << "resident memory grew by " << growth;
  EXPECT_EQ(FrameworkState(id)["connected"], false);
  context.TryCancel();
}

}  // namespace
}  // namespace agora::testing
