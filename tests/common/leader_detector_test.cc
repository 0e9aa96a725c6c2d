#include "zookeeper/leader_detector.h"

#include "gtest/gtest.h"

namespace agora {
namespace {

TEST(LeaderDetectorTest, StandaloneReportsTheAddress) {
  auto d = CreateLeaderDetector("127.0.0.1:5050");
  ASSERT_TRUE(d.ok()) << d.status();
  std::optional<std::string> seen;
  (*d)->Watch([&](std::optional<std::string> leader) { seen = leader; });
  EXPECT_EQ(seen, "127.0.0.1:5050");
}

TEST(LeaderDetectorTest, RejectsMalformedMasters) {
  for (const char* bad : {"", "localhost", ":5050", "host:0", "host:99999",
                          "host:abc", "zk://127.0.0.1:2181/agora"}) {
    auto d = CreateLeaderDetector(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace agora
