// The Registrar on a manual loop: state changes only after a durable write,
// operations in order, batching of queued operations into one write,
// pending-write tracking, refusals, the store timeout, pruning; and over the
// local file, that what it reports is what a fresh master recovers.
#include "master/registrar.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "gtest/gtest.h"
#include "master/held_registry.h"

namespace agora {
namespace {

using testing::HeldRegistry;

mesos::v1::AgentInfo Info(const std::string& id,
                          const std::string& hostname = "") {
  mesos::v1::AgentInfo info;
  info.set_hostname(hostname.empty() ? "host-" + id : hostname);
  info.mutable_id()->set_value(id);
  return info;
}

class RegistrarTest : public ::testing::Test {
 protected:
  RegistrarTest() : loop_("test", &clock_) {}

  // A registrar over `backend` (in-memory when null), recovered.
  void Make(std::unique_ptr<Registry> backend = nullptr) {
    if (backend == nullptr) backend = NewInMemoryRegistry();
    Registrar::Options options;
    options.on_store_timeout = [this](const absl::Status& status) {
      timeouts_.push_back(status);
    };
    registrar_ = std::make_unique<Registrar>(&loop_, std::move(backend),
                                             std::move(options));
    ASSERT_TRUE(registrar_->RecoverNow().ok());
  }

  // A completion that records its status in `out`.
  Registrar::Done Into(std::vector<absl::Status>* out) {
    return [out](absl::Status status) { out->push_back(status); };
  }

  ManualClock clock_;
  EventLoop loop_;
  std::vector<absl::Status> timeouts_;
  std::unique_ptr<Registrar> registrar_;
};

TEST_F(RegistrarTest, StateChangesOnlyOnceTheWriteIsDone) {
  auto held = std::make_unique<HeldRegistry>();
  HeldRegistry* backend = held.get();
  Make(std::move(held));
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S0"), Into(&done));
  EXPECT_TRUE(registrar_->IsPending("S0"));
  EXPECT_FALSE(registrar_->IsPending("S1"));
  loop_.RunUntilIdle();
  EXPECT_EQ(registrar_->FindAgent("S0"), nullptr);  // Not durable yet.
  EXPECT_TRUE(done.empty());
  ASSERT_EQ(backend->writes.size(), 1u);
  backend->Complete();
  EXPECT_TRUE(done.empty());  // The completion runs on the loop.
  loop_.RunUntilIdle();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].ok());
  ASSERT_NE(registrar_->FindAgent("S0"), nullptr);
  EXPECT_FALSE(registrar_->IsPending("S0"));
}

TEST_F(RegistrarTest, AFailedWriteLeavesTheStateAndLaterOperationsGoOn) {
  auto held = std::make_unique<HeldRegistry>();
  HeldRegistry* backend = held.get();
  Make(std::move(held));
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S0"), Into(&done));
  registrar_->AdmitAgent(Info("S1"), Into(&done));  // Queued behind.
  backend->Complete(absl::UnavailableError("disk on fire"));
  loop_.RunUntilIdle();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(registrar_->FindAgent("S0"), nullptr);
  EXPECT_FALSE(registrar_->IsPending("S0"));
  ASSERT_EQ(backend->writes.size(), 1u);  // S1's write started.
  backend->Complete();
  loop_.RunUntilIdle();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_TRUE(done[1].ok());
  EXPECT_NE(registrar_->FindAgent("S1"), nullptr);
}

TEST_F(RegistrarTest, QueuedOperationsGoIntoOneWriteInOrder) {
  auto held = std::make_unique<HeldRegistry>();
  HeldRegistry* backend = held.get();
  Make(std::move(held));
  std::vector<std::string> order;
  auto note = [&order](std::string what) {
    return [&order, what](absl::Status status) {
      order.push_back(what + (status.ok() ? "" : ":" + status.ToString()));
    };
  };
  const absl::Time t = clock_.Now();
  registrar_->AdmitAgent(Info("S0"), note("admit S0"));
  // While that write runs: these are checked against the state the
  // operations before them leave, and written together.
  registrar_->AdmitAgent(Info("S1"), note("admit S1"));
  registrar_->MarkUnreachable("S1", t, note("unreachable S1"));
  registrar_->MarkUnreachable("S7", t, note("unreachable S7"));  // Unknown.
  registrar_->MarkGone("S0", t, note("gone S0"));
  registrar_->UpdateWeights({{"ads", 2}}, note("weights"));
  ASSERT_EQ(backend->writes.size(), 1u);
  backend->Complete();
  loop_.RunUntilIdle();
  ASSERT_EQ(backend->writes.size(), 1u);  // One write for five operations.
  // S1 was never durable as admitted: its agent record is not written.
  EXPECT_EQ(backend->Names(),
            (std::vector<std::string>{"agents/S0-", "unreachable/S1+",
                                      "gone/S0+", "roles+"}));
  backend->Complete();
  loop_.RunUntilIdle();
  ASSERT_EQ(order.size(), 6u);
  EXPECT_EQ(order[0], "admit S0");
  EXPECT_EQ(order[1], "admit S1");
  EXPECT_EQ(order[2], "unreachable S1");
  EXPECT_EQ(order[3].rfind("unreachable S7:NOT_FOUND", 0), 0u) << order[3];
  EXPECT_EQ(order[4], "gone S0");
  EXPECT_EQ(order[5], "weights");
  EXPECT_EQ(registrar_->agents().size(), 0u);
  EXPECT_EQ(registrar_->UnreachableSince("S1"), t);
  EXPECT_EQ(registrar_->GoneSince("S0"), t);
  EXPECT_EQ(registrar_->Weights(), (std::map<std::string, double>{{"ads", 2}}));
}

TEST_F(RegistrarTest, RefusalsNameTheirCause) {
  Make();
  std::vector<absl::Status> done;
  const absl::Time t = clock_.Now();
  registrar_->MarkGone("S0", t, Into(&done));
  registrar_->AdmitAgent(Info("S0"), Into(&done));    // Gone.
  registrar_->MarkUnreachable("S5", t, Into(&done));  // Not admitted.
  registrar_->AdmitAgent(Info("a/b"), Into(&done));   // Not a record name.
  registrar_->AdmitAgent(Info(".."), Into(&done));
  registrar_->MarkGone("S0", t + absl::Seconds(5), Into(&done));  // Again.
  mesos::v1::AgentInfo no_hostname;  // A required field is missing.
  no_hostname.mutable_id()->set_value("S3");
  registrar_->AdmitAgent(no_hostname, Into(&done));
  EXPECT_TRUE(done.empty());  // Never inside the call.
  loop_.RunUntilIdle();
  ASSERT_EQ(done.size(), 7u);
  EXPECT_EQ(done[6].code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(done[0].ok());
  EXPECT_EQ(done[1].code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(done[2].code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(done[3].code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(done[4].code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(done[5].ok());
  EXPECT_EQ(registrar_->GoneSince("S0"), t);  // The first time is kept.
}

TEST_F(RegistrarTest, BatchesStayUnderTheBackEndsLimit) {
  auto held = std::make_unique<HeldRegistry>();
  HeldRegistry* backend = held.get();
  const size_t one = backend->ChangeBytes({RecordKind::kAgent, "S0", [] {
                                             internal::Registry::Agent agent;
                                             *agent.mutable_info() = Info("S0");
                                             return agent.SerializeAsString();
                                           }()});
  backend->max_bytes = 2 * one + one / 2;  // Two admissions per write.
  Make(std::move(held));
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S0"), Into(&done));
  for (const char* id : {"S1", "S2", "S3"}) {
    registrar_->AdmitAgent(Info(id), Into(&done));
  }
  // A record too large for any write is refused; nothing of it is written.
  registrar_->AdmitAgent(Info("S9", std::string(3 * one, 'h')), Into(&done));
  backend->Complete();
  loop_.RunUntilIdle();
  ASSERT_EQ(backend->writes.size(), 1u);
  EXPECT_EQ(backend->writes[0].changes.size(), 2u);  // S1, S2.
  backend->Complete();
  loop_.RunUntilIdle();
  ASSERT_EQ(backend->writes.size(), 1u);
  EXPECT_EQ(backend->writes[0].changes.size(), 1u);  // S3; S9 refused.
  backend->Complete();
  loop_.RunUntilIdle();
  ASSERT_EQ(done.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(done[i].ok()) << i;
  EXPECT_EQ(done[4].code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(done[4].message().find("admit agent S9"), absl::string_view::npos)
      << done[4];
  EXPECT_EQ(registrar_->agents().size(), 4u);
  EXPECT_EQ(registrar_->FindAgent("S9"), nullptr);
}

TEST_F(RegistrarTest, AWriteThatNeverCompletesIsFatalAfterTheStoreTimeout) {
  auto held = std::make_unique<HeldRegistry>();
  Make(std::move(held));
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S0"), Into(&done));
  loop_.AdvanceTime(&clock_, absl::Seconds(19));
  EXPECT_TRUE(timeouts_.empty());
  loop_.AdvanceTime(&clock_, absl::Seconds(2));
  ASSERT_EQ(timeouts_.size(), 1u);
  EXPECT_EQ(timeouts_[0].code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(timeouts_[0].message().find("admit agent S0"),
            absl::string_view::npos)
      << timeouts_[0];
  EXPECT_TRUE(done.empty());
  EXPECT_EQ(registrar_->FindAgent("S0"), nullptr);
}

TEST_F(RegistrarTest, AWriteInTimeCancelsTheTimeout) {
  auto held = std::make_unique<HeldRegistry>();
  HeldRegistry* backend = held.get();
  Make(std::move(held));
  std::vector<absl::Status> done;
  registrar_->AdmitAgent(Info("S0"), Into(&done));
  loop_.AdvanceTime(&clock_, absl::Seconds(19));
  backend->Complete();
  loop_.AdvanceTime(&clock_, absl::Minutes(5));
  EXPECT_TRUE(timeouts_.empty());
  EXPECT_EQ(done.size(), 1u);
}

TEST_F(RegistrarTest, PruningDropsTheOldAndTheOldestBeyondTheCount) {
  Make();
  std::vector<absl::Status> done;
  const absl::Time t0 = clock_.Now();
  for (int i = 0; i < 5; ++i) {
    const std::string id = "S" + std::to_string(i);
    registrar_->AdmitAgent(Info(id), Into(&done));
    registrar_->MarkUnreachable(id, t0 + absl::Hours(i), Into(&done));
    registrar_->MarkGone("G" + std::to_string(i), t0 + absl::Hours(i),
                         Into(&done));
  }
  loop_.RunUntilIdle();
  const absl::Time now = t0 + absl::Hours(10);
  // Age: entries older than 7.5 h (S0, S1, S2). Count: at most 3 (the two
  // oldest go).
  Registrar::PruneList by_age =
      registrar_->SelectForPruning(now, absl::Minutes(450), 100);
  EXPECT_EQ(by_age.unreachable, (std::vector<std::string>{"S0", "S1", "S2"}));
  EXPECT_EQ(by_age.gone, (std::vector<std::string>{"G0", "G1", "G2"}));
  Registrar::PruneList by_count =
      registrar_->SelectForPruning(now, absl::Hours(100), 3);
  EXPECT_EQ(by_count.unreachable, (std::vector<std::string>{"S0", "S1"}));
  // Pruning skips an agent that came back meanwhile.
  registrar_->AdmitAgent(Info("S1"), Into(&done));
  registrar_->Prune(by_count, Into(&done));
  loop_.RunUntilIdle();
  ASSERT_TRUE(done.back().ok());
  EXPECT_EQ(registrar_->unreachable().size(), 3u);
  EXPECT_FALSE(registrar_->UnreachableSince("S0").has_value());
  EXPECT_NE(registrar_->FindAgent("S1"), nullptr);
  EXPECT_EQ(registrar_->gone().size(), 3u);
}

TEST(RegistrarLocalTest, WhatItReportsIsWhatAFreshRegistrarRecovers) {
  std::string dir = ::testing::TempDir() + "/registrar-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/registry.bin";
  EventLoop loop("registrar-local");
  loop.Start();
  Registrar::Options options;
  options.on_store_timeout = [](const absl::Status& s) { FAIL() << s; };
  auto registrar =
      std::make_unique<Registrar>(&loop, NewLocalRegistry(path), options);
  ASSERT_TRUE(registrar->RecoverNow().ok());
  auto run = [&](std::function<void(Registrar::Done)> op) {
    return *AwaitOnLoop<absl::Status>(
        &loop, [op](std::function<void(absl::Status)> done) { op(done); });
  };
  const absl::Time t1 = absl::FromUnixSeconds(1700000000);
  const absl::Time t2 = t1 + absl::Seconds(30);
  Registrar* r = registrar.get();
  ASSERT_TRUE(run([&](auto done) { r->AdmitAgent(Info("S0"), done); }).ok());
  ASSERT_TRUE(run([&](auto done) { r->AdmitAgent(Info("S1"), done); }).ok());
  ASSERT_TRUE(run([&](auto done) { r->MarkUnreachable("S0", t1, done); }).ok());
  ASSERT_TRUE(run([&](auto done) { r->MarkGone("S1", t2, done); }).ok());
  ASSERT_TRUE(run([&](auto done) {
                r->UpdateWeights({{"ads", 3}}, done);
              }).ok());
  // A failed write changes nothing, in memory or on disk.
  ASSERT_EQ(::mkdir((path + ".tmp").c_str(), 0755), 0);
  EXPECT_EQ(run([&](auto done) { r->AdmitAgent(Info("S2"), done); }).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_FALSE(
      *RunOnLoop<bool>(&loop, [r] { return r->FindAgent("S2") != nullptr; }));
  loop.Stop();
  registrar.reset();

  EventLoop fresh_loop("fresh");
  Registrar fresh(&fresh_loop, NewLocalRegistry(path), options);
  ASSERT_TRUE(fresh.RecoverNow().ok());
  EXPECT_EQ(fresh.agents().size(), 0u);
  EXPECT_EQ(fresh.UnreachableSince("S0"), t1);
  EXPECT_EQ(fresh.GoneSince("S1"), t2);
  EXPECT_EQ(fresh.Weights(), (std::map<std::string, double>{{"ads", 3}}));
}

}  // namespace
}  // namespace agora
