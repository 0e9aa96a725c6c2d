#include "zookeeper/leader_detector.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agora {
namespace {

using ::testing::HasSubstr;

TEST(LeaderDetectorTest, StandaloneReportsTheAddress) {
  auto d = CreateLeaderDetector("127.0.0.1:5050");
  ASSERT_TRUE(d.ok()) << d.status();
  std::optional<std::string> seen;
  (*d)->Watch([&](std::optional<std::string> leader) { seen = leader; });
  EXPECT_EQ(seen, "127.0.0.1:5050");
}

TEST(LeaderDetectorTest, RejectsMalformedMasters) {
  for (const char* bad :
       {"", "localhost", ":5050", "host:0", "host:99999", "host:abc",
        "zk://127.0.0.1:2181", "zk://127.0.0.1:2181/", "zk://h:0/agora",
        "zk:///agora", "file://relative"}) {
    auto d = CreateLeaderDetector(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
      EXPECT_THAT(d.status().message(), HasSubstr("--master")) << bad;
    }
  }
}

TEST(LeaderDetectorTest, UnreadableFileIsNotFound) {
  auto d = CreateLeaderDetector("file:///nonexistent/agora-zk-url");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kNotFound);
}

// Election through a real server is tested in tests/zookeeper (label zk);
// here only that a zk:// value builds a ZooKeeper detector, which connects
// in the background (nothing listens on port 1).
TEST(LeaderDetectorTest, ZooKeeperUrlBuildsAZooKeeperDetector) {
  auto d = CreateLeaderDetector("zk://127.0.0.1:1/agora");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT((*d)->Describe(), HasSubstr("zk://127.0.0.1:1/agora"));
}

}  // namespace
}  // namespace agora
