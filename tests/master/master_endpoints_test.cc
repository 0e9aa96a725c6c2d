// Master tests of the read-only endpoints in Mesos's shapes: /slaves,
// /tasks (limit, offset, order, filters), /roles, /frameworks, the /master/
// prefixes, and the health, partition and allocator metric keys.
#include <string>

#include "gtest/gtest.h"
#include "master/master_test_fixture.h"

namespace agora::testing {
namespace {

class MasterEndpointsTest : public MasterFixture {
 protected:
  nlohmann::json Get(const std::string& path) {
    return GetJson(*server_, path);
  }

  // Launches `n` tasks "<prefix>0".. from successive offers.
  void LaunchTasks(FakeScheduler* framework, FakeAgent* agent,
                   const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) {
      auto offer = framework->TakeOffer();
      ASSERT_TRUE(offer.has_value());
      std::string id = prefix + std::to_string(i);
      ASSERT_TRUE(
          framework
              ->Send(framework->Accept(
                  {offer->id().value()},
                  {CommandTask(id, agent->agent_id(), "cpus:1;mem:64")}))
              .ok());
      ASSERT_TRUE(agent->Take(FakeAgent::MasterMessage::kRunTask).has_value());
      // Distinct first-status timestamps order /tasks.
      agent->SendStatusUpdate(framework->framework_id(), id,
                              mesos::v1::TASK_RUNNING);
      ASSERT_TRUE(framework->Take(Event::UPDATE).has_value());
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
};

TEST_F(MasterEndpointsTest, SlavesListsRegisteredAgentsWithUsage) {
  StartMaster();
  FakeAgent* agent = AddAgent("host-a", "cpus:4;mem:1024");
  FakeScheduler* framework = AddFramework();
  LaunchTasks(framework, agent, "t", 1);

  nlohmann::json slaves = Get("/slaves");
  ASSERT_EQ(slaves["slaves"].size(), 1u) << slaves.dump();
  nlohmann::json a = slaves["slaves"][0];
  EXPECT_EQ(a["id"], agent->agent_id());
  EXPECT_EQ(a["hostname"], "host-a");
  EXPECT_EQ(a["resources"]["cpus"], 4.0);
  EXPECT_EQ(a["used_resources"]["cpus"], 1.0);
  EXPECT_EQ(a["used_resources"]["mem"], 64.0);
  EXPECT_EQ(a["active"], true);
  EXPECT_TRUE(slaves["recovered_slaves"].is_array());
  EXPECT_EQ(Get("/slaves?slave_id=nope")["slaves"].size(), 0u);
  EXPECT_EQ(Get("/master/slaves")["slaves"].size(), 1u);
}

TEST_F(MasterEndpointsTest, TasksArePagedAndOrderedByFirstStatus) {
  StartMaster();
  FakeAgent* agent = AddAgent("host-a", "cpus:8;mem:4096");
  FakeScheduler* framework = AddFramework();
  LaunchTasks(framework, agent, "t", 3);

  nlohmann::json all = Get("/tasks");
  ASSERT_EQ(all["tasks"].size(), 3u) << all.dump();
  // Descending by default: newest first.
  EXPECT_EQ(all["tasks"][0]["id"], "t2");
  EXPECT_EQ(all["tasks"][2]["id"], "t0");
  EXPECT_EQ(all["tasks"][0]["state"], "TASK_RUNNING");
  EXPECT_EQ(all["tasks"][0]["framework_id"], framework->framework_id());
  EXPECT_EQ(all["tasks"][0]["slave_id"], agent->agent_id());

  nlohmann::json asc = Get("/tasks?order=asc&limit=2");
  ASSERT_EQ(asc["tasks"].size(), 2u);
  EXPECT_EQ(asc["tasks"][0]["id"], "t0");
  EXPECT_EQ(asc["tasks"][1]["id"], "t1");
  nlohmann::json page = Get("/tasks?order=asc&offset=2");
  ASSERT_EQ(page["tasks"].size(), 1u);
  EXPECT_EQ(page["tasks"][0]["id"], "t2");
  EXPECT_EQ(Get("/tasks?task_id=t1")["tasks"].size(), 1u);
  EXPECT_EQ(Get("/tasks?framework_id=other")["tasks"].size(), 0u);
  EXPECT_EQ(Get("/tasks?limit=junk")["tasks"].size(), 3u);
}

TEST_F(MasterEndpointsTest, RolesShowFrameworksAndAllocations) {
  StartMaster();
  FakeAgent* agent = AddAgent("host-a", "cpus:4;mem:1024");
  mesos::v1::FrameworkInfo info = TestFrameworkInfo("web");
  info.add_roles("web");
  info.add_capabilities()->set_type(
      mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
  FakeScheduler* framework = AddFramework(info);
  LaunchTasks(framework, agent, "t", 1);

  nlohmann::json roles = Get("/roles");
  ASSERT_EQ(roles["roles"].size(), 1u) << roles.dump();
  nlohmann::json web = roles["roles"][0];
  EXPECT_EQ(web["name"], "web");
  EXPECT_EQ(web["weight"], 1.0);
  ASSERT_EQ(web["frameworks"].size(), 1u);
  EXPECT_EQ(web["frameworks"][0], framework->framework_id());
  EXPECT_EQ(web["allocated"]["cpus"], 1.0);
  EXPECT_EQ(web["quota"]["role"], "web");
  EXPECT_TRUE(web.contains("offered"));
  EXPECT_TRUE(web.contains("reserved"));
}

TEST_F(MasterEndpointsTest, FrameworksEndpointMatchesState) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddFramework();
  LaunchTasks(framework, agent, "t", 1);
  nlohmann::json frameworks = Get("/frameworks");
  ASSERT_EQ(frameworks["frameworks"].size(), 1u) << frameworks.dump();
  EXPECT_EQ(frameworks["frameworks"][0]["id"], framework->framework_id());
  EXPECT_EQ(frameworks["frameworks"][0]["tasks"].size(), 1u);
  EXPECT_TRUE(frameworks["frameworks"][0]["unreachable_tasks"].is_array());
  EXPECT_TRUE(frameworks["completed_frameworks"].is_array());
  EXPECT_EQ(Get("/frameworks?framework_id=x")["frameworks"].size(), 0u);
  EXPECT_EQ(Get("/master/state")["frameworks"].size(), 1u);
}

TEST_F(MasterEndpointsTest, PartitionAndAllocatorMetricsAreServed) {
  StartMaster();
  ASSERT_TRUE(WaitUntil([&] {
    return Get("/metrics/snapshot")
        .contains("allocator/mesos/allocation_run_ms/count");
  }));
  nlohmann::json metrics = Get("/metrics/snapshot");
  for (const char* key :
       {"master/slaves_unreachable", "master/slave_unreachable_scheduled",
        "master/slave_unreachable_completed",
        "master/slave_unreachable_canceled", "master/slave_removals",
        "master/slave_removals/reason_unhealthy",
        "master/tasks_gone_by_operator", "master/tasks_unreachable",
        "allocator/mesos/allocation_run_ms",
        "allocator/mesos/allocation_run_ms/p99",
        "allocator/mesos/allocation_runs"}) {
    EXPECT_TRUE(metrics.contains(key)) << key;
  }
  EXPECT_GE(metrics["allocator/mesos/allocation_run_ms/count"], 1.0);
  EXPECT_GE(metrics["allocator/mesos/allocation_run_ms/max"],
            metrics["allocator/mesos/allocation_run_ms/min"]);
}

}  // namespace
}  // namespace agora::testing
