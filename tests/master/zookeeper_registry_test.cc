// The ZooKeeper registry back-end against the fake ZooKeeper, through the
// Registrar on a manual loop: recovery of each record kind, one znode per
// record, batching into one fenced multi, fencing, create vs set, lost
// replies, oversized and corrupt records, the store timeout.
#include "master/zookeeper_registry.h"

#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "fakes/fake_zookeeper.h"
#include "gtest/gtest.h"
#include "master/registrar.h"

namespace agora {
namespace {

using zk::FakeZooKeeper;
using zk::FakeZooKeeperServer;

constexpr char kRoot[] = "/agora";
constexpr char kRegistry[] = "/agora/registry";

mesos::v1::AgentInfo Info(const std::string& id,
                          const std::string& hostname = "") {
  mesos::v1::AgentInfo info;
  info.set_hostname(hostname.empty() ? "host-" + id : hostname);
  info.mutable_id()->set_value(id);
  return info;
}

std::string AgentRecord(const std::string& id) {
  internal::Registry::Agent agent;
  *agent.mutable_info() = Info(id);
  return agent.SerializeAsString();
}

class ZooKeeperRegistryTest : public ::testing::Test {
 protected:
  ZooKeeperRegistryTest() : zk_(&server_) {
    // This master's election znode: the fence of every write.
    Create(kRoot, "");
    zk_.Create(absl::StrCat(kRoot, "/json.info_"), "{}",
               zk::kEphemeral | zk::kSequence,
               [this](absl::StatusOr<std::string> path) {
                 ASSERT_TRUE(path.ok()) << path.status();
                 fence_ = *path;
               });
    server_.RunPending();
  }

  // A znode written by another client (a previous leader, an operator).
  void Create(const std::string& path, const std::string& data) {
    FakeZooKeeper admin(&server_);
    absl::Status status = absl::InternalError("no reply");
    admin.CreateRecursive(path, [&](absl::Status s) { status = s; });
    server_.RunPending();
    ASSERT_TRUE(status.ok()) << status;
    if (data.empty()) return;
    admin.Multi({zk::Op::SetData(path, data)},
                [&](absl::Status s) { status = s; });
    server_.RunPending();
    ASSERT_TRUE(status.ok()) << status;
  }

  // A registrar over the ZooKeeper back-end, recovered; the recovery status.
  absl::Status Start() {
    Registrar::Options options;
    options.on_store_timeout = [this](const absl::Status& s) {
      timeouts_.push_back(s);
    };
    registrar_ = std::make_unique<Registrar>(
        &loop_, NewZooKeeperRegistry(&zk_, kRoot, fence_), options);
    std::optional<absl::Status> recovered;
    registrar_->Recover([&](absl::Status s) { recovered = s; });
    Settle();
    return recovered.value_or(absl::InternalError("recovery never ended"));
  }

  // Delivers ZooKeeper replies and runs the loop until both are quiet.
  void Settle() {
    for (int i = 0; i < 1000; ++i) {
      if (server_.RunPending() + loop_.RunUntilIdle() == 0) return;
    }
    FAIL() << "the fake and the loop never settled";
  }

  Registrar::Done Into(std::vector<absl::Status>* out) {
    return [out](absl::Status s) { out->push_back(s); };
  }

  std::string Path(const std::string& name) {
    return absl::StrCat(kRegistry, "/", name);
  }

  ManualClock clock_;
  EventLoop loop_{"master", &clock_};
  FakeZooKeeperServer server_;
  FakeZooKeeper zk_;
  std::string fence_;
  std::vector<absl::Status> timeouts_;
  std::unique_ptr<Registrar> registrar_;
};

TEST_F(ZooKeeperRegistryTest, RecoversEveryRecordKind) {
  internal::Registry::UnreachableAgent unreachable;
  unreachable.mutable_id()->set_value("S2");
  unreachable.mutable_timestamp()->set_nanoseconds(1700000000000000000);
  internal::Registry::GoneAgent gone;
  gone.mutable_id()->set_value("S3");
  gone.mutable_timestamp()->set_nanoseconds(1700000001000000000);
  internal::Registry::Roles roles;
  roles.add_weights()->set_role("ads");
  roles.mutable_weights(0)->set_weight(2);
  Create(Path("agents/S1"), AgentRecord("S1"));
  Create(Path("unreachable/S2"), unreachable.SerializeAsString());
  Create(Path("gone/S3"), gone.SerializeAsString());
  Create(Path("roles"), roles.SerializeAsString());
  ASSERT_TRUE(Start().ok());
  ASSERT_NE(registrar_->FindAgent("S1"), nullptr);
  EXPECT_EQ(registrar_->FindAgent("S1")->hostname(), "host-S1");
  EXPECT_EQ(registrar_->UnreachableSince("S2"),
            absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(registrar_->GoneSince("S3"), absl::FromUnixSeconds(1700000001));
  EXPECT_EQ(registrar_->Weights(), (std::map<std::string, double>{{"ads", 2}}));
}

TEST_F(ZooKeeperRegistryTest, AFirstStartCreatesTheDirectories) {
  ASSERT_TRUE(Start().ok());
  EXPECT_TRUE(registrar_->agents().empty());
  for (const char* dir : {"agents", "unreachable", "gone"}) {
    EXPECT_TRUE(server_.NodeExists(Path(dir))) << dir;
  }
  EXPECT_FALSE(server_.NodeExists(Path("roles")));
}

TEST_F(ZooKeeperRegistryTest, ARecordThatDoesNotParseIsDataLossNamingIt) {
  Create(Path("agents/S1"), AgentRecord("S1"));
  Create(Path("agents/S9"), "\xff\xff not a record");
  absl::Status status = Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find(Path("agents/S9")), absl::string_view::npos)
      << status;
}

TEST_F(ZooKeeperRegistryTest, ARecordNamingAnotherAgentIsDataLoss) {
  Create(Path("agents/S5"), AgentRecord("S6"));
  absl::Status status = Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find(Path("agents/S5")), absl::string_view::npos)
      << status;
}

TEST_F(ZooKeeperRegistryTest, OneZnodePerRecordCreatedSetAndDeleted) {
  ASSERT_TRUE(Start().ok());
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S1"), Into(&done));
  Settle();
  ASSERT_TRUE(server_.NodeExists(Path("agents/S1")));
  EXPECT_EQ(server_.NodeStat(Path("agents/S1"))->version, 0);
  // Known to exist: a new admission sets the data.
  registrar_->AdmitAgent(Info("S1", "renamed"), Into(&done));
  Settle();
  EXPECT_EQ(server_.NodeStat(Path("agents/S1"))->version, 1);
  internal::Registry::Agent stored;
  ASSERT_TRUE(stored.ParseFromString(*server_.NodeData(Path("agents/S1"))));
  EXPECT_EQ(stored.info().hostname(), "renamed");
  registrar_->MarkUnreachable("S1", clock_.Now(), Into(&done));
  Settle();
  EXPECT_FALSE(server_.NodeExists(Path("agents/S1")));
  EXPECT_TRUE(server_.NodeExists(Path("unreachable/S1")));
  registrar_->AdmitAgent(Info("S1"), Into(&done));  // Reachable again.
  Settle();
  EXPECT_TRUE(server_.NodeExists(Path("agents/S1")));
  EXPECT_FALSE(server_.NodeExists(Path("unreachable/S1")));
  ASSERT_EQ(done.size(), 4u);
  for (const absl::Status& s : done) EXPECT_TRUE(s.ok()) << s;
}

TEST_F(ZooKeeperRegistryTest, ARecoveredRecordIsSetNotCreated) {
  Create(Path("agents/S1"), AgentRecord("S1"));
  const int32_t version = server_.NodeStat(Path("agents/S1"))->version;
  ASSERT_TRUE(Start().ok());
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S1", "renamed"), Into(&done));
  Settle();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].ok()) << done[0];
  EXPECT_EQ(server_.NodeStat(Path("agents/S1"))->version, version + 1);
}

TEST_F(ZooKeeperRegistryTest, QueuedOperationsGoIntoOneFencedMulti) {
  ASSERT_TRUE(Start().ok());
  server_.set_deliver_immediately(false);
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S0"), Into(&done));  // In flight.
  for (int i = 1; i <= 2000; ++i) {
    registrar_->AdmitAgent(Info("S" + std::to_string(i)), Into(&done));
  }
  const int before = server_.operations();
  Settle();
  // The first write, then all 2,000 queued admissions in one multi.
  EXPECT_EQ(server_.operations() - before, 1);
  ASSERT_EQ(done.size(), 2001u);
  for (const absl::Status& s : done) ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(server_.NodeChildren(Path("agents")).size(), 2001u);
  EXPECT_EQ(registrar_->agents().size(), 2001u);
}

TEST_F(ZooKeeperRegistryTest, BatchesAreSplitBelowTheRequestLimit) {
  ASSERT_TRUE(Start().ok());
  server_.set_deliver_immediately(false);
  std::vector<absl::Status> done;
  const std::string hostname(400, 'h');  // About 460 bytes a record.
  registrar_->AdmitAgent(Info("S0"), Into(&done));
  for (int i = 1; i <= 4000; ++i) {
    registrar_->AdmitAgent(Info("S" + std::to_string(i), hostname),
                           Into(&done));
  }
  const int before = server_.operations();
  Settle();
  // About 2 MB of records: at least three multis, none refused.
  EXPECT_GE(server_.operations() - before, 3);
  ASSERT_EQ(done.size(), 4001u);
  for (const absl::Status& s : done) ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(server_.NodeChildren(Path("agents")).size(), 4001u);
}

TEST_F(ZooKeeperRegistryTest, ADeposedLeaderCannotWrite) {
  ASSERT_TRUE(Start().ok());
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S1"), Into(&done));
  Settle();
  // The session expires: the election znode, the fence, is gone.
  zk_.Expire();
  Settle();
  ASSERT_FALSE(server_.NodeExists(fence_));
  registrar_->AdmitAgent(Info("S2"), Into(&done));
  registrar_->MarkGone("S1", clock_.Now(), Into(&done));
  Settle();
  ASSERT_EQ(done.size(), 3u);
  EXPECT_TRUE(done[0].ok());
  EXPECT_FALSE(done[1].ok());
  EXPECT_FALSE(done[2].ok());
  EXPECT_NE(done[1].message().find(fence_), absl::string_view::npos) << done[1];
  // Nothing was written, and memory is unchanged.
  EXPECT_FALSE(server_.NodeExists(Path("agents/S2")));
  EXPECT_FALSE(server_.NodeExists(Path("gone/S1")));
  EXPECT_EQ(registrar_->FindAgent("S2"), nullptr);
  EXPECT_NE(registrar_->FindAgent("S1"), nullptr);
  EXPECT_FALSE(registrar_->GoneSince("S1").has_value());
}

TEST_F(ZooKeeperRegistryTest, AnOversizedRecordIsRefusedAndNothingIsWritten) {
  ASSERT_TRUE(Start().ok());
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S1", std::string(1100 * 1000, 'h')),
                         Into(&done));
  registrar_->AdmitAgent(Info("S2"), Into(&done));
  Settle();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].code(), absl::StatusCode::kInvalidArgument) << done[0];
  EXPECT_TRUE(done[1].ok()) << done[1];
  EXPECT_FALSE(server_.NodeExists(Path("agents/S1")));
  EXPECT_TRUE(server_.NodeExists(Path("agents/S2")));
  EXPECT_EQ(registrar_->FindAgent("S1"), nullptr);
}

TEST_F(ZooKeeperRegistryTest, AfterALostReplyTheRecordIsCheckedBeforeWriting) {
  ASSERT_TRUE(Start().ok());
  std::vector<absl::Status> done;
  zk_.LoseNextReplies(1);  // The multi is applied; its reply never comes.
  registrar_->AdmitAgent(Info("S1"), Into(&done));
  Settle();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(registrar_->FindAgent("S1"), nullptr);     // Not known durable.
  EXPECT_TRUE(server_.NodeExists(Path("agents/S1")));  // But it is there.
  // The agent retries: the back-end asks ZooKeeper, then sets the data
  // (a blind create would fail with "node exists" forever).
  registrar_->AdmitAgent(Info("S1", "retried"), Into(&done));
  Settle();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_TRUE(done[1].ok()) << done[1];
  EXPECT_EQ(registrar_->FindAgent("S1")->hostname(), "retried");
}

TEST_F(ZooKeeperRegistryTest, AWriteThatNeverCompletesHitsTheStoreTimeout) {
  ASSERT_TRUE(Start().ok());
  server_.set_deliver_immediately(false);  // Replies are never delivered.
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S1"), Into(&done));
  loop_.AdvanceTime(&clock_, absl::Seconds(19));
  EXPECT_TRUE(timeouts_.empty());
  loop_.AdvanceTime(&clock_, absl::Seconds(2));
  ASSERT_EQ(timeouts_.size(), 1u);
  EXPECT_EQ(timeouts_[0].code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(timeouts_[0].message().find(kRegistry), absl::string_view::npos)
      << timeouts_[0];
  EXPECT_TRUE(done.empty());
}

}  // namespace
}  // namespace agora
