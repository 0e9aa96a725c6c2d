// Master high availability end to end: real agora-masters electing a leader
// through a real 3-server ZooKeeper ensemble (tests/fakes/zk_ensemble.h),
// real agents and a checkpointing framework (the scheduler driver) with one
// long-running task per agent, all finding the leader through
// --master=zk://... Each scenario kills, terminates or freezes the leader,
// or takes ZooKeeper's quorum away, and checks what users see: a new leader,
// agents and the framework back with the same ids, tasks still running,
// offers flowing, nothing lost from the registry. See docs/ha.md.
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agora/scheduler.h"
#include "agora/v1/service.grpc.pb.h"
#include "fakes/zk_ensemble.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "integration/cluster.h"
#include "integration/ha_framework.h"
#include "nlohmann/json.hpp"

namespace agora::testing {
namespace {

using mesos::v1::TaskStatus;

absl::StatusOr<nlohmann::json> GetJson(int port, const std::string& path) {
  absl::StatusOr<std::string> body = HttpGet(port, path);
  if (!body.ok()) return body.status();
  nlohmann::json j = nlohmann::json::parse(*body, nullptr, false);
  if (j.is_discarded()) return absl::InternalError("not JSON: " + *body);
  return j;
}

std::set<std::string> Ids(const nlohmann::json& list) {
  std::set<std::string> ids;
  if (!list.is_array()) return ids;
  for (const nlohmann::json& item : list) ids.insert(item.value("id", ""));
  return ids;
}

bool Contains(const std::set<std::string>& all,
              const std::set<std::string>& some) {
  for (const std::string& id : some) {
    if (all.count(id) == 0) return false;
  }
  return true;
}

// The states of the framework's tasks in a master's /state, by task id.
std::map<std::string, std::string> TaskStates(const nlohmann::json& state,
                                              const std::string& framework) {
  std::map<std::string, std::string> out;
  for (const nlohmann::json& f : state.value("frameworks", nlohmann::json())) {
    if (f.value("id", "") != framework) continue;
    for (const nlohmann::json& t : f.value("tasks", nlohmann::json())) {
      out[t.value("id", "")] = t.value("state", "");
    }
  }
  return out;
}

// One ensemble per test process (under ctest each test is its own
// process); every test uses its own group path, so a killed master's
// ephemeral znode never meets the next test.
class HaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
    tmpl += "agora-ha-zk-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    zk_dir_ = new std::string(tmpl);
    auto ensemble = ZkEnsemble::Start(3, *zk_dir_);
    if (ensemble.ok()) {
      zk_ = ensemble->release();
    } else {
      zk_error_ = new absl::Status(ensemble.status());
    }
  }
  static void TearDownTestSuite() {
    delete zk_;
    zk_ = nullptr;
    delete zk_error_;
    zk_error_ = nullptr;
    if (zk_dir_ != nullptr && std::getenv("AGORA_KEEP_TEST_DIRS") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(*zk_dir_, ec);
    }
    delete zk_dir_;
    zk_dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(zk_dir_, nullptr) << "mkdtemp failed";
    ASSERT_EQ(zk_error_, nullptr) << *zk_error_;
    // A scenario that stopped servers may have failed before restarting
    // them.
    for (int i = 0; i < zk_->size(); ++i) {
      if (zk_->pid(i) == 0) {
        ASSERT_TRUE(zk_->Restart(i).ok());
      }
    }
    absl::Status quorum = zk_->WaitQuorum(absl::Now() + absl::Seconds(60));
    ASSERT_TRUE(quorum.ok()) << quorum;
  }

  void TearDown() override {
    if (framework_ != nullptr) {
      for (const std::string& e : framework_->errors()) ADD_FAILURE() << e;
    }
    if (driver_ != nullptr) {
      driver_->stop();
      driver_->join();
      driver_.reset();
    }
    cluster_.reset();
  }

  // The group path: one per test.
  static std::string GroupPath() {
    return absl::StrCat(
        "/agora-",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  void StartCluster(int masters, int agents, const std::string& session,
                    std::vector<std::string> master_flags = {}) {
    LocalCluster::Options options;
    options.zk = zk_->Url(GroupPath());
    options.masters = masters;
    options.agents = agents;
    options.agent_resources = "cpus:2;mem:1024;disk:1024";
    options.master_flags = {"--registry=zookeeper",
                            "--zk_session_timeout=" + session};
    options.master_flags.insert(options.master_flags.end(),
                                master_flags.begin(), master_flags.end());
    options.agent_flags = {"--registration_backoff_factor=100ms"};
    auto cluster = LocalCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
  }

  // Subscribes the framework through ZooKeeper and waits until it runs one
  // task on each of `agents` agents.
  void StartFramework(int agents) {
    framework_ = std::make_unique<LongTaskFramework>();
    driver_ = std::make_unique<AgoraSchedulerDriver>(
        framework_.get(), LongTaskFramework::Info(), cluster_->master_url());
    ASSERT_EQ(driver_->start(), mesos::v1::DRIVER_RUNNING);
    ASSERT_TRUE(WaitFor([&] { return framework_->Running() == agents; }))
        << "tasks running: " << framework_->Running();
  }

  // The leader's /state (polled until it answers, as a new leader may
  // still be recovering).
  nlohmann::json LeaderState(int leader) {
    nlohmann::json state;
    EXPECT_TRUE(WaitFor([&] {
      auto j = GetJson(cluster_->master_ports(leader).http, "/state");
      if (j.ok()) state = *j;
      return j.ok();
    })) << "the leader's /state does not answer";
    return state;
  }

  // Admitted agents as the registry in ZooKeeper lists them.
  std::set<std::string> RegistryAgents() {
    auto children = zk_->Children(GroupPath() + "/registry/agents");
    EXPECT_TRUE(children.ok()) << children.status();
    if (!children.ok()) return {};
    return {children->begin(), children->end()};
  }

  // Reconciles every task explicitly and waits until each comes back
  // TASK_RUNNING with REASON_RECONCILIATION.
  void ExpectReconciledRunning() {
    std::vector<TaskStatus> statuses = framework_->LatestStatuses();
    absl::Time asked = absl::Now();
    ASSERT_EQ(driver_->reconcileTasks(statuses), mesos::v1::DRIVER_RUNNING);
    for (const TaskStatus& s : statuses) {
      EXPECT_TRUE(WaitFor([&] {
        return framework_->Saw(asked, [&](const TaskStatus& u) {
          return u.task_id().value() == s.task_id().value() &&
                 u.state() == mesos::v1::TASK_RUNNING &&
                 u.reason() == TaskStatus::REASON_RECONCILIATION;
        });
      })) << "task "
          << s.task_id().value() << " not reconciled as running";
    }
  }

  static ZkEnsemble* zk_;
  static absl::Status* zk_error_;
  static std::string* zk_dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<LongTaskFramework> framework_;
  std::unique_ptr<AgoraSchedulerDriver> driver_;
};

ZkEnsemble* HaTest::zk_ = nullptr;
absl::Status* HaTest::zk_error_ = nullptr;
std::string* HaTest::zk_dir_ = nullptr;

TEST_F(HaTest, KilledLeaderIsReplacedAndNothingIsLost) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 2, "2secs"));
  ASSERT_NO_FATAL_FAILURE(StartFramework(2));
  int old = cluster_->Leader();
  ASSERT_GE(old, 0);
  nlohmann::json before = LeaderState(old);
  std::set<std::string> admitted = Ids(before["slaves"]);
  ASSERT_EQ(admitted.size(), 2u);
  EXPECT_EQ(RegistryAgents(), admitted);
  std::string framework_id = framework_->framework_id();
  ASSERT_FALSE(framework_id.empty());

  absl::Time killed = absl::Now();
  cluster_->master(old)->Signal(SIGKILL);
  absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(30), old);
  ASSERT_TRUE(leader.ok()) << leader.status();
  absl::Duration elected = absl::Now() - killed;

  // Every admitted agent is known to the new leader from the registry,
  // before or after it reregistered.
  nlohmann::json recovered = LeaderState(*leader);
  std::set<std::string> known = Ids(recovered["slaves"]);
  for (const std::string& id : Ids(recovered["recovered_slaves"])) {
    known.insert(id);
  }
  EXPECT_TRUE(Contains(known, admitted)) << recovered.dump();
  std::string new_master_id = recovered.value("id", "");
  EXPECT_NE(new_master_id, before.value("id", ""));

  // Agents reregister with their ids; the framework resubscribes with its
  // id; tasks are still running and reconcilable; offers flow again.
  ASSERT_TRUE(WaitFor([&] {
    auto state = GetJson(cluster_->master_ports(*leader).http, "/state");
    return state.ok() && Ids((*state)["slaves"]) == admitted &&
           (*state).value("activated_slaves", 0) == 2;
  })) << "agents did not reregister";
  absl::Duration agents_back = absl::Now() - killed;
  ASSERT_TRUE(WaitFor([&] { return framework_->reregistrations() >= 1; }));
  EXPECT_EQ(framework_->registrations(), 1);
  EXPECT_EQ(framework_->framework_id(), framework_id);
  nlohmann::json after = LeaderState(*leader);
  std::map<std::string, std::string> tasks = TaskStates(after, framework_id);
  EXPECT_EQ(tasks.size(), 2u) << after.dump();
  for (const auto& [task, state] : tasks) {
    EXPECT_EQ(state, "TASK_RUNNING") << task;
  }
  ASSERT_NO_FATAL_FAILURE(ExpectReconciledRunning());
  ASSERT_TRUE(WaitFor([&] {
    return framework_->OffersFrom(new_master_id, killed) > 0;
  })) << "no offer from the new leader";
  EXPECT_EQ(RegistryAgents(), admitted);
  auto metrics =
      GetJson(cluster_->master_ports(*leader).http, "/metrics/snapshot");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ((*metrics)["master/elected"], 1.0);
  EXPECT_EQ((*metrics)["master/slave_registrations"], 0.0);
  EXPECT_EQ((*metrics)["master/slave_reregistrations"], 2.0);
  EXPECT_FALSE(framework_->Saw(killed, [](const TaskStatus& s) {
    return s.state() != mesos::v1::TASK_RUNNING;
  }));
  std::cout << "SIGKILL: new leader after " << elected
            << ", agents reregistered after " << agents_back << std::endl;
}

TEST_F(HaTest, TerminatedLeaderHandsOverWithoutWaitingForTheSession) {
  // A long session: waiting for it would show.
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 1, "10secs"));
  ASSERT_NO_FATAL_FAILURE(StartFramework(1));
  int old = cluster_->Leader();
  ASSERT_GE(old, 0);

  absl::Time terminated = absl::Now();
  cluster_->master(old)->Signal(SIGTERM);
  absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(30), old);
  ASSERT_TRUE(leader.ok()) << leader.status();
  absl::Duration elected = absl::Now() - terminated;
  EXPECT_LT(elected, absl::Seconds(5))
      << "the terminated leader's session should end at once";
  std::string new_master_id = LeaderState(*leader).value("id", "");
  ASSERT_TRUE(WaitFor([&] { return framework_->reregistrations() >= 1; }));
  ASSERT_TRUE(WaitFor(
      [&] { return framework_->OffersFrom(new_master_id, terminated) > 0; }));
  absl::Duration first_offer = absl::Now() - terminated;
  EXPECT_LT(first_offer, absl::Seconds(10));
  ASSERT_TRUE(cluster_->WaitForAgents(1).ok());
  EXPECT_EQ(framework_->Running(), 1);
  EXPECT_TRUE(cluster_->master(old)->Wait(absl::Seconds(15)).ok());
  std::cout << "SIGTERM: new leader after " << elected << ", first offer after "
            << first_offer << std::endl;
}

// Disabled: after quorum returns, a standby whose session outlived the
// outage can leave a duplicate member of itself (issue 10, left open).
TEST_F(HaTest, LeaderExitsWithoutQuorumAndTheClusterRecovers) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 1, "2secs"));
  ASSERT_NO_FATAL_FAILURE(StartFramework(1));
  int old = cluster_->Leader();
  ASSERT_GE(old, 0);
  std::string framework_id = framework_->framework_id();

  // One ZooKeeper server of three: nothing happens, for well past the
  // session timeout.
  int zk_leader = zk_->Leader();
  ASSERT_GE(zk_leader, 0);
  int first = (zk_leader + 1) % 3;  // Both followers.
  int second = (zk_leader + 2) % 3;
  zk_->Stop(first);
  absl::Time until = absl::Now() + absl::Seconds(6);
  while (absl::Now() < until) {
    ASSERT_EQ(cluster_->Leader(), old) << "leadership moved";
    ASSERT_TRUE(cluster_->master(0)->Running());
    ASSERT_TRUE(cluster_->master(1)->Running());
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(framework_->disconnections(), 0);

  // Two of three: the leader exits non-zero and no master leads.
  zk_->Stop(second);
  absl::StatusOr<int> code = cluster_->master(old)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << "the leader kept running without quorum";
  EXPECT_NE(*code, 0);
  until = absl::Now() + absl::Seconds(3);
  while (absl::Now() < until) {
    ASSERT_EQ(cluster_->Leader(), -1) << "a master leads without quorum";
    absl::SleepFor(absl::Milliseconds(200));
  }

  // Quorum back; the test plays the supervisor and restarts exited masters.
  ASSERT_TRUE(zk_->Restart(first).ok());
  ASSERT_TRUE(zk_->Restart(second).ok());
  absl::Status quorum = zk_->WaitQuorum(absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(quorum.ok()) << quorum;
  for (int i = 0; i < cluster_->masters(); ++i) {
    if (!cluster_->master(i)->Running()) {
      ASSERT_TRUE(cluster_->RestartMaster(i).ok());
    }
  }
  absl::Time restored = absl::Now();
  absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(60));
  ASSERT_TRUE(leader.ok()) << leader.status();
  ASSERT_TRUE(cluster_->WaitForAgents(1).ok());
  ASSERT_TRUE(WaitFor([&] { return framework_->reregistrations() >= 1; }));
  EXPECT_EQ(framework_->framework_id(), framework_id);
  std::string leader_id = LeaderState(*leader).value("id", "");
  ASSERT_TRUE(
      WaitFor([&] { return framework_->OffersFrom(leader_id, restored) > 0; }));
  ASSERT_NO_FATAL_FAILURE(ExpectReconciledRunning());
}

TEST_F(HaTest, PausedLeaderNeitherWritesNorOffersAndExits) {
  // Short agent ping timeouts: when the paused leader wakes up, every
  // agent looks timed out to it, so it would mark them unreachable in the
  // registry if fencing let it.
  ASSERT_NO_FATAL_FAILURE(StartCluster(
      2, 2, "2secs",
      {"--agent_ping_timeout=1secs", "--max_agent_ping_timeouts=2"}));
  ASSERT_NO_FATAL_FAILURE(StartFramework(2));
  int old = cluster_->Leader();
  ASSERT_GE(old, 0);
  nlohmann::json before = LeaderState(old);
  std::set<std::string> admitted = Ids(before["slaves"]);
  std::string old_master_id = before.value("id", "");

  absl::Time paused = absl::Now();
  cluster_->master(old)->Signal(SIGSTOP);
  absl::StatusOr<int> leader = cluster_->WaitForLeader(absl::Seconds(30), old);
  if (!leader.ok()) cluster_->master(old)->Signal(SIGCONT);
  ASSERT_TRUE(leader.ok()) << leader.status();
  ASSERT_TRUE(cluster_->WaitForAgents(2).ok());
  ASSERT_TRUE(WaitFor([&] { return framework_->reregistrations() >= 1; }));

  absl::Time resumed = absl::Now();
  cluster_->master(old)->Signal(SIGCONT);
  absl::StatusOr<int> code = cluster_->master(old)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << "the deposed leader kept running";
  EXPECT_NE(*code, 0);

  EXPECT_EQ(framework_->OffersFrom(old_master_id, resumed), 0);
  EXPECT_EQ(RegistryAgents(), admitted);
  auto unreachable = zk_->Children(GroupPath() + "/registry/unreachable");
  EXPECT_TRUE(unreachable.ok() ? unreachable->empty()
                               : absl::IsNotFound(unreachable.status()))
      << "the deposed leader wrote the registry";
  nlohmann::json after = LeaderState(*leader);
  EXPECT_EQ(after.value("activated_slaves", 0), 2);
  EXPECT_EQ(after.value("unreachable_slaves", -1), 0);
  EXPECT_FALSE(framework_->Saw(paused, [](const TaskStatus& s) {
    return s.state() != mesos::v1::TASK_RUNNING;
  }));
}

TEST_F(HaTest, ExecuteAndAgentFindTheLeaderThroughZooKeeper) {
  // The agent was started with --master=zk://... and registered.
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 1, "2secs"));
  auto first = cluster_->Execute(
      {"--name=zk-one", "--command=echo one", "--resources=cpus:0.1;mem:32"},
      absl::Seconds(60));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->exit_code, 0) << first->output;
  EXPECT_TRUE(absl::StrContains(first->output, "TASK_FINISHED"))
      << first->output;

  int old = cluster_->Leader();
  ASSERT_GE(old, 0);
  cluster_->master(old)->Signal(SIGKILL);
  ASSERT_TRUE(cluster_->WaitForLeader(absl::Seconds(30), old).ok());
  ASSERT_TRUE(cluster_->WaitForAgents(1).ok());
  auto second = cluster_->Execute(
      {"--name=zk-two", "--command=echo two", "--resources=cpus:0.1;mem:32"},
      absl::Seconds(60));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->exit_code, 0) << second->output;
}

TEST_F(HaTest, StandbyPointsToTheLeader) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2, 0, "2secs"));
  int leader = cluster_->Leader();
  ASSERT_GE(leader, 0);
  int standby = 1 - leader;
  const Ports& lp = cluster_->master_ports(leader);
  const Ports& sp = cluster_->master_ports(standby);

  nlohmann::json state = LeaderState(leader);
  EXPECT_TRUE(
      absl::EndsWith(state.value("leader", ""), absl::StrCat(":", lp.grpc)))
      << state.dump();
  ASSERT_TRUE(state.contains("leader_info")) << state.dump();
  EXPECT_EQ(state["leader_info"].value("port", 0), lp.grpc);
  auto metrics = GetJson(lp.http, "/metrics/snapshot");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ((*metrics)["master/elected"], 1.0);

  // The standby learns the leader from its own detector, shortly after the
  // leader has it: 503 (no leader known) until then.
  absl::StatusOr<HttpResult> redirect;
  ASSERT_TRUE(WaitFor([&] {
    redirect = HttpGetResult(sp.http, "/state");
    return redirect.ok() && redirect->status != 503;
  })) << (redirect.ok() ? redirect->body : redirect.status().ToString());
  EXPECT_EQ(redirect->status, 307);
  EXPECT_TRUE(absl::StartsWith(redirect->location, "//")) << redirect->location;
  EXPECT_TRUE(
      absl::EndsWith(redirect->location, absl::StrCat(":", lp.http, "/state")))
      << redirect->location;
  auto health = HttpGetResult(sp.http, "/health");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  // Served locally (elected 0) or redirected like every other path.
  auto standby_metrics = HttpGetResult(sp.http, "/metrics/snapshot");
  ASSERT_TRUE(standby_metrics.ok());
  if (standby_metrics->status == 200) {
    EXPECT_EQ(nlohmann::json::parse(standby_metrics->body)["master/elected"],
              0.0);
  } else {
    EXPECT_EQ(standby_metrics->status, 307);
  }

  // gRPC: UNAVAILABLE with the leader's address in `agora-leader`.
  auto stub = agora::v1::Operator::NewStub(grpc::CreateChannel(
      cluster_->master_address(standby), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  mesos::v1::master::Call call;
  call.set_type(mesos::v1::master::Call::GET_HEALTH);
  mesos::v1::master::Response response;
  grpc::Status status = stub->Call(&context, call, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  auto it = context.GetServerTrailingMetadata().find("agora-leader");
  ASSERT_NE(it, context.GetServerTrailingMetadata().end());
  EXPECT_TRUE(absl::EndsWith(std::string(it->second.data(), it->second.size()),
                             absl::StrCat(":", lp.grpc)));

  // The standby takes over when the leader goes.
  cluster_->master(leader)->Signal(SIGKILL);
  absl::StatusOr<int> next = cluster_->WaitForLeader(absl::Seconds(30), leader);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, standby);
}

}  // namespace
}  // namespace agora::testing
