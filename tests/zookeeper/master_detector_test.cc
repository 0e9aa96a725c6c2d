// ZooKeeperMasterDetector against the fake: leader changes reported once,
// garbage skipped, "no leader" only for an empty group, an expired session
// or a disconnection lasting the whole session timeout.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "zookeeper/group_test_util.h"

namespace agora {
namespace zk {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// What a detector reported, as master ids ("" for no leader).
struct Reports {
  std::vector<std::string> ids;
  ZooKeeperMasterDetector::Callback Callback() {
    return [this](std::optional<MasterRecord> leader) {
      ids.push_back(leader.has_value() ? leader->id : "");
    };
  }
};

class MasterDetectorTest : public GroupTest {
 protected:
  // Two contenders, the first leading.
  void StartMasters() {
    c1_.Contend(Record(1), e1_.Callback());
    Settle();
    c2_.Contend(Record(2), e2_.Callback());
    Settle();
  }

  FakeZooKeeper zk1_{&server_}, zk2_{&server_};
  FakeZooKeeper zk_{&server_, absl::Seconds(10)};  // The detector's.
  MasterContender c1_{&zk1_, kGroup, &loop_}, c2_{&zk2_, kGroup, &loop_};
  ContenderEvents e1_, e2_;
  ZooKeeperMasterDetector detector_{&zk_, kGroup, &loop_};
  Reports reports_;
};

TEST_F(MasterDetectorTest, ReportsTheLeaderAndEachChangeOnce) {
  StartMasters();
  detector_.Watch(reports_.Callback());
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre("master-1"));

  c1_.Withdraw();
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre("master-1", "master-2"));

  // A standby joining and leaving changes nothing the detector reports.
  FakeZooKeeper zk3(&server_);
  MasterContender c3(&zk3, kGroup, &loop_);
  ContenderEvents e3;
  c3.Contend(Record(3), e3.Callback());
  Settle();
  c3.Withdraw();
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre("master-1", "master-2"));

  // A late watcher gets the current leader at once.
  Reports late;
  detector_.Watch(late.Callback());
  Settle();
  EXPECT_THAT(late.ids, ElementsAre("master-2"));
}

TEST_F(MasterDetectorTest, NoGroupThenAMasterJoins) {
  detector_.Watch(reports_.Callback());
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre(""));
  StartMasters();
  EXPECT_THAT(reports_.ids, ElementsAre("", "master-1"));
  c1_.Withdraw();
  Settle();
  c2_.Withdraw();
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre("", "master-1", "master-2", ""));
}

TEST_F(MasterDetectorTest, GarbageMembersAreSkipped) {
  CreateNode(kGroup, "");
  CreateNode("/agora/json.info_0000000000", "{\"ip\": \"not a number\"");
  CreateNode("/agora/info_0000000001", "\x08\x01 old binary MasterInfo");
  CreateNode("/agora/registry", "");
  StartMasters();
  detector_.Watch(reports_.Callback());
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre("master-1"));
  EXPECT_THAT(e1_.kinds(), ElementsAre(MasterContender::Event::kElected));
}

TEST_F(MasterDetectorTest, OnlyGarbageMeansNoLeader) {
  CreateNode(kGroup, "");
  CreateNode("/agora/json.info_0000000000", "garbage");
  detector_.Watch(reports_.Callback());
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre(""));
}

TEST_F(MasterDetectorTest, ABlipIsNotNoLeader) {
  StartMasters();
  detector_.Watch(reports_.Callback());
  Settle();
  zk_.Disconnect();
  Advance(absl::Seconds(9));
  zk_.Reconnect();
  Advance(absl::Seconds(30));
  EXPECT_THAT(reports_.ids, ElementsAre("master-1"));
}

TEST_F(MasterDetectorTest, DisconnectedForTheWholeSessionTimeoutIsNoLeader) {
  StartMasters();
  detector_.Watch(reports_.Callback());
  Settle();
  zk_.Disconnect();
  Advance(absl::Seconds(10));
  EXPECT_THAT(reports_.ids, ElementsAre("master-1", ""));
  zk_.Reconnect();
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre("master-1", "", "master-1"));
}

TEST_F(MasterDetectorTest, ALeaderChangeWhileDisconnectedIsSeenOnReconnect) {
  StartMasters();
  detector_.Watch(reports_.Callback());
  Settle();
  zk_.Disconnect();
  Settle();
  c1_.Withdraw();
  Advance(absl::Seconds(2));
  EXPECT_THAT(reports_.ids, ElementsAre("master-1"));
  zk_.Reconnect();
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre("master-1", "master-2"));
}

TEST_F(MasterDetectorTest, SessionExpiryIsNoLeaderUntilTheNewSessionReads) {
  StartMasters();
  detector_.Watch(reports_.Callback());
  Settle();
  zk_.Expire(/*reconnect=*/false);
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre("master-1", ""));
  zk_.Reconnect();
  Settle();
  EXPECT_THAT(reports_.ids, ElementsAre("master-1", "", "master-1"));
  // Watches work on the new session.
  c1_.Withdraw();
  Settle();
  EXPECT_THAT(reports_.ids,
              ElementsAre("master-1", "", "master-1", "master-2"));
}

TEST_F(MasterDetectorTest, ASessionThatNeverConnectsEndsInNoLeader) {
  zk_.Disconnect();
  Settle();
  detector_.Watch(reports_.Callback());
  Advance(absl::Seconds(9));
  EXPECT_THAT(reports_.ids, IsEmpty());
  Advance(absl::Seconds(1));
  EXPECT_THAT(reports_.ids, ElementsAre(""));
}

TEST_F(MasterDetectorTest, QueuedRepliesShowNoHalfAnswer) {
  StartMasters();
  server_.set_deliver_immediately(false);
  detector_.Watch(reports_.Callback());
  loop_.RunUntilIdle();  // The listing goes out.
  EXPECT_EQ(server_.pending(), 1u);
  server_.RunPending();
  loop_.RunUntilIdle();  // The leader's record is read...
  EXPECT_THAT(reports_.ids, IsEmpty());
  Settle();  // ...and only then reported.
  EXPECT_THAT(reports_.ids, ElementsAre("master-1"));
}

}  // namespace
}  // namespace zk
}  // namespace agora
