// The agent's v1 operator API through the real binaries: a long task runs
// through agora-execute, and an operator asks the agent for its containers
// and tasks over gRPC (agora.v1.AgentOperator) and HTTP POST /api/v1.
#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agora/v1/service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "integration/cluster.h"
#include "nlohmann/json.hpp"

namespace agora::testing {
namespace {

using json = nlohmann::json;
using mesos::v1::agent::Call;
using mesos::v1::agent::Response;
using ::testing::HasSubstr;

constexpr char kJson[] = "application/json";

class OperatorApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = LocalCluster::Start({});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    auto channel = grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", cluster_->agent_ports().grpc),
        grpc::InsecureChannelCredentials());
    stub_ = agora::v1::AgentOperator::NewStub(channel);
  }

  int http() const { return cluster_->agent_ports().http; }

  // Starts agora-execute with `command` in the background.
  void StartTask(const std::string& name, const std::string& command) {
    auto execute = Subprocess::Start(
        BinDir() + "/agora-execute",
        {"--master=" + cluster_->master_address(), "--name=" + name,
         "--command=" + command, "--resources=cpus:0.5;mem:64"},
        cluster_->root() + "/execute-" + name + ".log");
    ASSERT_TRUE(execute.ok()) << execute.status();
    execute_ = std::move(*execute);
  }

  grpc::Status GrpcCall(const Call& call, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return stub_->Call(&context, call, response);
  }

  // POST /api/v1 with a JSON body; the parsed JSON answer (200 only).
  json JsonCall(const std::string& body) {
    auto r = HttpPost(http(), "/api/v1", body, kJson, kJson);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_THAT(r->content_type, HasSubstr(kJson));
    return json::parse(r->body, nullptr, false);
  }

  // The container id of executor `name` in the agent's /state.
  std::string ContainerOfExecutor(const std::string& name) {
    auto body = HttpGet(http(), "/state");
    if (!body.ok()) return "";
    json state = json::parse(*body, nullptr, false);
    if (state.is_discarded()) return "";
    for (const json& f : state["frameworks"]) {
      for (const json& e : f["executors"]) {
        if (e["id"] == name) return e["container"].get<std::string>();
      }
    }
    return "";
  }

  // Waits until GET_TASKS over HTTP lists `name` as TASK_RUNNING.
  bool WaitForRunning(const std::string& name) {
    return WaitFor([&] {
      json tasks = JsonCall(R"({"type": "GET_TASKS"})");
      for (const json& t : tasks["get_tasks"].value("launched_tasks", json())) {
        if (t["task_id"]["value"] == name && t["state"] == "TASK_RUNNING") {
          return true;
        }
      }
      return false;
    });
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<agora::v1::AgentOperator::Stub> stub_;
  std::unique_ptr<Subprocess> execute_;
};

TEST_F(OperatorApiTest, ContainersAndTasksOfARunningTask) {
  StartTask("sleeper", "sleep 30");
  ASSERT_TRUE(WaitForRunning("sleeper")) << execute_->Log();
  std::string container = ContainerOfExecutor("sleeper");
  ASSERT_FALSE(container.empty());
  double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());

  // gRPC: the executor's container with its status and usage.
  Call call;
  call.set_type(Call::GET_CONTAINERS);
  Response response;
  grpc::Status status = GrpcCall(call, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.type(), Response::GET_CONTAINERS);
  ASSERT_EQ(response.get_containers().containers_size(), 1)
      << response.DebugString();
  const auto& c = response.get_containers().containers(0);
  EXPECT_EQ(c.container_id().value(), container);
  EXPECT_EQ(c.executor_id().value(), "sleeper");
  EXPECT_EQ(c.container_status().container_id().value(), container);
  EXPECT_GT(c.container_status().executor_pid(), 1u);
  const auto& s = c.resource_statistics();
  EXPECT_NEAR(s.timestamp(), now, 60);
  EXPECT_GE(s.processes(), 2u);  // The executor and the task's sleep.
  EXPECT_TRUE(s.has_cpus_user_time_secs());
  EXPECT_TRUE(s.has_cpus_system_time_secs());
  EXPECT_DOUBLE_EQ(s.cpus_limit(), 0.6);  // 0.5 + the executor's 0.1.
  EXPECT_EQ(s.mem_limit_bytes(), uint64_t{96} << 20);
  EXPECT_GT(s.mem_total_bytes(), 0u);

  // HTTP JSON: the same container, numbers as JSON numbers.
  json containers = JsonCall(R"({"type": "GET_CONTAINERS"})");
  ASSERT_EQ(containers["type"], "GET_CONTAINERS") << containers;
  const json& entry = containers["get_containers"]["containers"][0];
  EXPECT_EQ(entry["container_id"]["value"], container);
  EXPECT_EQ(entry["framework_id"]["value"], c.framework_id().value());
  const json& js = entry["resource_statistics"];
  ASSERT_TRUE(js["mem_total_bytes"].is_number_unsigned()) << js;
  EXPECT_GT(js["mem_total_bytes"].get<uint64_t>(), 0u);
  EXPECT_GE(js["processes"].get<int>(), 2);
  EXPECT_GE(js["timestamp"].get<double>(), s.timestamp());

  // /monitor/statistics shows the same limits for the same container.
  auto monitor = HttpGet(http(), "/monitor/statistics");
  ASSERT_TRUE(monitor.ok());
  json stats = json::parse(*monitor);
  ASSERT_EQ(stats.size(), 1u) << stats;
  EXPECT_EQ(stats[0]["container_id"], container);
  EXPECT_EQ(stats[0]["statistics"]["cpus_limit"], js["cpus_limit"]);
  EXPECT_EQ(stats[0]["statistics"]["mem_limit_bytes"], js["mem_limit_bytes"]);

  // GET_TASKS over gRPC: the running task, nothing queued.
  call.set_type(Call::GET_TASKS);
  ASSERT_TRUE(GrpcCall(call, &response).ok());
  ASSERT_EQ(response.get_tasks().launched_tasks_size(), 1);
  EXPECT_EQ(response.get_tasks().launched_tasks(0).task_id().value(),
            "sleeper");
  EXPECT_EQ(response.get_tasks().launched_tasks(0).state(),
            mesos::v1::TASK_RUNNING);
  EXPECT_EQ(response.get_tasks().queued_tasks_size(), 0);

  // GET_STATE over protobuf HTTP.
  call.set_type(Call::GET_STATE);
  auto raw = HttpPost(http(), "/api/v1", call.SerializeAsString(),
                      "application/x-protobuf", "application/x-protobuf");
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->status, 200) << raw->body;
  Response state;
  ASSERT_TRUE(state.ParseFromString(raw->body));
  EXPECT_EQ(state.get_state().get_tasks().launched_tasks_size(), 1);
  EXPECT_EQ(state.get_state().get_executors().executors_size(), 1);
  EXPECT_EQ(state.get_state().get_frameworks().frameworks_size(), 1);
}

TEST_F(OperatorApiTest, AgentDescribesItself) {
  json health = JsonCall(R"({"type": "GET_HEALTH"})");
  EXPECT_EQ(health["get_health"]["healthy"], true) << health;
  json version = JsonCall(R"({"type": "GET_VERSION"})");
  EXPECT_FALSE(version["get_version"]["version_info"]["version"]
                   .get<std::string>()
                   .empty());
  json flags = JsonCall(R"({"type": "GET_FLAGS"})");
  bool has_work_dir = false;
  for (const json& f : flags["get_flags"]["flags"]) {
    if (f["name"] == "work_dir") has_work_dir = true;
  }
  EXPECT_TRUE(has_work_dir) << flags;
  json metrics = JsonCall(R"({"type": "GET_METRICS", "get_metrics": {}})");
  bool has_running = false;
  for (const json& m : metrics["get_metrics"]["metrics"]) {
    if (m["name"] == "containerizer/mesos/containers_running") {
      has_running = true;
    }
  }
  EXPECT_TRUE(has_running) << metrics;
  ASSERT_TRUE(WaitFor([&] {
    json agent = JsonCall(R"({"type": "GET_AGENT"})");
    return agent["get_agent"]["agent_info"].contains("id");
  }));
}

TEST_F(OperatorApiTest, BadRequestsGetClearErrors) {
  auto malformed = HttpPost(http(), "/api/v1", "{\"type\": ", kJson);
  ASSERT_TRUE(malformed.ok());
  EXPECT_EQ(malformed->status, 400);
  EXPECT_FALSE(malformed->body.empty());
  auto unknown = HttpPost(http(), "/api/v1", R"({"type": "BOGUS"})", kJson);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 400);
  auto media = HttpPost(http(), "/api/v1", "GET_HEALTH", "text/plain");
  ASSERT_TRUE(media.ok());
  EXPECT_EQ(media->status, 415);
  EXPECT_THAT(media->body, HasSubstr("Content-Type"));
  auto accept = HttpPost(http(), "/api/v1", R"({"type": "GET_HEALTH"})", kJson,
                         "text/html");
  ASSERT_TRUE(accept.ok());
  EXPECT_EQ(accept->status, 406);
  auto garbage =
      HttpPost(http(), "/api/v1", "\x0a\xff\xff\xff", "application/x-protobuf");
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(garbage->status, 400);
  auto unserved =
      HttpPost(http(), "/api/v1", R"({"type": "PRUNE_IMAGES"})", kJson);
  ASSERT_TRUE(unserved.ok());
  EXPECT_EQ(unserved->status, 501);
  EXPECT_THAT(unserved->body, HasSubstr("PRUNE_IMAGES"));

  Call call;
  call.set_type(Call::LAUNCH_CONTAINER);
  Response response;
  grpc::Status status = GrpcCall(call, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(status.error_message(), HasSubstr("LAUNCH_CONTAINER"));
  status = GrpcCall(Call(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // The agent is still up and answering.
  EXPECT_TRUE(HttpGet(http(), "/health").ok());
  EXPECT_TRUE(cluster_->agent()->Running());
}

}  // namespace
}  // namespace agora::testing
