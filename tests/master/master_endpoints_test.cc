// Master tests of the read-only endpoints in Mesos's shapes: /slaves,
// /tasks (limit, offset, order, filters), /roles, /frameworks, the /master/
// prefixes, the health, partition and allocator metric keys, and the
// operator API over HTTP (POST /api/v1).
#include <string>

#include "gtest/gtest.h"
#include "httplib.h"
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

TEST_F(MasterEndpointsTest, OperatorApiOverHttp) {
  StartMaster();
  FakeAgent* agent = AddAgent("host-a", "cpus:4;mem:1024");
  httplib::Client client("127.0.0.1", server_->http_port());
  client.set_read_timeout(10);

  // JSON in, JSON out, on both paths.
  for (const char* path : {"/api/v1", "/master/api/v1"}) {
    auto r = client.Post(path, R"({"type": "GET_AGENTS"})", "application/json");
    ASSERT_TRUE(r) << path;
    ASSERT_EQ(r->status, 200) << path << ": " << r->body;
    nlohmann::json j = nlohmann::json::parse(r->body);
    EXPECT_EQ(j["type"], "GET_AGENTS");
    ASSERT_EQ(j["get_agents"]["agents"].size(), 1u) << j;
    EXPECT_EQ(j["get_agents"]["agents"][0]["agent_info"]["id"]["value"],
              agent->agent_id());
  }

  // Protobuf in, protobuf out.
  mesos::v1::master::Call call;
  call.set_type(mesos::v1::master::Call::GET_HEALTH);
  httplib::Headers accept = {{"Accept", "application/x-protobuf"}};
  auto raw = client.Post("/api/v1", accept, call.SerializeAsString(),
                         "application/x-protobuf");
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->status, 200) << raw->body;
  mesos::v1::master::Response response;
  ASSERT_TRUE(response.ParseFromString(raw->body));
  EXPECT_TRUE(response.get_health().healthy());

  // Errors: the dispatch's codes and Mesos's media-type rules.
  auto unserved = client.Post(
      "/api/v1", R"({"type": "GET_MAINTENANCE_STATUS"})", "application/json");
  ASSERT_TRUE(unserved);
  EXPECT_EQ(unserved->status, 501);
  EXPECT_NE(unserved->body.find("GET_MAINTENANCE_STATUS"), std::string::npos);
  auto gone = client.Post(
      "/api/v1",
      R"({"type": "MARK_AGENT_GONE", "mark_agent_gone": {"agent_id": {"value": "nope"}}})",
      "application/json");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  auto malformed = client.Post("/api/v1", "{", "application/json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  auto media = client.Post("/api/v1", "x", "text/plain");
  ASSERT_TRUE(media);
  EXPECT_EQ(media->status, 415);
  auto get = client.Get("/api/v1");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
}

}  // namespace
}  // namespace agora::testing
