// MasterContender against the fake: elections among two or three masters,
// losing the lead, retries. No sleeps: the loop's ManualClock and the fake's
// queued delivery.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "zookeeper/group_test_util.h"

namespace agora {
namespace zk {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Event = MasterContender::Event;

class MasterContenderTest : public GroupTest {};

TEST_F(MasterContenderTest, FirstIsElectedSecondWaits) {
  FakeZooKeeper zk1(&server_), zk2(&server_);
  MasterContender c1(&zk1, kGroup, &loop_), c2(&zk2, kGroup, &loop_);
  ContenderEvents e1, e2;
  c1.Contend(Record(1), e1.Callback());
  Settle();
  c2.Contend(Record(2), e2.Callback());
  Settle();
  EXPECT_THAT(e1.kinds(), ElementsAre(Event::kElected));
  EXPECT_THAT(e2.kinds(), IsEmpty());
  EXPECT_EQ(c1.znode(), "/agora/json.info_0000000000");
  EXPECT_EQ(c2.znode(), "/agora/json.info_0000000001");
  EXPECT_EQ(server_.NodeData(c1.znode()), MasterRecordToJson(Record(1)));
  EXPECT_EQ(server_.NodeStat(c1.znode())->ephemeral_owner, zk1.session_id());
}

TEST_F(MasterContenderTest, LeaderSessionExpiresSecondIsElected) {
  FakeZooKeeper zk1(&server_), zk2(&server_), zk3(&server_);
  MasterContender c1(&zk1, kGroup, &loop_), c2(&zk2, kGroup, &loop_),
      c3(&zk3, kGroup, &loop_);
  ContenderEvents e1, e2, e3;
  c1.Contend(Record(1), e1.Callback());
  Settle();
  c2.Contend(Record(2), e2.Callback());
  Settle();
  c3.Contend(Record(3), e3.Callback());
  Settle();

  zk1.Expire();
  Settle();
  ASSERT_THAT(e1.kinds(), ElementsAre(Event::kElected, Event::kLost));
  EXPECT_THAT(e1.events[1].second, HasSubstr("session expired"));
  EXPECT_EQ(c1.znode(), "");
  EXPECT_THAT(e2.kinds(), ElementsAre(Event::kElected));
  EXPECT_THAT(e3.kinds(), IsEmpty());

  // SIGTERM-like: the new leader closes its session; the third follows.
  zk2.Close();
  Settle();
  EXPECT_THAT(e3.kinds(), ElementsAre(Event::kElected));
}

TEST_F(MasterContenderTest, AStandbyWhoseSessionExpiredMayContendAgain) {
  FakeZooKeeper zk1(&server_), zk2(&server_);
  MasterContender c1(&zk1, kGroup, &loop_), c2(&zk2, kGroup, &loop_);
  ContenderEvents e1, e2, again;
  c1.Contend(Record(1), e1.Callback());
  c2.Contend(Record(2), e2.Callback());
  Settle();
  zk2.Expire();
  Settle();
  EXPECT_THAT(e2.kinds(), ElementsAre(Event::kLost));
  c2.Contend(Record(2), again.Callback());
  Settle();
  // Two creates and the expired member's delete moved the cversion to 3.
  EXPECT_EQ(c2.znode(), "/agora/json.info_0000000003");
  EXPECT_THAT(server_.NodeChildren(kGroup),
              ElementsAre("json.info_0000000000", "json.info_0000000003"));
  zk1.Close();
  Settle();
  EXPECT_THAT(again.kinds(), ElementsAre(Event::kElected));
}

TEST_F(MasterContenderTest, LeaderSeeingALowerMemberLosesTheLead) {
  CreateNode(kGroup, "");
  CreateNode("/agora/json.info_0000000000", MasterRecordToJson(Record(9)));
  // Makes way for a lower name than the contender's.
  FakeZooKeeper admin(&server_);
  admin.Delete("/agora/json.info_0000000000", -1, [](absl::Status) {});
  Settle();

  FakeZooKeeper zk1(&server_);
  MasterContender c1(&zk1, kGroup, &loop_);
  ContenderEvents e1;
  c1.Contend(Record(1), e1.Callback());
  Settle();
  ASSERT_THAT(e1.kinds(), ElementsAre(Event::kElected));
  const std::string own = c1.znode();
  EXPECT_EQ(own, "/agora/json.info_0000000002");

  CreateNode("/agora/json.info_0000000001", MasterRecordToJson(Record(9)));
  Settle();
  ASSERT_THAT(e1.kinds(), ElementsAre(Event::kElected, Event::kLost));
  EXPECT_THAT(e1.events[1].second,
              HasSubstr("json.info_0000000001 is lower than this leader's"));
  EXPECT_FALSE(server_.NodeExists(own));  // Deleted after the loss.
}

TEST_F(MasterContenderTest, ALowerMemberWithGarbageDataDoesNotBlockElection) {
  CreateNode(kGroup, "");
  CreateNode("/agora/json.info_0000000000", "not json");
  CreateNode("/agora/info_0000000001", "\x08\x01 old binary MasterInfo");
  CreateNode("/agora/log_replicas", "");
  FakeZooKeeper zk1(&server_);
  MasterContender c1(&zk1, kGroup, &loop_);
  ContenderEvents e1;
  c1.Contend(Record(1), e1.Callback());
  Settle();
  EXPECT_THAT(e1.kinds(), ElementsAre(Event::kElected));
}

TEST_F(MasterContenderTest, ZnodeDeletedByOthersIsLost) {
  FakeZooKeeper zk1(&server_), zk2(&server_), admin(&server_);
  MasterContender c1(&zk1, kGroup, &loop_), c2(&zk2, kGroup, &loop_);
  ContenderEvents e1, e2;
  c1.Contend(Record(1), e1.Callback());
  c2.Contend(Record(2), e2.Callback());
  Settle();
  admin.Delete(c2.znode(), -1, [](absl::Status) {});
  Settle();
  ASSERT_THAT(e2.kinds(), ElementsAre(Event::kLost));
  EXPECT_THAT(e2.events[0].second, HasSubstr("is gone"));
  EXPECT_THAT(e1.kinds(), ElementsAre(Event::kElected));
}

TEST_F(MasterContenderTest, ConnectionLossBeforeTheZnodeIsRetried) {
  FakeZooKeeper zk1(&server_);
  MasterContender c1(&zk1, kGroup, &loop_);
  ContenderEvents e1;
  zk1.FailNext(3, absl::UnavailableError("injected connection loss"));
  c1.Contend(Record(1), e1.Callback());
  Settle();
  EXPECT_THAT(e1.kinds(), IsEmpty());  // Waiting for the retry timer.
  Advance(absl::Seconds(5));
  EXPECT_THAT(e1.kinds(), ElementsAre(Event::kElected));
  EXPECT_THAT(server_.NodeChildren(kGroup),
              ElementsAre("json.info_0000000000"));
}

TEST_F(MasterContenderTest, ACreateWhoseReplyWasLostIsNotDuplicated) {
  FakeZooKeeper zk1(&server_);
  MasterContender c1(&zk1, kGroup, &loop_);
  ContenderEvents e1;
  server_.set_deliver_immediately(false);
  c1.Contend(Record(1), e1.Callback());
  loop_.RunUntilIdle();  // Start: the group create goes out...
  server_.RunPending();  // ...and is answered.
  loop_.RunUntilIdle();  // The member create goes out and is applied...
  ASSERT_THAT(server_.NodeChildren(kGroup),
              ElementsAre("json.info_0000000000"));
  zk1.Disconnect();  // ...but its reply is lost with the connection.
  Settle();
  EXPECT_EQ(c1.znode(), "");
  zk1.Reconnect();
  Settle();
  EXPECT_THAT(e1.kinds(), ElementsAre(Event::kElected));
  EXPECT_EQ(c1.znode(), "/agora/json.info_0000000000");
  EXPECT_THAT(server_.NodeChildren(kGroup),
              ElementsAre("json.info_0000000000"));
}

// A create of this session that the server carried out after the
// contender had looked for it (and created again): the older member stands
// lower, valid, in front of this master. The contender removes it and
// leads, instead of waiting behind itself for ever.
TEST_F(MasterContenderTest, ALowerMemberOfOwnSessionIsRemoved) {
  CreateNode(kGroup, "");
  FakeZooKeeper zk1(&server_);
  zk1.Create(absl::StrCat(kGroup, "/", kMasterNodePrefix),
             MasterRecordToJson(Record(1)), kEphemeral | kSequence,
             [](absl::StatusOr<std::string>) {});
  Settle();
  MasterContender c1(&zk1, kGroup, &loop_);
  ContenderEvents e1;
  c1.Contend(Record(1), e1.Callback());
  Settle();
  EXPECT_THAT(e1.kinds(), ElementsAre(Event::kElected));
  EXPECT_EQ(c1.znode(), "/agora/json.info_0000000001");
  EXPECT_THAT(server_.NodeChildren(kGroup),
              ElementsAre("json.info_0000000001"));
}

// Another session's lower member is a leader, not a leftover.
TEST_F(MasterContenderTest, ALowerMemberOfAnotherSessionIsKept) {
  CreateNode(kGroup, "");
  FakeZooKeeper other(&server_), zk1(&server_);
  other.Create(absl::StrCat(kGroup, "/", kMasterNodePrefix),
               MasterRecordToJson(Record(1)), kEphemeral | kSequence,
               [](absl::StatusOr<std::string>) {});
  Settle();
  MasterContender c1(&zk1, kGroup, &loop_);
  ContenderEvents e1;
  c1.Contend(Record(1), e1.Callback());
  Settle();
  EXPECT_THAT(e1.kinds(), IsEmpty());
  EXPECT_THAT(server_.NodeChildren(kGroup),
              ElementsAre("json.info_0000000000", "json.info_0000000001"));
}

TEST_F(MasterContenderTest,
       DisconnectionShorterThanTheSessionTimeoutKeepsTheLead) {
  FakeZooKeeper zk1(&server_, absl::Seconds(10));
  MasterContender c1(&zk1, kGroup, &loop_);
  ContenderEvents e1;
  c1.Contend(Record(1), e1.Callback());
  Settle();
  zk1.Disconnect();
  Advance(absl::Seconds(9));
  zk1.Reconnect();
  Advance(absl::Seconds(30));
  EXPECT_THAT(e1.kinds(), ElementsAre(Event::kElected));

  zk1.Disconnect();
  Advance(absl::Seconds(10));
  ASSERT_THAT(e1.kinds(), ElementsAre(Event::kElected, Event::kLost));
  EXPECT_THAT(e1.events[1].second, HasSubstr("whole session timeout"));
}

TEST_F(MasterContenderTest, ContendingAgainReplacesTheMember) {
  FakeZooKeeper zk1(&server_);
  MasterContender c1(&zk1, kGroup, &loop_);
  ContenderEvents first, second;
  c1.Contend(Record(1), first.Callback());
  Settle();
  c1.Contend(Record(1), second.Callback());
  Settle();
  // The old member deleted first (cversion 2), then the new one.
  EXPECT_THAT(server_.NodeChildren(kGroup),
              ElementsAre("json.info_0000000002"));
  EXPECT_THAT(first.kinds(), ElementsAre(Event::kElected));
  EXPECT_THAT(second.kinds(), ElementsAre(Event::kElected));
}

TEST_F(MasterContenderTest, WithdrawDeletesTheZnodeAndStopsReporting) {
  FakeZooKeeper zk1(&server_), zk2(&server_);
  MasterContender c1(&zk1, kGroup, &loop_), c2(&zk2, kGroup, &loop_);
  ContenderEvents e1, e2;
  c1.Contend(Record(1), e1.Callback());
  c2.Contend(Record(2), e2.Callback());
  Settle();
  const std::string own = c1.znode();
  c1.Withdraw();
  Settle();
  EXPECT_FALSE(server_.NodeExists(own));
  EXPECT_EQ(c1.znode(), "");
  EXPECT_THAT(e1.kinds(), ElementsAre(Event::kElected));
  EXPECT_THAT(e2.kinds(), ElementsAre(Event::kElected));
}

TEST_F(MasterContenderTest, WithdrawWhileTheCreateIsInFlightLeavesNoMember) {
  FakeZooKeeper zk1(&server_);
  MasterContender c1(&zk1, kGroup, &loop_);
  ContenderEvents e1;
  server_.set_deliver_immediately(false);
  c1.Contend(Record(1), e1.Callback());
  loop_.RunUntilIdle();
  server_.RunPending();
  loop_.RunUntilIdle();
  ASSERT_EQ(server_.NodeChildren(kGroup).size(), 1u);
  c1.Withdraw();
  Settle();
  EXPECT_THAT(server_.NodeChildren(kGroup), IsEmpty());
  EXPECT_THAT(e1.kinds(), IsEmpty());
}

TEST_F(MasterContenderTest, APermanentErrorIsLost) {
  FakeZooKeeper zk1(&server_);
  MasterContender c1(&zk1, kGroup, &loop_);
  ContenderEvents e1;
  zk1.FailNext(
      1, absl::PermissionDeniedError("create '/agora': not authenticated"));
  c1.Contend(Record(1), e1.Callback());
  Settle();
  ASSERT_THAT(e1.kinds(), ElementsAre(Event::kLost));
  EXPECT_THAT(e1.events[0].second, HasSubstr("failed to create the group"));
}

}  // namespace
}  // namespace zk
}  // namespace agora
