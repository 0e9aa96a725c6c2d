#include "agent/agent_resources.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agora {
namespace {

constexpr uint64_t kMB = 1024 * 1024;
constexpr uint64_t kGB = 1024 * kMB;

Resources Expect(absl::string_view flag, const SystemResources& system) {
  absl::StatusOr<Resources> r = AgentResources(flag, system);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : Resources();
}

TEST(AgentResourcesTest, DetectsEverythingMissingAsMesosDoes) {
  SystemResources system{8, 16 * kGB, 100 * kGB};
  Resources r = Expect("", system);
  EXPECT_EQ(r.GetScalar("cpus"), Scalar::FromDouble(8));
  EXPECT_EQ(r.GetScalar("mem"), Scalar::FromDouble(15 * 1024));   // - 1 GB
  EXPECT_EQ(r.GetScalar("disk"), Scalar::FromDouble(95 * 1024));  // - 5 GB
  EXPECT_EQ(r.NonScalars().ToString(), "ports:[31000-32000]");
}

TEST(AgentResourcesTest, SmallHostsGetHalf) {
  SystemResources system{1, 1536 * kMB, 8 * kGB};
  Resources r = Expect("", system);
  EXPECT_EQ(r.GetScalar("mem"), Scalar::FromDouble(768));
  EXPECT_EQ(r.GetScalar("disk"), Scalar::FromDouble(4096));
  // The thresholds themselves take the subtraction.
  Resources edge = Expect("", SystemResources{1, 2 * kGB, 10 * kGB});
  EXPECT_EQ(edge.GetScalar("mem"), Scalar::FromDouble(1024));
  EXPECT_EQ(edge.GetScalar("disk"), Scalar::FromDouble(5 * 1024));
}

TEST(AgentResourcesTest, UnknownSystemFallsBackToMesosDefaults) {
  Resources r = Expect("", SystemResources{});
  EXPECT_EQ(r.GetScalar("cpus"), Scalar::FromDouble(1));
  EXPECT_EQ(r.GetScalar("mem"), Scalar::FromDouble(1024));
  EXPECT_EQ(r.GetScalar("disk"), Scalar::FromDouble(10 * 1024));
}

TEST(AgentResourcesTest, FlagValuesWinAndOnlyMissingOnesAreDetected) {
  SystemResources system{8, 16 * kGB, 100 * kGB};
  Resources r = Expect("cpus:2;mem:512;ports:[5000-5001];gpus:1", system);
  EXPECT_EQ(r.GetScalar("cpus"), Scalar::FromDouble(2));
  EXPECT_EQ(r.GetScalar("mem"), Scalar::FromDouble(512));
  EXPECT_EQ(r.GetScalar("disk"), Scalar::FromDouble(95 * 1024));
  EXPECT_EQ(r.GetScalar("gpus"), Scalar::FromDouble(1));
  EXPECT_EQ(r.NonScalars().ToString(), "ports:[5000-5001]");
}

TEST(AgentResourcesTest, ExplicitZeroCountsAsGiven) {
  Resources r =
      Expect("cpus:0;mem:64", SystemResources{8, 16 * kGB, 100 * kGB});
  EXPECT_EQ(r.GetScalar("cpus"), Scalar());
  EXPECT_EQ(r.GetScalar("mem"), Scalar::FromDouble(64));
}

TEST(AgentResourcesTest, RoleQualifiedEntriesCountAsGiven) {
  Resources r = Expect("cpus(ads):3", SystemResources{8, 16 * kGB, 100 * kGB});
  EXPECT_EQ(r.GetScalar("cpus"), Scalar::FromDouble(3));
  EXPECT_EQ(r.ReservedTo("ads").GetScalar("cpus"), Scalar::FromDouble(3));
}

TEST(AgentResourcesTest, JsonFormIsAccepted) {
  Resources r =
      Expect(R"([{"name":"cpus","type":"SCALAR","scalar":{"value":3}}])",
             SystemResources{8, 16 * kGB, 100 * kGB});
  EXPECT_EQ(r.GetScalar("cpus"), Scalar::FromDouble(3));
  EXPECT_EQ(r.GetScalar("mem"), Scalar::FromDouble(15 * 1024));
}

TEST(AgentResourcesTest, MalformedFlagIsInvalidArgument) {
  for (const char* bad : {"cpus:abc", "cpus", "ports:[5-1]", "mem:-3"}) {
    EXPECT_EQ(AgentResources(bad, SystemResources{}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(AgentResourcesTest, ProbeReadsThisHost) {
  SystemResources system = ProbeSystemResources("/");
  ASSERT_TRUE(system.cpus.has_value());
  EXPECT_GT(*system.cpus, 0);
  ASSERT_TRUE(system.mem_bytes.has_value());
  EXPECT_GT(*system.mem_bytes, 0u);
  ASSERT_TRUE(system.disk_bytes.has_value());
  EXPECT_GT(*system.disk_bytes, 0u);
}

TEST(ParseAttributesTest, InfersTypesAsMesos) {
  auto attributes =
      ParseAttributes("rack:2;zone:a;ports:[1-5,8-9];disks:{a,b};load:0.5");
  ASSERT_TRUE(attributes.ok()) << attributes.status();
  ASSERT_EQ(attributes->size(), 5u);
  const auto& a = *attributes;
  EXPECT_EQ(a[0].name(), "rack");
  EXPECT_EQ(a[0].type(), mesos::v1::Value::SCALAR);
  EXPECT_EQ(a[0].scalar().value(), 2);
  EXPECT_EQ(a[1].type(), mesos::v1::Value::TEXT);
  EXPECT_EQ(a[1].text().value(), "a");
  EXPECT_EQ(a[2].type(), mesos::v1::Value::RANGES);
  ASSERT_EQ(a[2].ranges().range_size(), 2);
  EXPECT_EQ(a[2].ranges().range(1).begin(), 8u);
  EXPECT_EQ(a[2].ranges().range(1).end(), 9u);
  EXPECT_EQ(a[3].type(), mesos::v1::Value::SET);
  EXPECT_THAT(a[3].set().item(), ::testing::ElementsAre("a", "b"));
  EXPECT_EQ(a[4].scalar().value(), 0.5);
  EXPECT_EQ(AttributeValueString(a[2]), "[1-5, 8-9]");
  EXPECT_EQ(AttributeValueString(a[3]), "{a,b}");
}

TEST(ParseAttributesTest, EmptyIsNoAttributes) {
  auto attributes = ParseAttributes("");
  ASSERT_TRUE(attributes.ok());
  EXPECT_TRUE(attributes->empty());
}

TEST(ParseAttributesTest, TextStartingWithADigitStaysText) {
  auto attributes = ParseAttributes("host:1a;os:debian12");
  ASSERT_TRUE(attributes.ok()) << attributes.status();
  EXPECT_EQ((*attributes)[0].type(), mesos::v1::Value::TEXT);
  EXPECT_EQ((*attributes)[0].text().value(), "1a");
  EXPECT_EQ((*attributes)[1].text().value(), "debian12");
}

TEST(ParseAttributesTest, RejectsMalformedEntries) {
  for (const char* bad :
       {"rack", "rack:", ":2", "ports:[5-1]", "p:[1-", "r:[a-b]"}) {
    EXPECT_EQ(ParseAttributes(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace agora
