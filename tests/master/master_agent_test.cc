// Master tests on the agent side: registration, reregistration, health
// checks, link loss and the registry's role in admission. A real master on
// port 0 and a real AgentLink client (FakeAgent).
#include <memory>
#include <regex>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "master/master_test_util.h"

namespace agora::testing {
namespace {

constexpr char kResources[] = "cpus:4;mem:4096;disk:1000;ports:[31000-32000]";

class MasterAgentTest : public ::testing::Test {
 protected:
  void StartMaster(MasterOptions options = TestMasterOptions(),
                   std::unique_ptr<Registry> registry = nullptr) {
    auto server = MasterServer::Start(options, std::move(registry));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  nlohmann::json State() { return GetJson(*server_, "/state"); }
  nlohmann::json Metrics() { return GetJson(*server_, "/metrics/snapshot"); }

  // The /state entry of agent `id` (null when absent).
  nlohmann::json AgentState(const std::string& id) {
    nlohmann::json state = State();
    for (const auto& agent : state["slaves"]) {
      if (agent["id"] == id) return agent;
    }
    return nlohmann::json();
  }

  void TearDown() override {
    agents_.clear();
    server_.reset();
  }

  FakeAgent* NewAgent() {
    agents_.push_back(std::make_unique<FakeAgent>(server_->grpc_address()));
    return agents_.back().get();
  }

  std::unique_ptr<MasterServer> server_;
  std::vector<std::unique_ptr<FakeAgent>> agents_;
};

TEST_F(MasterAgentTest, RegistrationAssignsMesosFormatIds) {
  StartMaster();
  mesos::v1::AgentInfo info = TestAgentInfo("host-a", kResources);
  mesos::v1::Attribute* rack = info.add_attributes();
  rack->set_name("rack");
  rack->set_type(mesos::v1::Value::TEXT);
  rack->mutable_text()->set_value("r2");

  auto first = NewAgent()->Register(info);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->agent_id().value(), server_->master_id() + "-S0");
  EXPECT_EQ(first->master_info().id(), server_->master_id());
  EXPECT_EQ(first->master_info().port(),
            static_cast<uint32_t>(server_->grpc_port()));
  EXPECT_DOUBLE_EQ(first->ping_timeout_seconds(), 15 * 5);
  EXPECT_TRUE(std::regex_match(
      first->agent_id().value(),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                 "-S[0-9]+")));

  auto second = NewAgent()->Register(TestAgentInfo("host-b", "cpus:1;mem:64"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->agent_id().value(), server_->master_id() + "-S1");

  nlohmann::json agent = AgentState(first->agent_id().value());
  ASSERT_FALSE(agent.is_null()) << State().dump();
  EXPECT_EQ(agent["hostname"], "host-a");
  EXPECT_EQ(agent["port"], 5051);
  EXPECT_EQ(agent["active"], true);
  EXPECT_EQ(agent["resources"]["cpus"], 4.0);
  EXPECT_EQ(agent["resources"]["mem"], 4096.0);
  EXPECT_EQ(agent["resources"]["ports"], "[31000-32000]");
  EXPECT_EQ(agent["attributes"]["rack"], "r2");
  EXPECT_EQ(State()["activated_slaves"], 2);
  EXPECT_EQ(Metrics()["master/slave_registrations"], 2.0);
  EXPECT_EQ(Metrics()["master/cpus_total"], 5.0);
}

TEST_F(MasterAgentTest, BadAgentInfoIsRefusedWithShutdown) {
  StartMaster();
  FakeAgent* agent = NewAgent();
  mesos::v1::AgentInfo info = TestAgentInfo("", kResources);
  auto result = agent->Register(info);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(result.status().message(), "hostname"))
      << result.status();
  auto shutdown =
      agent->Take(FakeAgent::MasterMessage::kShutdownAgent, absl::Seconds(1));
  ASSERT_TRUE(shutdown.has_value());
  EXPECT_TRUE(
      absl::StrContains(shutdown->shutdown_agent().message(), "hostname"));

  mesos::v1::AgentInfo negative = TestAgentInfo("host", "cpus:1");
  negative.mutable_resources(0)->mutable_scalar()->set_value(-1);
  auto refused = NewAgent()->Register(negative);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "negative"))
      << refused.status();
  EXPECT_EQ(State()["slaves"].size(), 0u);
}

TEST_F(MasterAgentTest, MessageBeforeRegistrationClosesTheLink) {
  StartMaster();
  FakeAgent* agent = NewAgent();
  internal::AgentMessage pong;
  pong.mutable_pong()->set_sequence(1);
  agent->Connect(pong);
  std::optional<grpc::Status> end = agent->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(end->error_message(), "register_agent"));
}

TEST_F(MasterAgentTest, ReregistrationWithoutIdIsRefused) {
  StartMaster();
  FakeAgent agent(server_->grpc_address());
  internal::ReregisterAgent no_id;
  *no_id.mutable_agent_info() = TestAgentInfo("host", kResources);
  auto result = agent.Reregister(no_id);  // Reregistration without an id.
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(result.status().message(), "no id"));
}

TEST_F(MasterAgentTest, PingsFlowAndMissedPongsDropTheAgent) {
  MasterOptions options = TestMasterOptions();
  options.agent_ping_timeout = absl::Milliseconds(100);
  options.max_agent_ping_timeouts = 3;
  StartMaster(options);
  FakeAgent* agent = NewAgent();
  auto registered = agent->Register(TestAgentInfo("host", kResources));
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_DOUBLE_EQ(registered->ping_timeout_seconds(), 0.3);

  // While it answers, pings keep coming and it stays active.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(agent->Take(FakeAgent::MasterMessage::kPing).has_value());
  }
  EXPECT_EQ(AgentState(agent->agent_id())["active"], true);
  EXPECT_FALSE(agent->WaitForEnd(absl::Milliseconds(1)).has_value());

  agent->set_answer_pings(false);
  std::optional<grpc::Status> end = agent->WaitForEnd();
  ASSERT_TRUE(end.has_value()) << "the master kept the silent agent";
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(absl::StrContains(end->error_message(), "health check timed out"))
      << end->error_message();
  // Marked unreachable: no longer a registered agent.
  EXPECT_TRUE(AgentState(agent->agent_id()).is_null());
  EXPECT_EQ(State()["unreachable_slaves"], 1);
  EXPECT_EQ(Metrics()["master/slaves_unreachable"], 1.0);
}

TEST_F(MasterAgentTest, ReregistrationKeepsTheIdAndReactivates) {
  StartMaster();
  FakeAgent* first = NewAgent();
  ASSERT_TRUE(first->Register(TestAgentInfo("host", kResources)).ok());
  std::string id = first->agent_id();
  first->Disconnect();
  ASSERT_TRUE(WaitUntil([&] { return AgentState(id)["active"] == false; }));
  EXPECT_EQ(Metrics()["master/slaves_inactive"], 1.0);

  internal::ReregisterAgent reregister;
  *reregister.mutable_agent_info() = TestAgentInfo("host", kResources);
  reregister.mutable_agent_info()->mutable_id()->set_value(id);
  auto again = NewAgent()->Reregister(reregister);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->agent_id().value(), id);
  EXPECT_EQ(AgentState(id)["active"], true);
  EXPECT_EQ(State()["slaves"].size(), 1u);
  EXPECT_EQ(Metrics()["master/slave_reregistrations"], 1.0);
  EXPECT_EQ(Metrics()["master/slaves_active"], 1.0);
}

TEST_F(MasterAgentTest, UnknownAgentIsReadmittedWithItsTasks) {
  StartMaster();
  internal::ReregisterAgent reregister;
  mesos::v1::AgentInfo* info = reregister.mutable_agent_info();
  *info = TestAgentInfo("host", kResources);
  info->mutable_id()->set_value("old-master-S7");
  mesos::v1::FrameworkInfo framework = TestFrameworkInfo("old");
  framework.mutable_id()->set_value("old-master-0003");
  *reregister.add_frameworks() = framework;
  mesos::v1::Task* task = reregister.add_tasks();
  task->set_name("t");
  task->mutable_task_id()->set_value("t1");
  task->mutable_framework_id()->set_value("old-master-0003");
  task->mutable_agent_id()->set_value("old-master-S7");
  task->set_state(mesos::v1::TASK_RUNNING);
  *task->mutable_resources() = TestAgentInfo("x", "cpus:1;mem:128").resources();
  for (auto& r : *task->mutable_resources()) {
    r.mutable_allocation_info()->set_role("*");
  }

  auto result = NewAgent()->Reregister(reregister);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->agent_id().value(), "old-master-S7");
  nlohmann::json state = State();
  ASSERT_EQ(state["frameworks"].size(), 1u) << state.dump();
  nlohmann::json recovered = state["frameworks"][0];
  EXPECT_EQ(recovered["id"], "old-master-0003");
  EXPECT_EQ(recovered["recovered"], true);
  EXPECT_EQ(recovered["connected"], false);
  ASSERT_EQ(recovered["tasks"].size(), 1u);
  EXPECT_EQ(recovered["tasks"][0]["state"], "TASK_RUNNING");
  EXPECT_EQ(AgentState("old-master-S7")["used_resources"]["cpus"], 1.0);
  EXPECT_EQ(Metrics()["master/tasks_running"], 1.0);
}

// A registry whose writes fail: nothing may be admitted.
class BrokenRegistry : public Registry {
 public:
  void Recover(RecoverDone done) override { done(internal::Registry()); }
  void Apply(std::vector<RegistryChange>, Done done) override {
    done(absl::UnavailableError("disk on fire"));
  }
  std::string Describe() const override { return "broken"; }
};

TEST_F(MasterAgentTest, AgentIsNotAdmittedWhenTheRegistryWriteFails) {
  StartMaster(TestMasterOptions(), std::make_unique<BrokenRegistry>());
  auto result = NewAgent()->Register(TestAgentInfo("host", kResources));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(result.status().message(), "disk on fire"))
      << result.status();
  EXPECT_EQ(State()["slaves"].size(), 0u);
  EXPECT_EQ(Metrics()["master/slave_registrations"], 0.0);
}

TEST_F(MasterAgentTest, LocalRegistryRemembersAdmittedAgents) {
  std::string dir = ::testing::TempDir() + "/master-registry-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  MasterOptions options = TestMasterOptions();
  options.registry = RegistryKind::kLocal;
  options.work_dir = dir;
  StartMaster(options);
  FakeAgent* agent = NewAgent();
  ASSERT_TRUE(agent->Register(TestAgentInfo("host", kResources)).ok());
  std::string id = agent->agent_id();

  auto stored = RecoverRegistry(NewLocalRegistry(dir + "/registry.bin").get());
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->agents_size(), 1);
  EXPECT_EQ(stored->agents(0).info().id().value(), id);
  EXPECT_EQ(stored->agents(0).info().hostname(), "host");
}

TEST_F(MasterAgentTest, HealthAndEveryMesosMetricKeyAreServed) {
  StartMaster();
  httplib::Client client("127.0.0.1", server_->http_port());
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "");

  nlohmann::json metrics = Metrics();
  std::vector<std::string> keys = {
      "master/slaves_active",
      "master/slaves_inactive",
      "master/slaves_connected",
      "master/slaves_disconnected",
      "master/slave_registrations",
      "master/slave_reregistrations",
      "master/frameworks_active",
      "master/frameworks_inactive",
      "master/frameworks_connected",
      "master/frameworks_disconnected",
      "master/cpus_total",
      "master/cpus_used",
      "master/mem_total",
      "master/mem_used",
      "master/disk_total",
      "master/disk_used",
      "master/outstanding_offers",
      "master/elected",
      "master/uptime_secs",
      "master/invalid_status_update_acknowledgements",
      "allocator/mesos/allocation_runs",
      "allocator/mesos/resources/cpus/total",
      "allocator/mesos/resources/mem/offered_or_allocated"};
  for (const char* state :
       {"staging", "starting", "running", "killing", "finished", "failed",
        "killed", "lost", "error", "dropped", "unreachable", "gone"}) {
    keys.push_back(std::string("master/tasks_") + state);
  }
  for (const std::string& key : keys) {
    EXPECT_TRUE(metrics.contains(key)) << key;
  }
  EXPECT_EQ(metrics["master/elected"], 1.0);
  // The allocation timer runs every 50 ms.
  EXPECT_TRUE(WaitUntil(
      [&] { return Metrics()["allocator/mesos/allocation_runs"] >= 2.0; }));
}

TEST_F(MasterAgentTest, ServerStopsCleanlyWithOpenLinks) {
  StartMaster();
  FakeAgent* agent = NewAgent();
  ASSERT_TRUE(agent->Register(TestAgentInfo("host", kResources)).ok());
  server_->Stop();
  std::optional<grpc::Status> end = agent->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace agora::testing
