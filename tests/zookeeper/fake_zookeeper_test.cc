// The fake's own semantics: what unit tests of ZooKeeper users rely on.
#include "fakes/fake_zookeeper.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agora {
namespace zk {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Callbacks that store what they got, for synchronous assertions.
template <typename T>
struct Result {
  std::optional<T> value;
  std::function<void(T)> Callback() {
    return [this](T v) { value = std::move(v); };
  }
};

absl::Status CreateSync(ZooKeeper& zk, const std::string& path,
                        const std::string& data = "", int flags = kPersistent,
                        std::string* created = nullptr) {
  Result<absl::StatusOr<std::string>> r;
  zk.Create(path, data, flags, r.Callback());
  if (!r.value.has_value()) return absl::InternalError("no reply");
  if (created != nullptr && r.value->ok()) *created = **r.value;
  return r.value->status();
}

absl::Status MultiSync(ZooKeeper& zk, std::vector<Op> ops) {
  Result<absl::Status> r;
  zk.Multi(std::move(ops), r.Callback());
  return r.value.value_or(absl::InternalError("no reply"));
}

TEST(FakeZooKeeperTest, CreateGetDeleteWithStatAndVersions) {
  FakeZooKeeper zk;
  ASSERT_TRUE(CreateSync(zk, "/a", "one").ok());
  ASSERT_TRUE(MultiSync(zk, {Op::SetData("/a", "two", 0)}).ok());

  Result<absl::StatusOr<std::pair<std::string, Stat>>> got;
  zk.Get("/a", got.Callback());
  ASSERT_TRUE(got.value->ok());
  EXPECT_EQ((*got.value)->first, "two");
  EXPECT_EQ((*got.value)->second.version, 1);
  EXPECT_EQ((*got.value)->second.data_length, 3);
  EXPECT_EQ((*got.value)->second.ephemeral_owner, 0);

  Result<absl::Status> del;
  zk.Delete("/a", 0, del.Callback());
  EXPECT_EQ(del.value->code(), absl::StatusCode::kFailedPrecondition);
  zk.Delete("/a", 1, del.Callback());
  EXPECT_TRUE(del.value->ok());
  EXPECT_FALSE(zk.server()->NodeExists("/a"));
}

TEST(FakeZooKeeperTest, ErrorsMapToCanonicalCodesNamingThePath) {
  FakeZooKeeper zk;
  absl::Status missing_parent = CreateSync(zk, "/x/y");
  EXPECT_EQ(missing_parent.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing_parent.message(), HasSubstr("'/x/y'"));
  ASSERT_TRUE(CreateSync(zk, "/x").ok());
  EXPECT_EQ(CreateSync(zk, "/x").code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(CreateSync(zk, "/x/y").ok());
  Result<absl::Status> del;
  zk.Delete("/x", -1, del.Callback());
  EXPECT_EQ(del.value->code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(del.value->message(), HasSubstr("not empty"));
  ASSERT_TRUE(CreateSync(zk, "/e", "", kEphemeral).ok());
  EXPECT_EQ(CreateSync(zk, "/e/child").code(),
            absl::StatusCode::kFailedPrecondition);
  for (const char* bad : {"", "x", "/x/", "/x//y", "/x/../y", "/."}) {
    EXPECT_EQ(CreateSync(zk, bad).code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(CreateSync(zk, "/z", "", 8).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FakeZooKeeperTest, SequentialNamesComeFromTheParentsCversion) {
  FakeZooKeeper zk;
  ASSERT_TRUE(CreateSync(zk, "/g").ok());
  std::string first, second;
  ASSERT_TRUE(CreateSync(zk, "/g/m_", "", kSequence, &first).ok());
  ASSERT_TRUE(CreateSync(zk, "/g/other").ok());
  Result<absl::Status> del;
  zk.Delete("/g/other", -1, del.Callback());
  ASSERT_TRUE(del.value->ok());
  ASSERT_TRUE(
      CreateSync(zk, "/g/m_", "", kEphemeral | kSequence, &second).ok());
  EXPECT_EQ(first, "/g/m_0000000000");
  // One create and one delete in between moved the cversion to 3.
  EXPECT_EQ(second, "/g/m_0000000003");
  EXPECT_EQ(zk.server()->NodeStat(second)->ephemeral_owner, zk.session_id());
}

TEST(FakeZooKeeperTest, GetChildrenIsUnsortedAndWatchesFireOnce) {
  FakeZooKeeperServer server;
  FakeZooKeeper a(&server), b(&server);
  ASSERT_TRUE(CreateSync(a, "/g").ok());
  ASSERT_TRUE(CreateSync(a, "/g/1").ok());
  ASSERT_TRUE(CreateSync(a, "/g/2").ok());
  int fired = 0;
  Result<absl::StatusOr<std::vector<std::string>>> children;
  b.GetChildren(
      "/g", [&] { ++fired; }, children.Callback());
  EXPECT_THAT(**children.value, ElementsAre("2", "1"));
  ASSERT_TRUE(CreateSync(a, "/g/3").ok());
  ASSERT_TRUE(CreateSync(a, "/g/4").ok());
  EXPECT_EQ(fired, 1);

  int created = 0;
  Result<absl::StatusOr<std::optional<Stat>>> exists;
  b.Exists(
      "/later", [&] { ++created; }, exists.Callback());
  EXPECT_FALSE(exists.value->value().has_value());
  ASSERT_TRUE(CreateSync(a, "/later").ok());
  EXPECT_EQ(created, 1);
}

TEST(FakeZooKeeperTest, MultiIsAllOrNoneAndNamesTheFailingOp) {
  FakeZooKeeper zk;
  ASSERT_TRUE(CreateSync(zk, "/r").ok());
  int fired = 0;
  Result<absl::StatusOr<std::vector<std::string>>> children;
  zk.GetChildren(
      "/r", [&] { ++fired; }, children.Callback());
  absl::Status failed = MultiSync(
      zk, {Op::Create("/r/a", "x"), Op::Check("/fence"), Op::Delete("/r")});
  EXPECT_EQ(failed.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(failed.message(), HasSubstr("multi op 1 of 3"));
  EXPECT_THAT(failed.message(), HasSubstr("'/fence'"));
  EXPECT_FALSE(zk.server()->NodeExists("/r/a"));
  EXPECT_EQ(fired, 0);

  ASSERT_TRUE(CreateSync(zk, "/fence").ok());
  ASSERT_TRUE(MultiSync(zk, {Op::Create("/r/a", "x"), Op::Check("/fence", 0),
                             Op::Create("/r/a/b", "y")})
                  .ok());
  EXPECT_THAT(zk.server()->NodeChildren("/r/a"), ElementsAre("b"));
  EXPECT_EQ(fired, 1);
}

TEST(FakeZooKeeperTest, RequestsOverTheLimitAreRefusedBeforeTheServer) {
  FakeZooKeeper zk;
  const int before = zk.server()->operations();
  absl::Status big = CreateSync(zk, "/big", std::string(kMaxRequestBytes, 'x'));
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  std::vector<Op> ops;
  for (int i = 0; i < 11; ++i) {
    ops.push_back(Op::Create("/n" + std::to_string(i),
                             std::string(kMaxRequestBytes / 10, 'x')));
  }
  EXPECT_GT(RequestBytes(ops), kMaxRequestBytes);
  EXPECT_EQ(MultiSync(zk, ops).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(zk.server()->operations(), before);
  EXPECT_FALSE(zk.server()->NodeExists("/n0"));
}

TEST(FakeZooKeeperTest, QueuedDeliveryShowsInFlightStates) {
  FakeZooKeeper zk;
  zk.server()->set_deliver_immediately(false);
  Result<absl::StatusOr<std::string>> created;
  zk.Create("/q", "", kPersistent, created.Callback());
  EXPECT_TRUE(zk.server()->NodeExists("/q"));  // Applied...
  EXPECT_FALSE(created.value.has_value());     // ...not yet answered.
  EXPECT_EQ(zk.server()->pending(), 1u);
  EXPECT_EQ(zk.server()->RunPending(), 1);
  EXPECT_EQ(**created.value, "/q");
}

TEST(FakeZooKeeperTest, CloseRemovesEphemeralsAtOnceAndFiresOtherWatches) {
  FakeZooKeeperServer server;
  FakeZooKeeper a(&server), b(&server);
  ASSERT_TRUE(CreateSync(a, "/e", "", kEphemeral).ok());
  int fired = 0;
  Result<absl::StatusOr<std::optional<Stat>>> exists;
  b.Exists(
      "/e", [&] { ++fired; }, exists.Callback());
  a.Close();
  EXPECT_FALSE(server.NodeExists("/e"));
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(CreateSync(a, "/after").code(), absl::StatusCode::kUnavailable);
}

TEST(FakeZooKeeperTest, ExpiryDropsEphemeralsAndStartsANewSession) {
  FakeZooKeeperServer server;
  FakeZooKeeper a(&server), b(&server);
  std::vector<SessionState> events;
  a.OnSessionEvent([&](SessionState s) { events.push_back(s); });
  const int64_t old_session = a.session_id();
  ASSERT_TRUE(CreateSync(a, "/e", "", kEphemeral).ok());
  int own_fired = 0, other_fired = 0;
  Result<absl::StatusOr<std::optional<Stat>>> exists;
  a.Exists(
      "/e", [&] { ++own_fired; }, exists.Callback());
  b.Exists(
      "/e", [&] { ++other_fired; }, exists.Callback());
  a.Expire();
  EXPECT_FALSE(server.NodeExists("/e"));
  EXPECT_EQ(own_fired, 0);  // Dropped with the session.
  EXPECT_EQ(other_fired, 1);
  EXPECT_THAT(events,
              ElementsAre(SessionState::kExpired, SessionState::kConnecting,
                          SessionState::kConnected));
  EXPECT_NE(a.session_id(), old_session);
  EXPECT_TRUE(CreateSync(a, "/e", "", kEphemeral).ok());
  EXPECT_EQ(server.NodeStat("/e")->ephemeral_owner, a.session_id());
}

TEST(FakeZooKeeperTest, ExpiryWithoutReconnectWaitsForReconnect) {
  FakeZooKeeper zk;
  std::vector<SessionState> events;
  zk.OnSessionEvent([&](SessionState s) { events.push_back(s); });
  zk.Expire(/*reconnect=*/false);
  EXPECT_EQ(zk.state(), SessionState::kConnecting);
  EXPECT_EQ(CreateSync(zk, "/x").code(), absl::StatusCode::kUnavailable);
  zk.Reconnect();
  EXPECT_THAT(events,
              ElementsAre(SessionState::kExpired, SessionState::kConnecting,
                          SessionState::kConnected));
  EXPECT_TRUE(CreateSync(zk, "/x").ok());
}

TEST(FakeZooKeeperTest, DisconnectLosesRepliesAndHoldsWatchesUntilReconnect) {
  FakeZooKeeperServer server;
  FakeZooKeeper a(&server), b(&server);
  ASSERT_TRUE(CreateSync(a, "/g").ok());
  int fired = 0;
  Result<absl::StatusOr<std::vector<std::string>>> children;
  a.GetChildren(
      "/g", [&] { ++fired; }, children.Callback());

  server.set_deliver_immediately(false);
  Result<absl::StatusOr<std::string>> in_flight;
  a.Create("/other", "", kPersistent, in_flight.Callback());
  a.Disconnect();
  EXPECT_EQ(a.state(), SessionState::kConnected);  // Not yet delivered.
  server.RunPending();
  EXPECT_EQ(a.state(), SessionState::kConnecting);
  // The create was applied, but its reply was lost with the connection.
  EXPECT_EQ(in_flight.value->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(server.NodeExists("/other"));
  Result<absl::StatusOr<std::string>> refused;
  a.Create("/refused", "", kPersistent, refused.Callback());
  server.RunPending();
  EXPECT_EQ(refused.value->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(server.NodeExists("/refused"));

  b.Create("/g/y", "", kPersistent, [](auto) {});
  server.RunPending();
  EXPECT_EQ(fired, 0);  // Fired while disconnected: held.
  a.Reconnect();
  server.RunPending();
  EXPECT_EQ(a.state(), SessionState::kConnected);
  EXPECT_EQ(fired, 1);
}

TEST(FakeZooKeeperTest, InjectedFailuresAndLostReplies) {
  FakeZooKeeper zk;
  zk.FailNext(1, absl::UnavailableError("injected"));
  EXPECT_EQ(CreateSync(zk, "/a").code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(zk.server()->NodeExists("/a"));
  zk.LoseNextReplies(1);
  EXPECT_EQ(CreateSync(zk, "/a").code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(zk.server()->NodeExists("/a"));
  EXPECT_EQ(CreateSync(zk, "/a").code(), absl::StatusCode::kAlreadyExists);
}

TEST(FakeZooKeeperTest, CreateRecursiveMakesMissingAncestors) {
  FakeZooKeeper zk;
  Result<absl::Status> done;
  zk.CreateRecursive("/a/b/c", done.Callback());
  ASSERT_TRUE(done.value->ok());
  EXPECT_TRUE(zk.server()->NodeExists("/a/b/c"));
  zk.CreateRecursive("/a/b/c", done.Callback());
  EXPECT_TRUE(done.value->ok());
}

TEST(FakeZooKeeperTest, NoCallbackAfterTheClientIsDestroyed) {
  FakeZooKeeperServer server;
  server.set_deliver_immediately(false);
  bool called = false;
  {
    FakeZooKeeper zk(&server);
    zk.Create("/a", "", kPersistent, [&](auto) { called = true; });
  }
  server.RunPending();
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace zk
}  // namespace agora
