// The agent's checkpoint pieces on a real temporary directory: the record
// format of task.updates, the reader (layout version, --strict, torn
// tails), the writer (order, removals) and the status update manager's
// checkpointed streams across a "restart".
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "agent/checkpoint_paths.h"
#include "agent/checkpoint_state.h"
#include "agent/checkpoint_writer.h"
#include "agent/checkpointer.h"
#include "agent/status_update_manager.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "gtest/gtest.h"

namespace agora {
namespace {

using agora::internal::StatusUpdate;
using agora::internal::StatusUpdateRecord;

std::string TempDir() {
  std::string dir = ::testing::TempDir() + "/agora-checkpoint-XXXXXX";
  EXPECT_NE(::mkdtemp(dir.data()), nullptr);
  return dir;
}

StatusUpdateRecord UpdateRecord(const std::string& task,
                                mesos::v1::TaskState state) {
  StatusUpdateRecord r;
  r.set_type(StatusUpdateRecord::UPDATE);
  r.mutable_update()->mutable_framework_id()->set_value("F");
  auto* s = r.mutable_update()->mutable_status();
  s->mutable_task_id()->set_value(task);
  s->set_state(state);
  s->set_uuid(RandomUuidBytes());
  return r;
}

TEST(UpdateRecordsTest, RoundTripAndTornTail) {
  StatusUpdateRecord a = UpdateRecord("t", mesos::v1::TASK_RUNNING);
  StatusUpdateRecord ack;
  ack.set_type(StatusUpdateRecord::ACK);
  ack.set_uuid(a.update().status().uuid());
  std::string data = EncodeUpdateRecord(a) + EncodeUpdateRecord(ack);
  size_t valid = 0;
  auto records = DecodeUpdateRecords(data, &valid);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ(valid, data.size());
  EXPECT_EQ((*records)[1].uuid(), a.update().status().uuid());
  // A crash in the middle of an append: the whole records are kept.
  std::string torn = data + EncodeUpdateRecord(a).substr(0, 11);
  records = DecodeUpdateRecords(torn, &valid);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 2u);
  EXPECT_EQ(valid, data.size());
}

TEST(UpdateRecordsTest, FlippedByteIsDataLoss) {
  std::string data =
      EncodeUpdateRecord(UpdateRecord("t", mesos::v1::TASK_RUNNING));
  data[12] ^= 0x40;
  size_t valid = 0;
  auto records = DecodeUpdateRecords(data, &valid);
  EXPECT_EQ(records.status().code(), absl::StatusCode::kDataLoss);
}

class CheckpointTest : public ::testing::Test {
 protected:
  CheckpointTest()
      : dir_(TempDir()),
        loop_("test", &clock_),
        writer_(&loop_, dir_),
        checkpointer_(dir_, &writer_) {
    checkpointer_.set_agent_id("S0");
    mesos::v1::AgentInfo info;
    info.set_hostname("h");
    info.mutable_id()->set_value("S0");
    checkpointer_.AgentInfo(info);
  }
  // Waits for the writer and runs the callbacks it posted.
  void Settle() {
    writer_.Flush();
    loop_.RunUntilIdle();
  }
  // One checkpointed executor run of framework F with task `task`.
  RunIds WriteRun(const std::string& task) {
    mesos::v1::FrameworkInfo framework;
    framework.mutable_id()->set_value("F");
    framework.set_user("u");
    framework.set_name("f");
    framework.set_checkpoint(true);
    mesos::v1::ExecutorInfo executor;
    executor.mutable_executor_id()->set_value(task);
    executor.set_name("Command Executor");
    checkpointer_.ExecutorRun(framework, executor, "C-" + task);
    RunIds run = checkpointer_.Run("F", task, "C-" + task);
    mesos::v1::Task t;
    t.set_name(task);
    t.mutable_task_id()->set_value(task);
    t.mutable_framework_id()->set_value("F");
    t.mutable_agent_id()->set_value("S0");
    t.set_state(mesos::v1::TASK_STAGING);
    checkpointer_.Task(run, t);
    checkpointer_.Pid(run, getpid(), 42);
    Settle();
    return run;
  }

  std::string dir_;
  ManualClock clock_;
  EventLoop loop_;
  CheckpointWriter writer_;
  Checkpointer checkpointer_;
};

TEST_F(CheckpointTest, WrittenRunIsReadBack) {
  RunIds run = WriteRun("t1");
  ASSERT_TRUE(WriteFileAtomically(CheckpointVersionPath(dir_), "1\n").ok());
  absl::StatusOr<CheckpointState> state = ReadCheckpoint(dir_, true);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->agent_id, "S0");
  ASSERT_TRUE(state->agent_info.has_value());
  const RunCheckpoint& r = *state->frameworks["F"].executors["t1"].run;
  EXPECT_EQ(r.ids.container, run.container);
  EXPECT_EQ(r.pid, getpid());
  EXPECT_EQ(r.start_time, 42u);
  EXPECT_FALSE(r.completed);
  EXPECT_EQ(r.tasks.at("t1").task.task_id().value(), "t1");
}

TEST_F(CheckpointTest, NewerLayoutIsRefused) {
  WriteRun("t1");
  ASSERT_TRUE(WriteFileAtomically(CheckpointVersionPath(dir_), "2\n").ok());
  absl::StatusOr<CheckpointState> state = ReadCheckpoint(dir_, false);
  EXPECT_EQ(state.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CheckpointTest, CorruptTaskInfoFailsStrictAndIsSkippedOtherwise) {
  RunIds bad = WriteRun("t1");
  WriteRun("t2");
  const std::string path = TaskInfoPath(dir_, bad, "t1");
  std::string data = *ReadFile(path);
  ASSERT_TRUE(WriteFile(path, data.substr(0, data.size() / 2), false).ok());
  absl::StatusOr<CheckpointState> strict = ReadCheckpoint(dir_, true);
  EXPECT_EQ(strict.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(strict.status().message().find(path), absl::string_view::npos);
  absl::StatusOr<CheckpointState> lax = ReadCheckpoint(dir_, false);
  ASSERT_TRUE(lax.ok()) << lax.status();
  ASSERT_EQ(lax->skipped.size(), 1u);
  EXPECT_EQ(lax->skipped[0].ids.container, bad.container);
  EXPECT_EQ(lax->skipped[0].pid, getpid());
  EXPECT_EQ(lax->frameworks["F"].executors.count("t1"), 0u);
  EXPECT_EQ(lax->frameworks["F"].executors.count("t2"), 1u);
}

// A message cut exactly between two of its fields would still parse as a
// shorter message; the record's length and checksum catch it.
TEST_F(CheckpointTest, TaskInfoCutBetweenFieldsIsDataLoss) {
  RunIds run = WriteRun("t1");
  const std::string path = TaskInfoPath(dir_, run, "t1");
  CheckpointState before = *ReadCheckpoint(dir_, true);
  mesos::v1::Task shorter =
      before.frameworks["F"].executors["t1"].run->tasks.at("t1").task;
  mesos::v1::Task longer = shorter;
  longer.mutable_labels()->add_labels()->set_key("k");  // Serialized last.
  checkpointer_.Task(run, longer);
  Settle();
  std::string data = *ReadFile(path);
  // The header and the fields of `shorter`: a valid Task on its own.
  std::string cut = data.substr(0, 8 + shorter.ByteSizeLong());
  ASSERT_TRUE(mesos::v1::Task().ParseFromString(cut.substr(8)));
  ASSERT_TRUE(WriteFile(path, cut, false).ok());
  absl::StatusOr<CheckpointState> state = ReadCheckpoint(dir_, true);
  EXPECT_EQ(state.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CheckpointTest, TruncatedPidFileIsAnError) {
  RunIds run = WriteRun("t1");
  ASSERT_TRUE(WriteFile(ForkedPidPath(dir_, run), "12", false).ok());
  EXPECT_EQ(ReadCheckpoint(dir_, true).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(CheckpointTest, RemovalIsOrderedWithTheWritesAroundIt) {
  RunIds run = WriteRun("t1");
  checkpointer_.RemoveExecutor("F", "t1");
  checkpointer_.Sentinel(run);  // Queued after the removal: it lands.
  Settle();
  EXPECT_NE(::access(TaskInfoPath(dir_, run, "t1").c_str(), F_OK), 0);
  EXPECT_EQ(::access(SentinelPath(dir_, run).c_str(), F_OK), 0);
}

TEST_F(CheckpointTest, RepeatedReplacesOfOneFileInABatchKeepTheLast) {
  for (int i = 0; i < 5; ++i) {
    writer_.WriteAtomically(dir_ + "/x/file", std::to_string(i), false);
  }
  Settle();
  EXPECT_EQ(*ReadFile(dir_ + "/x/file"), "4");
}

// A checkpointed stream survives a "restart" (a new manager rebuilt from
// the file): the unacknowledged update goes out again with its uuid, the
// acknowledged one does not, and a resent duplicate is recognised.
TEST_F(CheckpointTest, StatusUpdateStreamIsReplayedWithTheSameUuid) {
  RunIds run = WriteRun("t1");
  const std::string path = checkpointer_.TaskUpdates(run, "t1");
  std::vector<StatusUpdate> sent;
  mesos::v1::FrameworkID framework;
  framework.set_value("F");
  mesos::v1::TaskStatus running =
      UpdateRecord("t1", mesos::v1::TASK_RUNNING).update().status();
  mesos::v1::TaskStatus finished =
      UpdateRecord("t1", mesos::v1::TASK_FINISHED).update().status();
  {
    StatusUpdateManager updates(
        &loop_, [&](const StatusUpdate& u) { sent.push_back(u); }, &writer_);
    updates.Resume();
    bool checkpointed = false;
    ASSERT_TRUE(
        updates
            .Update(framework, running, path,
                    [&](const absl::Status& s) { checkpointed = s.ok(); })
            .ok());
    EXPECT_TRUE(sent.empty()) << "forwarded before it was checkpointed";
    Settle();
    EXPECT_TRUE(checkpointed);
    ASSERT_EQ(sent.size(), 1u);
    ASSERT_TRUE(updates.Update(framework, finished, path).ok());
    ASSERT_TRUE(
        updates.Acknowledge(framework, running.task_id(), running.uuid()).ok());
    Settle();
  }
  absl::StatusOr<CheckpointState> state = ReadCheckpoint(dir_, true);
  ASSERT_TRUE(state.ok()) << state.status();
  const TaskCheckpoint& task =
      state->frameworks["F"].executors["t1"].run->tasks.at("t1");
  ASSERT_EQ(task.updates.size(), 2u);
  EXPECT_EQ(task.acks.count(running.uuid()), 1u);

  sent.clear();
  StatusUpdateManager recovered(
      &loop_, [&](const StatusUpdate& u) { sent.push_back(u); }, &writer_);
  ASSERT_TRUE(recovered.RecoverStream(framework, running.task_id(), path,
                                      task.updates, task.acks));
  recovered.Resume();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].status().uuid(), finished.uuid());
  EXPECT_EQ(*recovered.Update(framework, finished, path),
            StatusUpdateManager::UpdateResult::kDuplicate);
  EXPECT_EQ(
      *recovered.Acknowledge(framework, finished.task_id(), finished.uuid()),
      StatusUpdateManager::AckResult::kStreamDone);
  Settle();
  // Once its terminal update is acknowledged the stream is over for good.
  state = ReadCheckpoint(dir_, true);
  const TaskCheckpoint& done =
      state->frameworks["F"].executors["t1"].run->tasks.at("t1");
  StatusUpdateManager again(
      &loop_, [](const StatusUpdate&) {}, &writer_);
  EXPECT_FALSE(again.RecoverStream(framework, running.task_id(), path,
                                   done.updates, done.acks));
}

}  // namespace
}  // namespace agora
