#include "agent/status_update_manager.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/ids.h"
#include "gtest/gtest.h"

namespace agora {
namespace {

using agora::internal::StatusUpdate;
using mesos::v1::TaskState;

class StatusUpdateManagerTest : public ::testing::Test {
 protected:
  StatusUpdateManagerTest()
      : loop_("test", &clock_), manager_(&loop_, [this](const StatusUpdate& u) {
          sent_.push_back(u);
        }) {
    framework_.set_value("fw-1");
  }

  mesos::v1::TaskStatus Status(const std::string& task, TaskState state) {
    mesos::v1::TaskStatus s;
    s.mutable_task_id()->set_value(task);
    s.set_state(state);
    s.set_uuid(RandomUuidBytes());
    return s;
  }
  mesos::v1::TaskID Task(const std::string& id) {
    mesos::v1::TaskID t;
    t.set_value(id);
    return t;
  }
  void Accept(const mesos::v1::TaskStatus& s) {
    auto r = manager_.Update(framework_, s);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(*r, StatusUpdateManager::UpdateResult::kAccepted);
  }
  // Advances the manual clock, running timers that come due.
  void Advance(absl::Duration d) { loop_.AdvanceTime(&clock_, d); }

  ManualClock clock_;
  EventLoop loop_;
  StatusUpdateManager manager_;
  mesos::v1::FrameworkID framework_;
  std::vector<StatusUpdate> sent_;
};

TEST_F(StatusUpdateManagerTest, OnlyTheHeadOfAStreamIsInFlight) {
  manager_.Resume();
  auto starting = Status("t1", mesos::v1::TASK_STARTING);
  auto running = Status("t1", mesos::v1::TASK_RUNNING);
  auto finished = Status("t1", mesos::v1::TASK_FINISHED);
  Accept(starting);
  Accept(running);
  Accept(finished);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].status().uuid(), starting.uuid());
  EXPECT_EQ(sent_[0].framework_id().value(), "fw-1");
  // latest_state runs ahead of the update in flight.
  EXPECT_EQ(sent_[0].latest_state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(manager_.PendingCount(framework_, Task("t1")), 3u);
}

TEST_F(StatusUpdateManagerTest, LatestStateIsTheNewestReceived) {
  Accept(Status("t1", mesos::v1::TASK_STARTING));
  Accept(Status("t1", mesos::v1::TASK_RUNNING));
  Accept(Status("t1", mesos::v1::TASK_FAILED));
  manager_.Resume();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].status().state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(sent_[0].latest_state(), mesos::v1::TASK_FAILED);
}

TEST_F(StatusUpdateManagerTest, AckPopsTheHeadAndSendsTheNext) {
  manager_.Resume();
  auto starting = Status("t1", mesos::v1::TASK_STARTING);
  auto running = Status("t1", mesos::v1::TASK_RUNNING);
  Accept(starting);
  Accept(running);
  auto ack = manager_.Acknowledge(framework_, Task("t1"), starting.uuid());
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(*ack, StatusUpdateManager::AckResult::kPopped);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].status().uuid(), running.uuid());
  EXPECT_EQ(manager_.Head(framework_, Task("t1"))->uuid(), running.uuid());
}

TEST_F(StatusUpdateManagerTest, AckWithAnotherUuidIsIgnored) {
  manager_.Resume();
  auto starting = Status("t1", mesos::v1::TASK_STARTING);
  auto running = Status("t1", mesos::v1::TASK_RUNNING);
  Accept(starting);
  Accept(running);
  // The uuid of the second update is not the head's.
  auto ack = manager_.Acknowledge(framework_, Task("t1"), running.uuid());
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sent_.size(), 1u);
  EXPECT_EQ(manager_.Head(framework_, Task("t1"))->uuid(), starting.uuid());
  EXPECT_EQ(manager_.PendingCount(framework_, Task("t1")), 2u);
}

TEST_F(StatusUpdateManagerTest, AckOfUnknownTaskIsNotFound) {
  auto ack = manager_.Acknowledge(framework_, Task("nope"), RandomUuidBytes());
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StatusUpdateManagerTest, UnacknowledgedHeadIsRetriedWithBackoff) {
  manager_.Resume();
  Accept(Status("t1", mesos::v1::TASK_RUNNING));
  ASSERT_EQ(sent_.size(), 1u);
  Advance(absl::Seconds(10) - absl::Milliseconds(1));
  EXPECT_EQ(sent_.size(), 1u);
  Advance(absl::Milliseconds(1));
  EXPECT_EQ(sent_.size(), 2u);  // t = 10 s
  // Then every 20, 40, 80, 160, 320 s, and 600 s (10 min) from then on.
  const int kGaps[] = {20, 40, 80, 160, 320, 600, 600, 600};
  size_t expected = 2;
  for (int gap : kGaps) {
    Advance(absl::Seconds(gap) - absl::Milliseconds(1));
    EXPECT_EQ(sent_.size(), expected) << "resent early, gap " << gap;
    Advance(absl::Milliseconds(1));
    EXPECT_EQ(sent_.size(), ++expected) << "not resent, gap " << gap;
  }
  for (const auto& u : sent_)
    EXPECT_EQ(u.status().uuid(), sent_[0].status().uuid());
}

TEST_F(StatusUpdateManagerTest, NextHeadStartsWithAFreshBackoff) {
  manager_.Resume();
  auto running = Status("t1", mesos::v1::TASK_RUNNING);
  Accept(running);
  Accept(Status("t1", mesos::v1::TASK_FINISHED));
  Advance(absl::Seconds(10));
  Advance(absl::Seconds(20));
  ASSERT_EQ(sent_.size(), 3u);
  ASSERT_TRUE(
      manager_.Acknowledge(framework_, Task("t1"), running.uuid()).ok());
  ASSERT_EQ(sent_.size(), 4u);  // The next head goes at once...
  Advance(absl::Seconds(10));
  EXPECT_EQ(sent_.size(), 5u);  // ...and is retried after 10 s.
  EXPECT_EQ(sent_[4].status().state(), mesos::v1::TASK_FINISHED);
}

TEST_F(StatusUpdateManagerTest, PausedManagerNeitherSendsNorRetries) {
  Accept(Status("t1", mesos::v1::TASK_RUNNING));
  Accept(Status("t2", mesos::v1::TASK_RUNNING));
  Advance(absl::Minutes(30));
  EXPECT_TRUE(sent_.empty());
  manager_.Resume();  // As after a (re)registration: every head at once.
  ASSERT_EQ(sent_.size(), 2u);
  manager_.Pause();
  Advance(absl::Minutes(30));
  EXPECT_EQ(sent_.size(), 2u);
  manager_.Resume();
  EXPECT_EQ(sent_.size(), 4u);
}

TEST_F(StatusUpdateManagerTest, DuplicateUuidChangesNothing) {
  manager_.Resume();
  auto running = Status("t1", mesos::v1::TASK_RUNNING);
  Accept(running);
  auto again = manager_.Update(framework_, running);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, StatusUpdateManager::UpdateResult::kDuplicate);
  EXPECT_EQ(sent_.size(), 1u);
  EXPECT_EQ(manager_.PendingCount(framework_, Task("t1")), 1u);
}

TEST_F(StatusUpdateManagerTest, TerminalAckEndsTheStream) {
  manager_.Resume();
  auto finished = Status("t1", mesos::v1::TASK_FINISHED);
  Accept(finished);
  auto late =
      manager_.Update(framework_, Status("t1", mesos::v1::TASK_RUNNING));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  auto ack = manager_.Acknowledge(framework_, Task("t1"), finished.uuid());
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(*ack, StatusUpdateManager::AckResult::kStreamDone);
  EXPECT_EQ(manager_.StreamCount(), 0u);
  Advance(absl::Hours(1));
  EXPECT_EQ(sent_.size(), 1u);  // No retry timer survives the stream.
}

TEST_F(StatusUpdateManagerTest, RejectsUpdatesWithoutAUuid) {
  auto s = Status("t1", mesos::v1::TASK_RUNNING);
  s.clear_uuid();
  EXPECT_EQ(manager_.Update(framework_, s).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StatusUpdateManagerTest, RemovingAFrameworkDropsItsStreams) {
  manager_.Resume();
  auto a = Status("a", mesos::v1::TASK_RUNNING);
  auto b = Status("b", mesos::v1::TASK_RUNNING);
  Accept(a);
  Accept(b);
  EXPECT_EQ(sent_.size(), 2u);
  manager_.RemoveFramework(framework_);
  EXPECT_EQ(manager_.StreamCount(), 0u);
  Advance(absl::Minutes(1));
  EXPECT_EQ(sent_.size(), 2u);
}

}  // namespace
}  // namespace agora
