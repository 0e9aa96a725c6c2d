// CheckpointState: what an earlier run of the agent left under
// <work_dir>/meta (checkpoint_paths.h), read once at start-up, and the
// record format of task.updates.
//
// A file that exists but does not parse (task.info, task.updates,
// forked.pid, forked.start, slave.info, framework.info, executor.info) is
// an error naming the file. With `strict` the read fails with it; without,
// the run it belongs to is listed in `skipped` (to be killed when it still
// runs) and the rest is read. A file that does not exist yet is no error:
// the agent died before writing it (Mesos's rule). The one exception to
// "does not parse" is a torn final record of task.updates (shorter than its
// header says): that is what a crash in the middle of an append leaves, its
// update was never acknowledged to the executor, which still holds it, so
// the record is dropped and the file truncated, as Mesos does.
//
// Thread rule: plain functions doing blocking file I/O (agent start-up).
#ifndef AGORA_AGENT_CHECKPOINT_STATE_H_
#define AGORA_AGENT_CHECKPOINT_STATE_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/checkpoint_paths.h"
#include "agora/internal/checkpoint.pb.h"
#include "google/protobuf/message_lite.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

struct TaskCheckpoint {
  mesos::v1::Task task;  // task.info: the task as launched.
  // task.updates: every update taken, in order, and the uuids of those
  // acknowledged.
  std::vector<agora::internal::StatusUpdate> updates;
  std::set<std::string> acks;
};

struct RunCheckpoint {
  RunIds ids;
  std::optional<pid_t> pid;  // forked.pid, with its start time.
  uint64_t start_time = 0;
  bool completed = false;  // executor.sentinel: its end was handled.
  std::map<std::string, TaskCheckpoint> tasks;
};

struct ExecutorCheckpoint {
  mesos::v1::ExecutorInfo info;
  std::optional<RunCheckpoint> run;  // The latest run.
};

struct FrameworkCheckpoint {
  mesos::v1::FrameworkInfo info;
  std::map<std::string, ExecutorCheckpoint> executors;
};

// A run that --strict=false left out, and why.
struct SkippedRun {
  RunIds ids;
  std::optional<pid_t> pid;
  uint64_t start_time = 0;  // 0: unknown.
  std::string reason;
};

struct CheckpointState {
  int version = 0;                     // 0: nothing checkpointed.
  std::optional<std::string> boot_id;  // meta/boot_id.
  std::string agent_id;                // meta/slaves/latest, "" if none.
  // slave.info; absent when it is missing or (without strict) corrupt.
  std::optional<mesos::v1::AgentInfo> agent_info;
  std::map<std::string, FrameworkCheckpoint> frameworks;
  std::vector<SkippedRun> skipped;
};

// Reads the checkpoint of `work_dir`. FailedPrecondition for a layout
// version newer than kCheckpointVersion; with `strict`, DataLoss naming the
// first file that does not parse.
absl::StatusOr<CheckpointState> ReadCheckpoint(const std::string& work_dir,
                                               bool strict);

// One record as stored: its length (4 bytes, little endian), a CRC-32 of
// its bytes (4 bytes, little endian), the serialized message. task.updates
// is a sequence of StatusUpdateRecords; every other message file
// (slave.info, framework.info, executor.info, task.info) holds exactly one
// record, so a truncated or altered file never parses as a shorter message.
std::string EncodeRecord(const google::protobuf::MessageLite& message);
std::string EncodeUpdateRecord(const agora::internal::StatusUpdateRecord& r);

// `message` from a file written with EncodeRecord; DataLoss when `data` is
// not exactly one whole record that parses.
absl::Status DecodeSingleRecord(absl::string_view data,
                                google::protobuf::MessageLite* message);

// The records of `data`; `valid_bytes` is where the last whole record ends
// (less than data.size() after a torn final record). DataLoss for a record
// whose checksum does not match or which does not parse.
absl::StatusOr<std::vector<agora::internal::StatusUpdateRecord>>
DecodeUpdateRecords(absl::string_view data, size_t* valid_bytes);

}  // namespace agora

#endif  // AGORA_AGENT_CHECKPOINT_STATE_H_
