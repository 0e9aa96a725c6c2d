// The real client (libzookeeper-mt) against a real 1-server ZooKeeper
// started by the test (ZkEnsemble): operations, watches, Multi, ACLs, the
// client-side size check, ephemerals on Close, an election with contender
// and detector, a short blip and session expiry. Label `zk`: these tests
// fail, never skip, when the server cannot start.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/event_loop.h"
#include "fakes/zk_ensemble.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "zookeeper/leader_detector.h"
#include "zookeeper/master_group.h"
#include "zookeeper/zookeeper.h"

namespace agora {
namespace zk {
namespace {

using ::agora::testing::ZkEnsemble;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(20);

// Polls `condition` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition,
             absl::Duration timeout = kWait) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return condition();
}

// One reply of an asynchronous call, waited for with a deadline.
template <typename T>
class Reply {
 public:
  std::function<void(T)> Callback() {
    return [this](T value) {
      absl::MutexLock lock(&mu_);
      value_ = std::move(value);
      done_ = true;
    };
  }
  T Wait() {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&done_), kWait)) {
      return T(absl::DeadlineExceededError("no reply in time"));
    }
    return *value_;
  }

 private:
  absl::Mutex mu_;
  std::optional<T> value_;
  bool done_ = false;
};

// Counts watch firings from the client's thread.
struct WatchCount {
  std::atomic<int> fired{0};
  ZooKeeper::Watcher Watcher() {
    return [this] { ++fired; };
  }
};

// Session events as seen by a listener.
class SessionLog {
 public:
  void Attach(ZooKeeper& zk) {
    zk.OnSessionEvent([this](SessionState s) {
      absl::MutexLock lock(&mu_);
      states_.push_back(s);
    });
  }
  std::vector<SessionState> states() {
    absl::MutexLock lock(&mu_);
    return states_;
  }
  bool Saw(SessionState s) {
    for (SessionState seen : states()) {
      if (seen == s) return true;
    }
    return false;
  }

 private:
  absl::Mutex mu_;
  std::vector<SessionState> states_;
};

std::string MakeTempDir() {
  std::string dir = ::testing::TempDir();
  if (dir.empty() || dir.back() != '/') dir += '/';
  dir += "agora-zkclient-XXXXXX";
  return ::mkdtemp(dir.data()) != nullptr ? dir : "";
}

absl::Status CreateSync(ZooKeeper& zk, const std::string& path,
                        const std::string& data = "", int flags = kPersistent,
                        std::string* created = nullptr) {
  Reply<absl::StatusOr<std::string>> reply;
  zk.Create(path, data, flags, reply.Callback());
  absl::StatusOr<std::string> r = reply.Wait();
  if (created != nullptr && r.ok()) *created = *r;
  return r.status();
}

absl::Status MultiSync(ZooKeeper& zk, std::vector<Op> ops) {
  Reply<absl::Status> reply;
  zk.Multi(std::move(ops), reply.Callback());
  return reply.Wait();
}

absl::StatusOr<std::pair<std::string, Stat>> GetSync(ZooKeeper& zk,
                                                     const std::string& path) {
  Reply<absl::StatusOr<std::pair<std::string, Stat>>> reply;
  zk.Get(path, reply.Callback());
  return reply.Wait();
}

MasterRecord Record(int n) {
  MasterRecord r;
  r.id = "master-" + std::to_string(n);
  r.hostname = "127.0.0.1";
  r.ip = "127.0.0.1";
  r.port = 5050 + n;
  r.http_port = 5080 + n;
  r.version = "0.1.0";
  return r;
}

// One server for the suite (the JVM takes seconds to start).
class ZooKeeperClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StartEnsemble(1); }
  static void TearDownTestSuite() {
    delete ensemble_;
    ensemble_ = nullptr;
    if (std::getenv("AGORA_KEEP_TEST_DIRS") == nullptr && !dir_->empty()) {
      std::error_code ec;
      std::filesystem::remove_all(*dir_, ec);
    }
    delete dir_;
    delete start_error_;
    start_error_ = nullptr;
  }
  static void StartEnsemble(int servers) {
    dir_ = new std::string(MakeTempDir());
    auto started = ZkEnsemble::Start(servers, *dir_ + "/zk");
    if (started.ok()) {
      ensemble_ = started->release();
    } else {
      start_error_ = new absl::Status(started.status());
    }
  }
  void SetUp() override {
    ASSERT_NE(ensemble_, nullptr)
        << "the ZooKeeper server did not start: " << *start_error_;
  }

  // A connected session to `servers` (all by default); the test fails if it
  // does not connect.
  std::unique_ptr<ZooKeeper> Connect(absl::Duration timeout = absl::Seconds(10),
                                     const std::string& credentials = "",
                                     std::string servers = "") {
    if (servers.empty()) servers = ensemble_->ConnectString();
    std::string url =
        absl::StrCat("zk://", credentials, credentials.empty() ? "" : "@",
                     servers, "/agora");
    absl::StatusOr<Url> parsed = ParseUrl(url);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (!parsed.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<ZooKeeper>> zk =
        NewZooKeeper(*parsed, timeout);
    EXPECT_TRUE(zk.ok()) << zk.status();
    if (!zk.ok()) return nullptr;
    EXPECT_TRUE(WaitFor([&] {
      return (*zk)->state() == SessionState::kConnected;
    })) << "no ZooKeeper session to "
        << url;
    return *std::move(zk);
  }

  static std::string* dir_;
  static ZkEnsemble* ensemble_;
  static absl::Status* start_error_;
};

std::string* ZooKeeperClientTest::dir_ = nullptr;
ZkEnsemble* ZooKeeperClientTest::ensemble_ = nullptr;
absl::Status* ZooKeeperClientTest::start_error_ = nullptr;

TEST_F(ZooKeeperClientTest, CreateGetChildrenWatchAndDelete) {
  // Recorders first: they outlive the session whose callbacks use them.
  WatchCount children_changed, created;
  auto zk = Connect();
  ASSERT_NE(zk, nullptr);
  EXPECT_NE(zk->session_id(), 0);
  EXPECT_GT(zk->session_timeout(), absl::ZeroDuration());

  ASSERT_TRUE(CreateSync(*zk, "/ops", "hello").ok());
  EXPECT_EQ(CreateSync(*zk, "/ops").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CreateSync(*zk, "/missing/child").code(),
            absl::StatusCode::kNotFound);
  auto got = GetSync(*zk, "/ops");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->first, "hello");
  EXPECT_EQ(got->second.version, 0);
  EXPECT_EQ(got->second.data_length, 5);

  Reply<absl::StatusOr<std::vector<std::string>>> children;
  zk->GetChildren("/ops", children_changed.Watcher(), children.Callback());
  ASSERT_TRUE(children.Wait().ok());
  EXPECT_TRUE(children.Wait()->empty());

  std::string first, second;
  ASSERT_TRUE(CreateSync(*zk, "/ops/m_", "", kSequence, &first).ok());
  ASSERT_TRUE(
      CreateSync(*zk, "/ops/m_", "", kEphemeral | kSequence, &second).ok());
  EXPECT_EQ(first, "/ops/m_0000000000");
  EXPECT_EQ(second, "/ops/m_0000000001");
  EXPECT_TRUE(WaitFor([&] { return children_changed.fired == 1; }));

  Reply<absl::StatusOr<std::optional<Stat>>> exists;
  zk->Exists("/ops/later", created.Watcher(), exists.Callback());
  ASSERT_TRUE(exists.Wait().ok());
  EXPECT_FALSE(exists.Wait()->has_value());
  ASSERT_TRUE(CreateSync(*zk, "/ops/later").ok());
  EXPECT_TRUE(WaitFor([&] { return created.fired == 1; }));
  EXPECT_EQ(children_changed.fired, 1);  // One-shot.

  Reply<absl::Status> deleted;
  zk->Delete("/ops/later", 5, deleted.Callback());
  EXPECT_EQ(deleted.Wait().code(), absl::StatusCode::kFailedPrecondition);
  Reply<absl::Status> deleted_again;
  zk->Delete("/ops/later", 0, deleted_again.Callback());
  EXPECT_TRUE(deleted_again.Wait().ok());

  Reply<absl::Status> recursive;
  zk->CreateRecursive("/ops/a/b/c", recursive.Callback());
  EXPECT_TRUE(recursive.Wait().ok());
  EXPECT_TRUE(GetSync(*zk, "/ops/a/b/c").ok());
  Reply<absl::Status> synced;
  zk->Sync("/ops", synced.Callback());
  EXPECT_TRUE(synced.Wait().ok());
}

TEST_F(ZooKeeperClientTest, MultiIsAllOrNone) {
  auto zk = Connect();
  ASSERT_NE(zk, nullptr);
  ASSERT_TRUE(CreateSync(*zk, "/multi").ok());
  absl::Status failed =
      MultiSync(*zk, {Op::Create("/multi/a", "1"), Op::Check("/multi/fence"),
                      Op::SetData("/multi", "x")});
  EXPECT_EQ(failed.code(), absl::StatusCode::kNotFound) << failed;
  EXPECT_THAT(failed.message(), HasSubstr("multi op 1 of 3"));
  EXPECT_THAT(failed.message(), HasSubstr("'/multi/fence'"));
  EXPECT_EQ(GetSync(*zk, "/multi/a").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(GetSync(*zk, "/multi")->first, "");

  ASSERT_TRUE(CreateSync(*zk, "/multi/fence").ok());
  absl::Status bad_version = MultiSync(
      *zk, {Op::Check("/multi/fence", 3), Op::Create("/multi/a", "1")});
  EXPECT_EQ(bad_version.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(
      MultiSync(*zk,
                {Op::Check("/multi/fence", 0), Op::Create("/multi/a", "1"),
                 Op::SetData("/multi", "x", 0), Op::Delete("/multi/fence")})
          .ok());
  EXPECT_EQ(GetSync(*zk, "/multi/a")->first, "1");
  EXPECT_EQ(GetSync(*zk, "/multi")->second.version, 1);
}

TEST_F(ZooKeeperClientTest, OversizedRequestsAreRefusedAndTheSessionLives) {
  auto zk = Connect();
  ASSERT_NE(zk, nullptr);
  const int64_t session = zk->session_id();
  absl::Status big =
      CreateSync(*zk, "/big", std::string(kMaxRequestBytes, 'x'));
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument) << big;
  EXPECT_THAT(big.message(), HasSubstr("limit"));
  absl::Status big_multi =
      MultiSync(*zk, {Op::Create("/big1", std::string(600 * 1000, 'x')),
                      Op::Create("/big2", std::string(600 * 1000, 'x'))});
  EXPECT_EQ(big_multi.code(), absl::StatusCode::kInvalidArgument);

  // Just under the limit is what the server takes.
  ASSERT_TRUE(
      CreateSync(*zk, "/big", std::string(kMaxRequestBytes - 100, 'x')).ok());
  EXPECT_EQ(zk->state(), SessionState::kConnected);
  EXPECT_EQ(zk->session_id(), session);
  EXPECT_EQ(GetSync(*zk, "/big")->second.data_length,
            static_cast<int32_t>(kMaxRequestBytes - 100));
}

TEST_F(ZooKeeperClientTest, DigestCredentialsMakeNodesReadOnlyForOthers) {
  auto owner = Connect(absl::Seconds(10), "jane:s3cret");
  auto same_user = Connect(absl::Seconds(10), "jane:s3cret");
  auto anonymous = Connect();
  ASSERT_NE(owner, nullptr);
  ASSERT_NE(same_user, nullptr);
  ASSERT_NE(anonymous, nullptr);
  ASSERT_TRUE(CreateSync(*owner, "/acl", "mine").ok());
  EXPECT_EQ(GetSync(*anonymous, "/acl")->first, "mine");  // World-readable.
  EXPECT_EQ(CreateSync(*anonymous, "/acl/x").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(MultiSync(*anonymous, {Op::SetData("/acl", "theirs")}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CreateSync(*same_user, "/acl/x").ok());
}

TEST_F(ZooKeeperClientTest, CloseRemovesEphemeralsAtOnce) {
  WatchCount gone;
  auto owner = Connect();
  auto watcher = Connect();
  ASSERT_NE(owner, nullptr);
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(CreateSync(*owner, "/eph", "", kEphemeral).ok());
  Reply<absl::StatusOr<std::optional<Stat>>> exists;
  watcher->Exists("/eph", gone.Watcher(), exists.Callback());
  ASSERT_TRUE(exists.Wait().ok());
  ASSERT_TRUE(exists.Wait()->has_value());

  absl::Time begin = absl::Now();
  owner->Close();
  ASSERT_TRUE(WaitFor([&] { return gone.fired == 1; }));
  // Far less than the 10 s session timeout.
  EXPECT_LT(absl::Now() - begin, absl::Seconds(3));
  EXPECT_EQ(GetSync(*watcher, "/eph").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(CreateSync(*owner, "/after").code(),
            absl::StatusCode::kUnavailable);
}

// What the election test's callbacks saw, from the loops' threads.
struct ElectionLog {
  absl::Mutex mu;
  std::vector<MasterContender::Event> events1, events2;
  std::vector<std::string> detected;
  std::vector<std::optional<std::string>> addresses;
  size_t Size(const std::vector<std::string>& v) {
    absl::MutexLock lock(&mu);
    return v.size();
  }
};

TEST_F(ZooKeeperClientTest, ElectionWithTwoSessions) {
  // Destroyed last: the recorder; then the loop (stopped explicitly first).
  ElectionLog log;
  EventLoop loop("election");
  loop.Start();
  auto zk1 = Connect();
  auto zk2 = Connect();
  auto zk3 = Connect();
  ASSERT_NE(zk1, nullptr);
  ASSERT_NE(zk2, nullptr);
  ASSERT_NE(zk3, nullptr);
  auto c1 = std::make_unique<MasterContender>(zk1.get(), "/election", &loop);
  auto c2 = std::make_unique<MasterContender>(zk2.get(), "/election", &loop);
  ZooKeeperMasterDetector detector(zk3.get(), "/election", &loop);

  c1->Contend(Record(1), [&](MasterContender::Event e, const std::string&) {
    absl::MutexLock lock(&log.mu);
    log.events1.push_back(e);
  });
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&log.mu);
    return !log.events1.empty();
  }));
  c2->Contend(Record(2), [&](MasterContender::Event e, const std::string&) {
    absl::MutexLock lock(&log.mu);
    log.events2.push_back(e);
  });
  detector.Watch([&](std::optional<MasterRecord> leader) {
    absl::MutexLock lock(&log.mu);
    log.detected.push_back(leader.has_value() ? leader->id : "");
  });
  ASSERT_TRUE(WaitFor([&] { return log.Size(log.detected) == 1; }));
  ASSERT_TRUE(WaitFor([&] { return !c2->znode().empty(); }));

  // The layout a Mesos tool reads.
  auto members = ensemble_->Children("/election");
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_THAT(*members,
              ElementsAre("json.info_0000000000", "json.info_0000000001"));
  EXPECT_EQ(GetSync(*zk3, c1->znode())->first, MasterRecordToJson(Record(1)));

  // What an agent given --master=zk://... sees.
  auto agent_view = CreateLeaderDetector(ensemble_->Url("/election"));
  ASSERT_TRUE(agent_view.ok()) << agent_view.status();
  (*agent_view)->Watch([&](std::optional<std::string> address) {
    absl::MutexLock lock(&log.mu);
    log.addresses.push_back(address);
  });
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&log.mu);
    return log.addresses.size() == 1;
  }));

  // SIGTERM-like: the leader closes its session; the standby follows at once.
  absl::Time begin = absl::Now();
  c1.reset();
  zk1->Close();
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&log.mu);
    return !log.events2.empty() && log.detected.size() == 2 &&
           log.addresses.size() == 2;
  }));
  EXPECT_LT(absl::Now() - begin, absl::Seconds(5));
  {
    absl::MutexLock lock(&log.mu);
    EXPECT_THAT(log.events1, ElementsAre(MasterContender::Event::kElected));
    EXPECT_THAT(log.events2, ElementsAre(MasterContender::Event::kElected));
    EXPECT_THAT(log.detected, ElementsAre("master-1", "master-2"));
    EXPECT_THAT(log.addresses, ElementsAre("127.0.0.1:5051", "127.0.0.1:5052"));
  }
  agent_view->reset();
  loop.Stop();
}

// Three servers of their own: these tests stop one. A session given only
// one follower's address is cut off when that server stops, while the two
// others keep the ensemble (and the session's clock) running.
class ZooKeeperRestartTest : public ZooKeeperClientTest {
 protected:
  static void SetUpTestSuite() { StartEnsemble(3); }
  static void TearDownTestSuite() { ZooKeeperClientTest::TearDownTestSuite(); }

  void SetUp() override {
    ZooKeeperClientTest::SetUp();
    ASSERT_TRUE(ensemble_->WaitQuorum(absl::Now() + kWait).ok());
    follower_ = ensemble_->Leader() == 0 ? 1 : 0;
    other_ = 3 - ensemble_->Leader() - follower_;
  }
  std::string Server(int i) {
    return absl::StrCat("127.0.0.1:", ensemble_->client_port(i));
  }
  void RestartFollower() {
    ASSERT_TRUE(ensemble_->Restart(follower_).ok());
    absl::Status serving =
        ensemble_->WaitServing(follower_, absl::Now() + kWait);
    ASSERT_TRUE(serving.ok()) << serving;
  }

  int follower_ = 0;  // The server the tested session uses.
  int other_ = 0;     // Another server, for an observer's session.
};

TEST_F(ZooKeeperRestartTest, ABlipKeepsTheSessionAndItsEphemerals) {
  SessionLog log;
  auto zk = Connect(absl::Seconds(10), "", Server(follower_));
  ASSERT_NE(zk, nullptr);
  log.Attach(*zk);
  const int64_t session = zk->session_id();
  ASSERT_TRUE(CreateSync(*zk, "/blip", "", kEphemeral).ok());

  ensemble_->Stop(follower_);
  ASSERT_TRUE(WaitFor([&] { return log.Saw(SessionState::kConnecting); }));
  RestartFollower();
  ASSERT_TRUE(WaitFor([&] { return zk->state() == SessionState::kConnected; }));
  EXPECT_EQ(zk->session_id(), session);
  EXPECT_FALSE(log.Saw(SessionState::kExpired));
  EXPECT_TRUE(GetSync(*zk, "/blip").ok());
}

TEST_F(ZooKeeperRestartTest, ExpiryOpensANewSessionAndLosesTheLead) {
  SessionLog log;
  WatchCount member_gone;
  std::atomic<int> lost{0}, elected{0};
  EventLoop loop("expiry");
  loop.Start();
  auto observer = Connect(absl::Seconds(10), "", Server(other_));
  auto zk = Connect(absl::Seconds(2), "", Server(follower_));
  ASSERT_NE(observer, nullptr);
  ASSERT_NE(zk, nullptr);
  log.Attach(*zk);
  const int64_t session = zk->session_id();
  auto contender =
      std::make_unique<MasterContender>(zk.get(), "/expiry", &loop);
  contender->Contend(
      Record(1), [&](MasterContender::Event e, const std::string&) {
        ++(e == MasterContender::Event::kElected ? elected : lost);
      });
  ASSERT_TRUE(WaitFor([&] { return elected == 1; }));
  Reply<absl::StatusOr<std::optional<Stat>>> exists;
  observer->Exists(contender->znode(), member_gone.Watcher(),
                   exists.Callback());
  ASSERT_TRUE(exists.Wait().ok());

  // Cut off: the ensemble expires the session after its 2 s timeout (the
  // member vanishes), and the contender gives up the lead on its own after
  // the same time disconnected.
  ensemble_->Stop(follower_);
  ASSERT_TRUE(WaitFor([&] { return member_gone.fired == 1; }));
  EXPECT_TRUE(WaitFor([&] { return lost == 1; }));
  EXPECT_EQ(contender->znode(), "");
  EXPECT_FALSE(log.Saw(SessionState::kExpired));  // Not known yet.

  // Back in touch: the client hears of the expiry and opens a new session.
  RestartFollower();
  ASSERT_TRUE(WaitFor([&] { return log.Saw(SessionState::kExpired); }));
  ASSERT_TRUE(WaitFor([&] {
    return zk->state() == SessionState::kConnected &&
           zk->session_id() != session;
  }));
  std::vector<SessionState> states = log.states();
  auto expired =
      std::find(states.begin(), states.end(), SessionState::kExpired);
  EXPECT_NE(std::find(expired, states.end(), SessionState::kConnected),
            states.end());
  // The new session works, and the master may contend again.
  EXPECT_TRUE(CreateSync(*zk, "/after-expiry").ok());
  contender->Contend(
      Record(1), [&](MasterContender::Event e, const std::string&) {
        ++(e == MasterContender::Event::kElected ? elected : lost);
      });
  EXPECT_TRUE(WaitFor([&] { return elected == 2; }));
  contender.reset();
  loop.Stop();
}

}  // namespace
}  // namespace zk
}  // namespace agora
