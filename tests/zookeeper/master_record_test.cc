// MasterRecord's JSON (Mesos's layout) and member names.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "zookeeper/master_group.h"

namespace agora {
namespace zk {
namespace {

using ::testing::HasSubstr;

MasterRecord Sample() {
  MasterRecord r;
  r.id = "7eb34f10-b07c-4921-aece-bbaece09dfd1";
  r.hostname = "master1.example";
  r.ip = "192.168.33.10";
  r.port = 5050;
  r.http_port = 5080;
  r.version = "0.1.0";
  return r;
}

TEST(MasterRecordTest, JsonHasMesossLayoutPlusHttpPort) {
  nlohmann::json j = nlohmann::json::parse(MasterRecordToJson(Sample()));
  EXPECT_EQ(j["id"], "7eb34f10-b07c-4921-aece-bbaece09dfd1");
  // 192.168.33.10 read as a little-endian uint32 of network-order bytes.
  EXPECT_EQ(j["ip"], 169978048u);
  EXPECT_EQ(j["port"], 5050);
  EXPECT_EQ(j["pid"], "master@192.168.33.10:5050");
  EXPECT_EQ(j["hostname"], "master1.example");
  EXPECT_EQ(j["version"], "0.1.0");
  EXPECT_EQ(j["address"]["hostname"], "master1.example");
  EXPECT_EQ(j["address"]["ip"], "192.168.33.10");
  EXPECT_EQ(j["address"]["port"], 5050);
  EXPECT_EQ(j["http_port"], 5080);
}

TEST(MasterRecordTest, RoundTrip) {
  absl::StatusOr<MasterRecord> back =
      MasterRecordFromJson(MasterRecordToJson(Sample()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Sample());
  EXPECT_EQ(back->GrpcAddress(), "master1.example:5050");
  EXPECT_EQ(back->HttpAddress(), "master1.example:5080");
}

TEST(MasterRecordTest, ReadsWhatMesosWrites) {
  // A json.info_ payload as a Mesos 1.x master writes it (keys sorted,
  // capabilities and domain that Agora does not use).
  const char* mesos =
      R"({"address":{"hostname":"master1.example.com","ip":"10.0.1.17",)"
      R"("port":5050},"capabilities":[{"type":"AGENT_UPDATE"},)"
      R"({"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}],"domain":)"
      R"({"fault_domain":{"region":{"name":"us-east-1"},"zone":)"
      R"({"name":"us-east-1a"}}},"hostname":"master1.example.com",)"
      R"("id":"3bba9b5a-ab25-4d8c-a9a2-b6b4a7e8f1c2","ip":285278218,)"
      R"("pid":"master@10.0.1.17:5050","port":5050,"version":"1.11.0"})";
  absl::StatusOr<MasterRecord> r = MasterRecordFromJson(mesos);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, "3bba9b5a-ab25-4d8c-a9a2-b6b4a7e8f1c2");
  EXPECT_EQ(r->hostname, "master1.example.com");
  EXPECT_EQ(r->ip, "10.0.1.17");
  EXPECT_EQ(r->port, 5050);
  EXPECT_EQ(r->http_port, 0);
  EXPECT_EQ(r->version, "1.11.0");
  // Mesos serves HTTP on its one port.
  EXPECT_EQ(r->HttpAddress(), "master1.example.com:5050");
}

TEST(MasterRecordTest, FallsBackToIpAndPortWithoutAddress) {
  // Before 0.24, Mesos wrote no `address`.
  absl::StatusOr<MasterRecord> r = MasterRecordFromJson(
      R"({"hostname":"localhost","id":"20150520-102342-16777343-5051-51088",)"
      R"("ip":16777343,"pid":"master@127.0.0.1:5051","port":5051})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ip, "127.0.0.1");
  EXPECT_EQ(r->port, 5051);
  EXPECT_EQ(r->hostname, "localhost");
  EXPECT_EQ(r->GrpcAddress(), "localhost:5051");

  absl::StatusOr<MasterRecord> no_host =
      MasterRecordFromJson(R"({"ip":16777343,"port":5050})");
  ASSERT_TRUE(no_host.ok()) << no_host.status();
  EXPECT_EQ(no_host->GrpcAddress(), "127.0.0.1:5050");
}

TEST(MasterRecordTest, RefusesRecordsItCannotDial) {
  struct Case {
    const char* json;
    const char* why;
  };
  for (const Case& c : {
           Case{"", "not a JSON object"},
           Case{"garbage", "not a JSON object"},
           Case{"[1,2]", "not a JSON object"},
           Case{R"({"port":5050})", "'ip'"},
           Case{R"({"ip":16777343})", "port"},
           Case{R"({"ip":16777343,"port":0})", "port"},
           Case{R"({"ip":16777343,"port":70000})", "'port'"},
           Case{R"({"ip":"127.0.0.1","port":5050})", "'ip'"},
           Case{R"({"address":"h:1","ip":16777343,"port":5050})", "'address'"},
           Case{R"({"address":{"ip":"1.2.3.4","port":"5050"}})", "'port'"},
           Case{R"({"id":7,"ip":16777343,"port":5050})", "'id'"},
       }) {
    absl::StatusOr<MasterRecord> r = MasterRecordFromJson(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(r.status().message(), HasSubstr(c.why)) << c.json;
  }
}

TEST(MemberSequenceTest, OnlyJsonInfoMembers) {
  EXPECT_EQ(MemberSequence("json.info_0000000007"), 7);
  EXPECT_EQ(MemberSequence("json.info_0000012345"), 12345);
  EXPECT_EQ(MemberSequence("info_0000000001"), std::nullopt);
  EXPECT_EQ(MemberSequence("json.info_"), std::nullopt);
  EXPECT_EQ(MemberSequence("json.info_12a"), std::nullopt);
  EXPECT_EQ(MemberSequence("json.info_-2147483648"), std::nullopt);
  EXPECT_EQ(MemberSequence("registry"), std::nullopt);
  EXPECT_EQ(MemberSequence("log_replicas"), std::nullopt);
}

}  // namespace
}  // namespace zk
}  // namespace agora
