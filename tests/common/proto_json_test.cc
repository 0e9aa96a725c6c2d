#include "common/proto_json.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mesos/v1/agent/agent.pb.h"
#include "mesos/v1/mesos.pb.h"
#include "nlohmann/json.hpp"

namespace agora {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

TEST(ProtoJsonTest, WritesMesosShapes) {
  mesos::v1::Task task;
  task.set_name("t");
  task.mutable_task_id()->set_value("t1");
  task.set_state(mesos::v1::TASK_RUNNING);
  task.add_statuses()->set_uuid(std::string("\x00\xff", 2));
  (*task.mutable_limits())["cpus"].set_value(1.5);
  json j = json::parse(ProtoToJson(task));
  EXPECT_EQ(j["name"], "t");
  EXPECT_EQ(j["task_id"]["value"], "t1");
  EXPECT_EQ(j["state"], "TASK_RUNNING");         // Enums by name.
  EXPECT_EQ(j["statuses"][0]["uuid"], "AP8=");   // Bytes in base64.
  EXPECT_EQ(j["limits"]["cpus"]["value"], 1.5);  // Maps as objects.
  EXPECT_FALSE(j.contains("resources"));         // Empty repeated: absent.
  EXPECT_FALSE(j.contains("executor_id"));       // Unset: absent.
}

TEST(ProtoJsonTest, SixtyFourBitIntegersAreNumbers) {
  mesos::v1::ResourceStatistics s;
  s.set_timestamp(12.5);
  s.set_mem_total_bytes(uint64_t{1} << 40);
  s.set_processes(3);
  json j = json::parse(ProtoToJson(s));
  ASSERT_TRUE(j["mem_total_bytes"].is_number_unsigned()) << j;
  EXPECT_EQ(j["mem_total_bytes"].get<uint64_t>(), uint64_t{1} << 40);
  EXPECT_EQ(j["processes"], 3);
  EXPECT_EQ(j["timestamp"], 12.5);
}

TEST(ProtoJsonTest, WritesExplicitDefaults) {
  mesos::v1::FrameworkInfo info;
  info.set_user("u");
  info.set_name("n");
  json j = json::parse(ProtoToJson(info));
  EXPECT_EQ(j["role"], "*");
  EXPECT_EQ(j["checkpoint"], false);
  EXPECT_EQ(j["failover_timeout"], 0.0);
  EXPECT_FALSE(j.contains("hostname"));  // No declared default.
}

TEST(ProtoJsonTest, InvalidUtf8IsReplacedNotThrown) {
  mesos::v1::Task task;
  task.set_name("bad\xff");
  EXPECT_THAT(ProtoToJson(task), HasSubstr("bad"));
}

TEST(ProtoJsonTest, ReadsNamesNumbersAndIgnoresUnknownFields) {
  mesos::v1::agent::Call call;
  ASSERT_TRUE(ProtoFromJson(R"({"type": "GET_CONTAINERS",
      "get_containers": {"show_nested": true, "future": 1},
      "launch_container": {"container_id": {"value": "x"}}})",
                            &call)
                  .ok());
  EXPECT_EQ(call.type(), mesos::v1::agent::Call::GET_CONTAINERS);
  EXPECT_TRUE(call.get_containers().show_nested());
  ASSERT_TRUE(ProtoFromJson(R"({"type": 4, "getMetrics": {}})", &call).ok());
  EXPECT_EQ(call.type(), mesos::v1::agent::Call::GET_METRICS);
  EXPECT_TRUE(call.has_get_metrics());
  mesos::v1::ResourceStatistics s;
  ASSERT_TRUE(
      ProtoFromJson(R"({"timestamp": 1, "mem_total_bytes": "42"})", &s).ok());
  EXPECT_EQ(s.mem_total_bytes(), 42u);
}

TEST(ProtoJsonTest, RejectsMalformedInput) {
  mesos::v1::agent::Call call;
  for (const char* bad :
       {"", "{", "[1]", "null", "\"GET_HEALTH\"", R"({"type": "NO_SUCH_CALL"})",
        R"({"type": true})", R"({"get_metrics": 5})"}) {
    absl::Status status = ProtoFromJson(bad, &call);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  // Deep nesting is an error, not a stack overflow.
  std::string deep = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_FALSE(ProtoFromJson(deep, &call).ok());
  std::string deep_unknown = R"({"type": "GET_HEALTH", "x": )";
  for (int i = 0; i < 100000; ++i) deep_unknown += R"({"y": )";
  deep_unknown += "1" + std::string(100000, '}') + "}";
  EXPECT_TRUE(ProtoFromJson(deep_unknown, &call).ok());
  mesos::v1::ResourceStatistics s;
  absl::Status missing = ProtoFromJson(R"({"processes": 1})", &s);
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.message(), HasSubstr("timestamp"));
}

}  // namespace
}  // namespace agora
