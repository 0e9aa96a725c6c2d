// Reservations through the real binaries: a framework reserves resources
// with an ACCEPT, the agent checkpoints them, and after the agent restarts
// with the same work directory the reservation is still there (on the agent
// and on the master). Also: a bad allocator flag stops the master at start
// with an error naming it.
#include <signal.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agora/scheduler.h"
#include "gtest/gtest.h"
#include "integration/cluster.h"
#include "nlohmann/json.hpp"

namespace agora::testing {
namespace {

using mesos::v1::Offer;

// Reserves `cpus:2;mem:256` for role "ads" on the first offer; declines
// every later offer.
class Reserver : public Scheduler {
 public:
  void registered(SchedulerDriver*, const mesos::v1::FrameworkID&,
                  const mesos::v1::MasterInfo&) override {}
  void reregistered(SchedulerDriver*, const mesos::v1::MasterInfo&) override {}
  void disconnected(SchedulerDriver*) override {}
  void resourceOffers(SchedulerDriver* driver,
                      const std::vector<Offer>& offers) override {
    mesos::v1::Filters filters;
    filters.set_refuse_seconds(1);
    for (const Offer& offer : offers) {
      if (reserved_.exchange(true)) {
        driver->declineOffer(offer.id(), filters);
        continue;
      }
      Offer::Operation reserve;
      reserve.set_type(Offer::Operation::RESERVE);
      for (auto [name, value] : std::vector<std::pair<std::string, double>>{
               {"cpus", 2}, {"mem", 256}}) {
        mesos::v1::Resource* r = reserve.mutable_reserve()->add_resources();
        r->set_name(name);
        r->set_type(mesos::v1::Value::SCALAR);
        r->mutable_scalar()->set_value(value);
        auto* reservation = r->add_reservations();
        reservation->set_type(mesos::v1::Resource::ReservationInfo::DYNAMIC);
        reservation->set_role("ads");
        r->mutable_allocation_info()->set_role("ads");
      }
      driver->acceptOffers({offer.id()}, {reserve}, filters);
    }
  }
  void offerRescinded(SchedulerDriver*, const mesos::v1::OfferID&) override {}
  void statusUpdate(SchedulerDriver*, const mesos::v1::TaskStatus&) override {}
  void frameworkMessage(SchedulerDriver*, const mesos::v1::ExecutorID&,
                        const mesos::v1::AgentID&,
                        const std::string&) override {}
  void agentLost(SchedulerDriver*, const mesos::v1::AgentID&) override {}
  void executorLost(SchedulerDriver*, const mesos::v1::ExecutorID&,
                    const mesos::v1::AgentID&, int) override {}
  void error(SchedulerDriver*, const std::string& message) override {
    ADD_FAILURE() << "framework error: " << message;
  }

 private:
  std::atomic<bool> reserved_{false};
};

// reserved_resources[role][name] of a /state document's agent entry (or of
// the agent's own /state), 0 when absent.
double Reserved(const nlohmann::json& agent, const std::string& role,
                const std::string& name) {
  if (!agent.contains("reserved_resources")) return 0;
  const nlohmann::json& reserved = agent["reserved_resources"];
  if (!reserved.contains(role) || !reserved[role].contains(name)) return 0;
  return reserved[role][name].get<double>();
}

nlohmann::json GetState(int port) {
  auto body = HttpGet(port, "/state");
  if (!body.ok()) return nlohmann::json();
  return nlohmann::json::parse(*body, nullptr, false);
}

// The master's /state entry of its connected agent (null if none).
nlohmann::json ConnectedAgent(int master_port) {
  nlohmann::json state = GetState(master_port);
  if (state.is_discarded() || !state.contains("slaves")) return {};
  for (const auto& agent : state["slaves"]) {
    if (agent.value("connected", false)) return agent;
  }
  return {};
}

TEST(ReservationTest, DynamicReservationSurvivesAnAgentRestart) {
  LocalCluster::Options options;
  options.agent_resources =
      "cpus:3;cpus(ads):1;mem:1024;disk:1024;ports:[31000-32000]";
  auto cluster = LocalCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  LocalCluster& c = **cluster;
  const int master_http = c.master_ports().http;

  Reserver reserver;
  mesos::v1::FrameworkInfo info;
  info.set_name("reserver");
  info.set_user("");
  info.add_roles("ads");
  info.add_capabilities()->set_type(
      mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
  AgoraSchedulerDriver driver(&reserver, info, c.master_address());
  ASSERT_EQ(driver.start(), mesos::v1::DRIVER_RUNNING);

  // One static CPU plus two dynamic ones, on the master and on the agent.
  ASSERT_TRUE(WaitFor([&] {
    return Reserved(ConnectedAgent(master_http), "ads", "cpus") == 3 &&
           Reserved(GetState(c.agent_ports().http), "ads", "cpus") == 3;
  })) << GetState(master_http).dump();
  driver.stop();
  driver.join();
  const std::string first_id = ConnectedAgent(master_http)["id"];

  ASSERT_TRUE(c.RestartAgent().ok());
  // The restarted agent recovers its id and reports its checkpointed
  // resources when it reregisters.
  ASSERT_TRUE(WaitFor([&] {
    nlohmann::json agent = ConnectedAgent(master_http);
    return !agent.is_null() && agent["id"] == first_id &&
           agent.contains("reregistered_time") &&
           Reserved(agent, "ads", "cpus") == 3;
  })) << GetState(master_http).dump();
  nlohmann::json agent = ConnectedAgent(master_http);
  EXPECT_EQ(Reserved(agent, "ads", "cpus"), 3) << agent.dump();
  EXPECT_EQ(Reserved(agent, "ads", "mem"), 256) << agent.dump();
  EXPECT_EQ(agent["unreserved_resources"]["cpus"], 1.0) << agent.dump();
  nlohmann::json own = GetState(c.agent_ports().http);
  EXPECT_EQ(Reserved(own, "ads", "cpus"), 3) << own.dump();
}

TEST(ReservationTest, MasterRefusesABadAllocatorFlagNamingIt) {
  for (const std::string& flag :
       {std::string("--weights=ads=-1"),
        std::string("--min_allocatable_resources=cpus:x"),
        std::string("--allocator_recovery_timeout=soon")}) {
    std::string dir = ::testing::TempDir() + "/agora-flag-XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    auto master =
        Subprocess::Start(BinDir() + "/agora-master",
                          {"--ip=127.0.0.1", "--port=0", "--http_port=0",
                           "--work_dir=" + dir, flag},
                          dir + "/master.log");
    ASSERT_TRUE(master.ok()) << master.status();
    absl::StatusOr<int> code = (*master)->Wait(absl::Seconds(30));
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 1) << flag;
    std::string name = flag.substr(0, flag.find('=') + 1);
    EXPECT_TRUE(absl::StrContains((*master)->Log(), name))
        << flag << ": " << (*master)->Log();
  }
}

}  // namespace
}  // namespace agora::testing
