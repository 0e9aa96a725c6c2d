// Master tests of RECONCILE: implicit reconciliation and every row of
// Mesos's explicit table, for partition-aware and other frameworks.
#include <memory>
#include <string>
#include <vector>

#include "agora/v1/service.grpc.pb.h"
#include "gtest/gtest.h"
#include "master/master_test_fixture.h"

namespace agora::testing {
namespace {

using mesos::v1::TaskState;
using mesos::v1::TaskStatus;

mesos::v1::FrameworkInfo Info(const std::string& name, bool partition_aware) {
  mesos::v1::FrameworkInfo info = TestFrameworkInfo(name);
  info.set_checkpoint(true);
  if (partition_aware) {
    info.add_capabilities()->set_type(
        mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE);
  }
  return info;
}

class MasterReconcileTest : public MasterFixture {
 protected:
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

  // RECONCILE for (task id, agent id or "") pairs.
  static Call Reconcile(
      const std::vector<std::pair<std::string, std::string>>& tasks) {
    Call call;
    call.set_type(Call::RECONCILE);
    call.mutable_reconcile();
    for (const auto& [task, agent] : tasks) {
      auto* t = call.mutable_reconcile()->add_tasks();
      t->mutable_task_id()->set_value(task);
      if (!agent.empty()) t->mutable_agent_id()->set_value(agent);
    }
    return call;
  }

  // Launches `task_id` (cpus:1;mem:64) on `agent` from the framework's
  // offers, declining offers of other agents (refuse_seconds 0).
  void Launch(FakeScheduler* framework, FakeAgent* agent,
              const std::string& task_id) {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      auto event = framework->Take(Event::OFFERS);
      ASSERT_TRUE(event.has_value());
      std::vector<std::string> others;
      std::string mine;
      for (const auto& offer : event->offers().offers()) {
        if (offer.agent_id().value() == agent->agent_id() && mine.empty()) {
          mine = offer.id().value();
        } else {
          others.push_back(offer.id().value());
        }
      }
      if (!others.empty()) {
        ASSERT_TRUE(framework->Send(framework->Decline(others, 0)).ok());
      }
      if (mine.empty()) continue;
      ASSERT_TRUE(framework
                      ->Send(framework->Accept(
                          {mine}, {CommandTask(task_id, agent->agent_id(),
                                               "cpus:1;mem:64")}))
                      .ok());
      ASSERT_TRUE(agent->Take(FakeAgent::MasterMessage::kRunTask).has_value());
      return;
    }
    FAIL() << "no offer for agent " << agent->agent_id();
  }

  grpc::Status MarkGone(const std::string& agent_id) {
    auto stub = agora::v1::Operator::NewStub(grpc::CreateChannel(
        server_->grpc_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    mesos::v1::master::Call call;
    call.set_type(mesos::v1::master::Call::MARK_AGENT_GONE);
    call.mutable_mark_agent_gone()->mutable_agent_id()->set_value(agent_id);
    mesos::v1::master::Response response;
    return stub->Call(&context, call, &response);
  }

  // Expects the reply for `task_id`: `state`, REASON_RECONCILIATION, from
  // the master, no uuid.
  static void ExpectReply(FakeScheduler* framework, const std::string& task_id,
                          TaskState state, bool unreachable_time = false) {
    SCOPED_TRACE(task_id);
    auto update = TakeUpdate(framework, task_id);
    ASSERT_TRUE(update.has_value());
    const TaskStatus& status = update->update().status();
    EXPECT_EQ(mesos::v1::TaskState_Name(status.state()),
              mesos::v1::TaskState_Name(state));
    EXPECT_EQ(status.reason(), TaskStatus::REASON_RECONCILIATION);
    EXPECT_EQ(status.source(), TaskStatus::SOURCE_MASTER);
    EXPECT_FALSE(status.has_uuid());
    EXPECT_EQ(status.has_unreachable_time(), unreachable_time);
  }
};

TEST_F(MasterReconcileTest, ExplicitRepliesFollowMesosTable) {
  MasterOptions options = TestMasterOptions();
  options.agent_ping_timeout = absl::Milliseconds(100);
  options.max_agent_ping_timeouts = 3;
  StartMaster(options);
  FakeAgent* registered = AddAgent("registered");
  FakeAgent* partitioned = AddAgent("partitioned");
  FakeAgent* gone = AddAgent("gone");
  FakeScheduler* aware = AddFramework(Info("pa", true));
  Launch(aware, partitioned, "on-partitioned");
  Launch(aware, registered, "known");
  FakeScheduler* other = AddFramework(Info("old", false));

  partitioned->set_answer_pings(false);
  auto unreachable = TakeUpdate(aware, "on-partitioned");
  ASSERT_TRUE(unreachable.has_value());
  ASSERT_EQ(unreachable->update().status().state(),
            mesos::v1::TASK_UNREACHABLE);
  ASSERT_TRUE(MarkGone(gone->agent_id()).ok());

  std::vector<std::pair<std::string, std::string>> asked = {
      {"known", registered->agent_id()},
      {"on-partitioned", partitioned->agent_id()},
      {"unknown-registered", registered->agent_id()},
      {"unknown-unreachable", partitioned->agent_id()},
      {"unknown-gone", gone->agent_id()},
      {"unknown-agent", "no-such-agent"},
      {"no-agent", ""}};
  ASSERT_TRUE(aware->Send(Reconcile(asked)).ok());
  ExpectReply(aware, "known", mesos::v1::TASK_STAGING);
  ExpectReply(aware, "on-partitioned", mesos::v1::TASK_UNREACHABLE, true);
  ExpectReply(aware, "unknown-registered", mesos::v1::TASK_GONE);
  ExpectReply(aware, "unknown-unreachable", mesos::v1::TASK_UNREACHABLE, true);
  ExpectReply(aware, "unknown-gone", mesos::v1::TASK_GONE_BY_OPERATOR);
  ExpectReply(aware, "unknown-agent", mesos::v1::TASK_UNKNOWN);
  ExpectReply(aware, "no-agent", mesos::v1::TASK_UNKNOWN);

  // Frameworks that are not partition-aware get TASK_LOST for every
  // unknown task.
  asked.erase(asked.begin(), asked.begin() + 2);
  ASSERT_TRUE(other->Send(Reconcile(asked)).ok());
  ExpectReply(other, "unknown-registered", mesos::v1::TASK_LOST);
  ExpectReply(other, "unknown-unreachable", mesos::v1::TASK_LOST, true);
  ExpectReply(other, "unknown-gone", mesos::v1::TASK_LOST);
  ExpectReply(other, "unknown-agent", mesos::v1::TASK_LOST);
  ExpectReply(other, "no-agent", mesos::v1::TASK_LOST);
}

TEST_F(MasterReconcileTest, ImplicitCoversKnownTasksOnly) {
  MasterOptions options = TestMasterOptions();
  options.agent_ping_timeout = absl::Milliseconds(100);
  options.max_agent_ping_timeouts = 3;
  StartMaster(options);
  FakeAgent* healthy = AddAgent("healthy");
  FakeAgent* partitioned = AddAgent("partitioned");
  FakeScheduler* aware = AddFramework(Info("pa", true));
  Launch(aware, healthy, "a");
  Launch(aware, healthy, "b");
  Launch(aware, partitioned, "c");
  healthy->SendStatusUpdate(aware->framework_id(), "a",
                            mesos::v1::TASK_RUNNING);
  ASSERT_TRUE(TakeUpdate(aware, "a").has_value());
  partitioned->set_answer_pings(false);
  ASSERT_TRUE(TakeUpdate(aware, "c").has_value());  // UNREACHABLE

  ASSERT_TRUE(aware->Send(Reconcile({})).ok());
  // The update awaiting acknowledgement is reported: RUNNING for "a".
  ExpectReply(aware, "a", mesos::v1::TASK_RUNNING);
  ExpectReply(aware, "b", mesos::v1::TASK_STAGING);
  // Tasks on unreachable agents are not part of it (Mesos keeps them
  // apart).
  EXPECT_FALSE(TakeUpdate(aware, "c", absl::Milliseconds(300)).has_value());
}

TEST_F(MasterReconcileTest, TasksOnAgentsNotYetBackAfterFailoverGetNoReply) {
  std::string dir = ::testing::TempDir() + "/reconcile-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  MasterOptions options = TestMasterOptions();
  options.registry = RegistryKind::kLocal;
  options.work_dir = dir;
  StartMaster(options);
  std::string agent_id = AddAgent()->agent_id();
  agents_.clear();
  server_.reset();
  StartMaster(options);  // Same registry: the agent is recovered.

  nlohmann::json slaves = GetJson(*server_, "/slaves");
  ASSERT_EQ(slaves["recovered_slaves"].size(), 1u) << slaves.dump();
  EXPECT_EQ(slaves["recovered_slaves"][0]["id"], agent_id);

  FakeScheduler* aware = AddFramework(Info("pa", true));
  ASSERT_TRUE(aware
                  ->Send(Reconcile({{"on-recovered", agent_id},
                                    {"anywhere", ""},
                                    {"elsewhere", "no-such-agent"}}))
                  .ok());
  // Replies go out in order: once the last has arrived, the first two
  // would have.
  ExpectReply(aware, "elsewhere", mesos::v1::TASK_UNKNOWN);
  EXPECT_FALSE(TakeUpdate(aware, "on-recovered", absl::Milliseconds(1)));
  EXPECT_FALSE(TakeUpdate(aware, "anywhere", absl::Milliseconds(1)));

  // Once the agent is back, the table applies again.
  internal::ReregisterAgent reregister;
  *reregister.mutable_agent_info() =
      TestAgentInfo("agent-host", kAgentResources);
  reregister.mutable_agent_info()->mutable_id()->set_value(agent_id);
  agents_.push_back(std::make_unique<FakeAgent>(server_->grpc_address()));
  ASSERT_TRUE(agents_.back()->Reregister(reregister).ok());
  ASSERT_TRUE(
      aware->Send(Reconcile({{"on-recovered", agent_id}, {"anywhere", ""}}))
          .ok());
  ExpectReply(aware, "on-recovered", mesos::v1::TASK_GONE);
  ExpectReply(aware, "anywhere", mesos::v1::TASK_UNKNOWN);
}

TEST_F(MasterReconcileTest, AgentsNotBackInTimeBecomeUnreachable) {
  std::string dir = ::testing::TempDir() + "/reregister-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  MasterOptions options = TestMasterOptions();
  options.registry = RegistryKind::kLocal;
  options.work_dir = dir;
  StartMaster(options);
  std::string agent_id = AddAgent()->agent_id();
  agents_.clear();
  server_.reset();
  options.agent_reregister_timeout = absl::Milliseconds(500);
  StartMaster(options);
  FakeScheduler* aware = AddFramework(Info("pa", true));

  auto lost = aware->Take(Event::FAILURE);
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ(lost->failure().agent_id().value(), agent_id);
  nlohmann::json slaves = GetJson(*server_, "/slaves");
  EXPECT_EQ(slaves["recovered_slaves"].size(), 0u);
  ASSERT_EQ(slaves["unreachable_slaves"].size(), 1u) << slaves.dump();
  EXPECT_EQ(Metrics()["master/slave_removals/reason_unhealthy"], 1.0);
  // Reconciliation is answered again.
  ASSERT_TRUE(aware->Send(Reconcile({{"t", agent_id}, {"u", ""}})).ok());
  ExpectReply(aware, "t", mesos::v1::TASK_UNREACHABLE, true);
  ExpectReply(aware, "u", mesos::v1::TASK_UNKNOWN);
}

}  // namespace
}  // namespace agora::testing
