// Master tests of agent health and partitions: agents failing health checks
// become unreachable (registry, tasks, offers, resources, FAILURE events)
// and come back with REASON_AGENT_REREGISTERED; link loss loses the tasks
// of non-checkpointing frameworks; MARK_AGENT_GONE over the operator API.
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "agora/v1/service.grpc.pb.h"
#include "gtest/gtest.h"
#include "master/master_test_fixture.h"

namespace agora::testing {
namespace {

using mesos::v1::TaskStatus;
using OperatorCall = mesos::v1::master::Call;
using OperatorResponse = mesos::v1::master::Response;

mesos::v1::FrameworkInfo FrameworkInfoWith(const std::string& name,
                                           bool partition_aware,
                                           bool checkpoint = true) {
  mesos::v1::FrameworkInfo info = TestFrameworkInfo(name);
  info.set_checkpoint(checkpoint);
  if (partition_aware) {
    info.add_capabilities()->set_type(
        mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE);
  }
  return info;
}

class MasterPartitionTest : public MasterFixture {
 protected:
  // Pings every 100 ms; three misses in a row make an agent unreachable.
  static MasterOptions FastHealthChecks() {
    MasterOptions options = TestMasterOptions();
    options.agent_ping_timeout = absl::Milliseconds(100);
    options.max_agent_ping_timeouts = 3;
    return options;
  }

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

  // Launches `task_id` and makes it RUNNING (update acknowledged).
  void LaunchRunning(FakeScheduler* framework, FakeAgent* agent,
                     const std::string& task_id) {
    Launch(framework, agent, task_id);
    std::string uuid = agent->SendStatusUpdate(
        framework->framework_id(), task_id, mesos::v1::TASK_RUNNING);
    auto running = TakeUpdate(framework, task_id);
    ASSERT_TRUE(running.has_value());
    Call ack;
    ack.set_type(Call::ACKNOWLEDGE);
    ack.mutable_acknowledge()->mutable_agent_id()->set_value(agent->agent_id());
    ack.mutable_acknowledge()->mutable_task_id()->set_value(task_id);
    ack.mutable_acknowledge()->set_uuid(uuid);
    ASSERT_TRUE(framework->Send(ack).ok());
  }

  static std::optional<Event> TakeUpdate(
      FakeScheduler* framework, const std::string& task_id,
      absl::Duration timeout = absl::Seconds(10)) {
    return framework->Take(
        [&](const Event& e) {
          return e.type() == Event::UPDATE &&
                 e.update().status().task_id().value() == task_id;
        },
        timeout);
  }

  grpc::Status Operator(const OperatorCall& call, OperatorResponse* response) {
    auto stub = agora::v1::Operator::NewStub(grpc::CreateChannel(
        server_->grpc_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return stub->Call(&context, call, response);
  }

  grpc::Status MarkGone(const std::string& agent_id) {
    OperatorCall call;
    call.set_type(OperatorCall::MARK_AGENT_GONE);
    call.mutable_mark_agent_gone()->mutable_agent_id()->set_value(agent_id);
    OperatorResponse response;
    return Operator(call, &response);
  }

  // A reregistration of `agent_id` reporting `task_id` of `framework_id`
  // as TASK_RUNNING (cpus:1;mem:64).
  static internal::ReregisterAgent ReregisterWithTask(
      const std::string& agent_id, const mesos::v1::FrameworkInfo& framework,
      const std::string& task_id) {
    internal::ReregisterAgent reregister;
    *reregister.mutable_agent_info() =
        TestAgentInfo("agent-host", kAgentResources);
    reregister.mutable_agent_info()->mutable_id()->set_value(agent_id);
    *reregister.add_frameworks() = framework;
    mesos::v1::Task* task = reregister.add_tasks();
    task->set_name(task_id);
    task->mutable_task_id()->set_value(task_id);
    *task->mutable_framework_id() = framework.id();
    task->mutable_agent_id()->set_value(agent_id);
    task->set_state(mesos::v1::TASK_RUNNING);
    *task->mutable_resources() =
        TestAgentInfo("x", "cpus:1;mem:64").resources();
    for (auto& r : *task->mutable_resources()) {
      r.mutable_allocation_info()->set_role("*");
    }
    return reregister;
  }

  std::unique_ptr<FakeAgent> NewAgent() {
    return std::make_unique<FakeAgent>(server_->grpc_address());
  }
};

TEST_F(MasterPartitionTest, SilentAgentBecomesUnreachableForPartitionAware) {
  StartMaster(FastHealthChecks());
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework(FrameworkInfoWith("pa", true));
  LaunchRunning(framework, agent, "t1");
  // The rest of the agent is offered again; that offer must be rescinded.
  auto rest = framework->TakeOffer();
  ASSERT_TRUE(rest.has_value());

  agent->set_answer_pings(false);
  auto update = TakeUpdate(framework, "t1");
  ASSERT_TRUE(update.has_value());
  const TaskStatus& status = update->update().status();
  EXPECT_EQ(status.state(), mesos::v1::TASK_UNREACHABLE);
  EXPECT_EQ(status.reason(), TaskStatus::REASON_AGENT_REMOVED);
  EXPECT_EQ(status.source(), TaskStatus::SOURCE_MASTER);
  EXPECT_EQ(status.message(), "health check timed out");
  EXPECT_EQ(status.agent_id().value(), agent->agent_id());
  EXPECT_FALSE(status.has_uuid());
  EXPECT_TRUE(status.has_unreachable_time());

  auto rescind = framework->Take(Event::RESCIND);
  ASSERT_TRUE(rescind.has_value());
  EXPECT_EQ(rescind->rescind().offer_id().value(), rest->id().value());
  auto failure = framework->Take(Event::FAILURE);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->failure().agent_id().value(), agent->agent_id());
  EXPECT_FALSE(failure->failure().has_executor_id());

  std::optional<grpc::Status> end = agent->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE);

  nlohmann::json metrics = Metrics();
  EXPECT_EQ(metrics["master/slave_unreachable_scheduled"], 1.0);
  EXPECT_EQ(metrics["master/slave_unreachable_completed"], 1.0);
  EXPECT_EQ(metrics["master/slave_removals"], 1.0);
  EXPECT_EQ(metrics["master/slave_removals/reason_unhealthy"], 1.0);
  EXPECT_EQ(metrics["master/slaves_unreachable"], 1.0);
  EXPECT_EQ(metrics["master/tasks_unreachable"], 1.0);
  EXPECT_EQ(metrics["master/tasks_running"], 0.0);
  EXPECT_EQ(metrics["master/cpus_used"], 0.0);
  EXPECT_EQ(metrics["master/outstanding_offers"], 0.0);

  nlohmann::json state = State();
  EXPECT_EQ(state["unreachable_slaves"], 1);
  EXPECT_EQ(state["slaves"].size(), 0u);
  nlohmann::json fw = FrameworkState(framework->framework_id());
  EXPECT_EQ(fw["tasks"].size(), 0u);
  ASSERT_EQ(fw["unreachable_tasks"].size(), 1u);
  EXPECT_EQ(fw["unreachable_tasks"][0]["state"], "TASK_UNREACHABLE");
  nlohmann::json slaves = GetJson(*server_, "/slaves");
  ASSERT_EQ(slaves["unreachable_slaves"].size(), 1u) << slaves.dump();
  EXPECT_EQ(slaves["unreachable_slaves"][0]["id"], agent->agent_id());
}

TEST_F(MasterPartitionTest, TeardownForgetsTheFrameworksUnreachableTasks) {
  StartMaster(FastHealthChecks());
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework(FrameworkInfoWith("pa", true));
  LaunchRunning(framework, agent, "t1");
  agent->set_answer_pings(false);
  ASSERT_TRUE(TakeUpdate(framework, "t1").has_value());  // UNREACHABLE
  ASSERT_EQ(Metrics()["master/tasks_unreachable"], 1.0);
  Call teardown;
  teardown.set_type(Call::TEARDOWN);
  ASSERT_TRUE(framework->Send(teardown).ok());
  ASSERT_TRUE(
      WaitUntil([&] { return State()["completed_frameworks"].size() == 1u; }));
  EXPECT_EQ(Metrics()["master/tasks_unreachable"], 0.0);
}

TEST_F(MasterPartitionTest, OtherFrameworksGetTaskLostWithAgentRemoved) {
  StartMaster(FastHealthChecks());
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework(FrameworkInfoWith("old", false));
  LaunchRunning(framework, agent, "t1");
  agent->set_answer_pings(false);
  auto update = TakeUpdate(framework, "t1");
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->update().status().state(), mesos::v1::TASK_LOST);
  EXPECT_EQ(update->update().status().reason(),
            TaskStatus::REASON_AGENT_REMOVED);
  EXPECT_TRUE(framework->Take(Event::FAILURE).has_value());
  nlohmann::json metrics = Metrics();
  EXPECT_EQ(metrics["master/tasks_lost"], 1.0);
  EXPECT_EQ(metrics["master/tasks_unreachable"], 0.0);
  // Kept as an unreachable task (Mesos 1.5+), in state TASK_LOST.
  nlohmann::json fw = FrameworkState(framework->framework_id());
  ASSERT_EQ(fw["unreachable_tasks"].size(), 1u);
  EXPECT_EQ(fw["unreachable_tasks"][0]["state"], "TASK_LOST");
}

TEST_F(MasterPartitionTest, UnreachableAgentComesBackWithItsTasks) {
  StartMaster(FastHealthChecks());
  FakeAgent* agent = AddAgent();
  mesos::v1::FrameworkInfo info = FrameworkInfoWith("pa", true);
  FakeScheduler* framework = AddFramework(info);
  LaunchRunning(framework, agent, "t1");
  std::string agent_id = agent->agent_id();
  agent->set_answer_pings(false);
  ASSERT_TRUE(TakeUpdate(framework, "t1").has_value());  // UNREACHABLE
  ASSERT_TRUE(agent->WaitForEnd().has_value());

  info.mutable_id()->set_value(framework->framework_id());
  auto back = NewAgent();
  auto registered = back->Reregister(ReregisterWithTask(agent_id, info, "t1"));
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_EQ(registered->agent_id().value(), agent_id);

  auto update = TakeUpdate(framework, "t1");
  ASSERT_TRUE(update.has_value());
  const TaskStatus& status = update->update().status();
  EXPECT_EQ(status.state(), mesos::v1::TASK_RUNNING);
  EXPECT_EQ(status.reason(), TaskStatus::REASON_AGENT_REREGISTERED);
  EXPECT_EQ(status.source(), TaskStatus::SOURCE_MASTER);
  EXPECT_EQ(status.message(), "Unreachable agent re-reregistered");
  EXPECT_FALSE(status.has_uuid());

  nlohmann::json metrics = Metrics();
  EXPECT_EQ(metrics["master/slaves_unreachable"], 0.0);
  EXPECT_EQ(metrics["master/tasks_unreachable"], 0.0);
  EXPECT_EQ(metrics["master/tasks_running"], 1.0);
  EXPECT_EQ(metrics["master/cpus_used"], 1.0);
  nlohmann::json fw = FrameworkState(framework->framework_id());
  EXPECT_EQ(fw["tasks"].size(), 1u);
  EXPECT_EQ(fw["unreachable_tasks"].size(), 0u);
  EXPECT_EQ(State()["slaves"].size(), 1u);
}

// An in-memory registry whose writes fail while `fail` is set.
class FlakyRegistry : public Registry {
 public:
  explicit FlakyRegistry(std::shared_ptr<std::atomic<bool>> fail)
      : fail_(std::move(fail)) {}
  void Recover(RecoverDone done) override { memory_->Recover(std::move(done)); }
  void Apply(std::vector<RegistryChange> changes, Done done) override {
    if (*fail_) return done(absl::UnavailableError("disk on fire"));
    memory_->Apply(std::move(changes), std::move(done));
  }
  std::string Describe() const override { return "flaky"; }

 private:
  std::shared_ptr<std::atomic<bool>> fail_;
  std::unique_ptr<Registry> memory_ = NewInMemoryRegistry();
};

TEST_F(MasterPartitionTest, UnreachableOnlyOnceDurableAndCanceledByAPong) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  auto server = MasterServer::Start(FastHealthChecks(),
                                    std::make_unique<FlakyRegistry>(fail));
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  FakeAgent* agent = AddAgent();
  // Waits until the master has sent `n` more pings (health-check ticks).
  auto wait_ticks = [agent](size_t n) {
    auto pings = [agent] {
      size_t count = 0;
      for (const auto& m : agent->All()) count += m.has_ping() ? 1 : 0;
      return count;
    };
    size_t target = pings() + n;
    return WaitUntil([&] { return pings() >= target; });
  };
  *fail = true;
  agent->set_answer_pings(false);
  ASSERT_TRUE(WaitUntil(
      [&] { return Metrics()["master/slave_unreachable_scheduled"] == 1.0; }));
  // The write failed: the agent is still registered and retried each tick.
  ASSERT_TRUE(wait_ticks(3));
  EXPECT_EQ(Metrics()["master/slave_unreachable_completed"], 0.0);
  EXPECT_EQ(State()["slaves"].size(), 1u);
  agent->set_answer_pings(true);
  ASSERT_TRUE(WaitUntil(
      [&] { return Metrics()["master/slave_unreachable_canceled"] == 1.0; }));
  *fail = false;
  ASSERT_TRUE(wait_ticks(4));  // Healthy ticks.
  EXPECT_EQ(State()["slaves"].size(), 1u);
  EXPECT_EQ(Metrics()["master/slave_unreachable_completed"], 0.0);
  EXPECT_FALSE(agent->WaitForEnd(absl::Milliseconds(1)).has_value());
}

TEST_F(MasterPartitionTest, LinkLossLosesOnlyNonCheckpointingTasks) {
  MasterOptions options = TestMasterOptions();  // Slow health checks.
  StartMaster(options);
  FakeAgent* agent = AddAgent("agent-host", "cpus:8;mem:4096");
  FakeScheduler* plain = AddFramework(FrameworkInfoWith("plain", false, false));
  LaunchRunning(plain, agent, "p1");
  FakeScheduler* durable = AddFramework(FrameworkInfoWith("durable", false));
  LaunchRunning(durable, agent, "d1");

  agent->Disconnect();
  auto lost = TakeUpdate(plain, "p1");
  ASSERT_TRUE(lost.has_value());
  const TaskStatus& status = lost->update().status();
  EXPECT_EQ(status.state(), mesos::v1::TASK_LOST);
  EXPECT_EQ(status.reason(), TaskStatus::REASON_AGENT_DISCONNECTED);
  EXPECT_EQ(status.message(), "Agent agent-host disconnected");
  EXPECT_FALSE(status.has_uuid());
  EXPECT_FALSE(TakeUpdate(durable, "d1", absl::Milliseconds(300)).has_value());
  EXPECT_EQ(FrameworkState(durable->framework_id())["tasks"].size(), 1u);
  nlohmann::json plain_state = FrameworkState(plain->framework_id());
  EXPECT_EQ(plain_state["tasks"].size(), 0u);
  ASSERT_EQ(plain_state["completed_tasks"].size(), 1u);
  EXPECT_EQ(plain_state["completed_tasks"][0]["state"], "TASK_LOST");
  EXPECT_EQ(Metrics()["master/cpus_used"], 1.0);
}

// A KILL for a task whose agent is disconnected (but not yet unreachable)
// is kept and sent when the agent reregisters still running the task, with
// the kill policy of the call (Mesos's killedTasks).
TEST_F(MasterPartitionTest, KillWhileAgentDisconnectedIsRetriedOnReregister) {
  StartMaster(TestMasterOptions());  // Slow health checks.
  FakeAgent* agent = AddAgent();
  mesos::v1::FrameworkInfo info = FrameworkInfoWith("durable", false);
  FakeScheduler* framework = AddFramework(info);
  LaunchRunning(framework, agent, "k1");
  LaunchRunning(framework, agent, "k2");
  std::string agent_id = agent->agent_id();
  agent->Disconnect();
  ASSERT_TRUE(WaitUntil(
      [&] { return Metrics()["master/slaves_disconnected"] == 1.0; }));

  for (const char* task : {"k1", "k2"}) {
    Call kill;
    kill.set_type(Call::KILL);
    kill.mutable_kill()->mutable_task_id()->set_value(task);
    kill.mutable_kill()
        ->mutable_kill_policy()
        ->mutable_grace_period()
        ->set_nanoseconds(7000000000);
    ASSERT_TRUE(framework->Send(kill).ok());
  }

  // Back, still running k1 only: k1's kill is retried, k2 is gone.
  info.mutable_id()->set_value(framework->framework_id());
  auto back = NewAgent();
  ASSERT_TRUE(back->Reregister(ReregisterWithTask(agent_id, info, "k1")).ok());
  auto kill = back->Take(FakeAgent::MasterMessage::kKillTask);
  ASSERT_TRUE(kill.has_value());
  EXPECT_EQ(kill->kill_task().task_id().value(), "k1");
  EXPECT_EQ(kill->kill_task().kill_policy().grace_period().nanoseconds(),
            7000000000);
  EXPECT_FALSE(
      back->Take(FakeAgent::MasterMessage::kKillTask, absl::Milliseconds(300))
          .has_value());
}

TEST_F(MasterPartitionTest, DeadAgentBecomesUnreachableAfterThePingBudget) {
  StartMaster(FastHealthChecks());
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework(FrameworkInfoWith("pa", true));
  LaunchRunning(framework, agent, "t1");
  agent->Disconnect();  // No link: no pong can come.
  auto update = TakeUpdate(framework, "t1");
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->update().status().state(), mesos::v1::TASK_UNREACHABLE);
  EXPECT_EQ(Metrics()["master/slaves_unreachable"], 1.0);
}

TEST_F(MasterPartitionTest, MarkAgentGoneShutsTheAgentDownAndEndsItsTasks) {
  StartMaster();
  FakeAgent* agent = AddAgent("agent-host", "cpus:8;mem:4096");
  FakeScheduler* aware = AddFramework(FrameworkInfoWith("pa", true));
  LaunchRunning(aware, agent, "a1");
  FakeScheduler* other = AddFramework(FrameworkInfoWith("old", false));
  LaunchRunning(other, agent, "o1");

  ASSERT_TRUE(MarkGone(agent->agent_id()).ok());
  auto shutdown = agent->Take(FakeAgent::MasterMessage::kShutdownAgent);
  ASSERT_TRUE(shutdown.has_value());
  EXPECT_EQ(shutdown->shutdown_agent().message(), "Agent has been marked gone");
  auto gone = TakeUpdate(aware, "a1");
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->update().status().state(), mesos::v1::TASK_GONE_BY_OPERATOR);
  EXPECT_EQ(gone->update().status().reason(),
            TaskStatus::REASON_AGENT_REMOVED_BY_OPERATOR);
  auto lost = TakeUpdate(other, "o1");
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ(lost->update().status().state(), mesos::v1::TASK_LOST);
  EXPECT_EQ(lost->update().status().reason(), TaskStatus::REASON_AGENT_REMOVED);
  EXPECT_TRUE(aware->Take(Event::FAILURE).has_value());
  nlohmann::json fw = FrameworkState(aware->framework_id());
  ASSERT_EQ(fw["completed_tasks"].size(), 1u);
  EXPECT_EQ(fw["completed_tasks"][0]["state"], "TASK_GONE_BY_OPERATOR");
  EXPECT_EQ(Metrics()["master/tasks_gone_by_operator"], 1.0);
  EXPECT_EQ(State()["slaves"].size(), 0u);

  // Idempotent.
  EXPECT_TRUE(MarkGone(agent->agent_id()).ok());
  // The agent is shut down if it comes back.
  mesos::v1::FrameworkInfo info = FrameworkInfoWith("pa", true);
  info.mutable_id()->set_value(aware->framework_id());
  auto back = NewAgent();
  auto refused =
      back->Reregister(ReregisterWithTask(agent->agent_id(), info, "a1"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  auto again = back->Take(FakeAgent::MasterMessage::kShutdownAgent);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->shutdown_agent().message(), "Agent has been marked gone");
}

TEST_F(MasterPartitionTest, MarkingAnUnreachableAgentGoneCompletesItsTasks) {
  StartMaster(FastHealthChecks());
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework(FrameworkInfoWith("pa", true));
  LaunchRunning(framework, agent, "t1");
  agent->set_answer_pings(false);
  ASSERT_TRUE(TakeUpdate(framework, "t1").has_value());  // UNREACHABLE
  ASSERT_TRUE(MarkGone(agent->agent_id()).ok());
  auto gone = TakeUpdate(framework, "t1");
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->update().status().state(), mesos::v1::TASK_GONE_BY_OPERATOR);
  nlohmann::json fw = FrameworkState(framework->framework_id());
  EXPECT_EQ(fw["unreachable_tasks"].size(), 0u);
  ASSERT_EQ(fw["completed_tasks"].size(), 1u);
  EXPECT_EQ(fw["completed_tasks"][0]["state"], "TASK_GONE_BY_OPERATOR");
  nlohmann::json metrics = Metrics();
  EXPECT_EQ(metrics["master/slaves_unreachable"], 0.0);
  EXPECT_EQ(metrics["master/tasks_unreachable"], 0.0);
}

TEST_F(MasterPartitionTest, OperatorCallErrorsAreSpecific) {
  StartMaster();
  grpc::Status unknown = MarkGone("no-such-agent");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(), "Agent 'no-such-agent' not found");

  OperatorCall call;
  call.set_type(OperatorCall::MARK_AGENT_GONE);
  OperatorResponse response;
  grpc::Status missing = Operator(call, &response);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(missing.error_message(), "agent_id"));

  call.Clear();
  grpc::Status untyped = Operator(call, &response);
  EXPECT_EQ(untyped.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  call.set_type(OperatorCall::GET_MAINTENANCE_STATUS);
  grpc::Status later = Operator(call, &response);
  EXPECT_EQ(later.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(
      absl::StrContains(later.error_message(), "GET_MAINTENANCE_STATUS"));
}

TEST_F(MasterPartitionTest, OperatorReadCallsDescribeTheCluster) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework(FrameworkInfoWith("pa", true));
  LaunchRunning(framework, agent, "t1");

  OperatorCall call;
  OperatorResponse response;
  call.set_type(OperatorCall::GET_HEALTH);
  ASSERT_TRUE(Operator(call, &response).ok());
  EXPECT_EQ(response.type(), OperatorResponse::GET_HEALTH);
  EXPECT_TRUE(response.get_health().healthy());

  call.set_type(OperatorCall::GET_FLAGS);
  ASSERT_TRUE(Operator(call, &response).ok());
  bool found = false;
  for (const auto& flag : response.get_flags().flags()) {
    if (flag.name() == "max_agent_ping_timeouts") {
      found = true;
      EXPECT_EQ(flag.value(), "5");
    }
  }
  EXPECT_TRUE(found);

  call.set_type(OperatorCall::GET_STATE);
  ASSERT_TRUE(Operator(call, &response).ok());
  EXPECT_EQ(response.type(), OperatorResponse::GET_STATE);
  const auto& state = response.get_state();
  ASSERT_EQ(state.get_agents().agents_size(), 1);
  EXPECT_EQ(state.get_agents().agents(0).agent_info().id().value(),
            agent->agent_id());
  EXPECT_TRUE(state.get_agents().agents(0).active());
  ASSERT_EQ(state.get_frameworks().frameworks_size(), 1);
  EXPECT_TRUE(state.get_frameworks().frameworks(0).connected());
  ASSERT_EQ(state.get_tasks().tasks_size(), 1);
  EXPECT_EQ(state.get_tasks().tasks(0).state(), mesos::v1::TASK_RUNNING);
}

}  // namespace
}  // namespace agora::testing
