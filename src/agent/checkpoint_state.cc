#include "agent/checkpoint_state.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "glog/logging.h"

namespace agora {
namespace {

using agora::internal::StatusUpdateRecord;

constexpr size_t kRecordHeader = 8;
// No record is anywhere near this; a larger length is corruption.
constexpr uint32_t kMaxRecordBytes = 64 << 20;

uint32_t Crc32(absl::string_view data) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()),
            static_cast<uInt>(data.size())));
}

void PutLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t GetLe32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}

// Parses the record at `*offset` into `message` and moves past it. False
// when fewer bytes remain than the record needs (the end, or a torn tail);
// DataLoss for an impossible length, a checksum mismatch or a payload that
// does not parse.
absl::StatusOr<bool> DecodeRecordAt(absl::string_view data, size_t* offset,
                                    google::protobuf::MessageLite* message) {
  if (data.size() - *offset < kRecordHeader) return false;
  uint32_t length = GetLe32(data.data() + *offset);
  uint32_t crc = GetLe32(data.data() + *offset + 4);
  if (length > kMaxRecordBytes) {
    return absl::DataLossError(absl::StrCat(
        "has a record of impossible length ", length, " at byte ", *offset));
  }
  if (data.size() - *offset - kRecordHeader < length) return false;
  absl::string_view payload = data.substr(*offset + kRecordHeader, length);
  if (Crc32(payload) != crc ||
      !message->ParseFromArray(payload.data(),
                               static_cast<int>(payload.size()))) {
    return absl::DataLossError(absl::StrCat("has a corrupt record at byte ",
                                            *offset, " (checksum or format)"));
  }
  *offset += kRecordHeader + length;
  return true;
}

// The names of the directories in `dir`, sorted; empty when it is missing.
std::vector<std::string> SubDirectories(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status Corrupt(const std::string& path, absl::string_view why) {
  return absl::DataLossError(
      absl::StrCat("checkpoint file '", path, "' ", why));
}

// Reads a message written whole. False in `*exists` when the file is
// missing (not an error).
template <typename Message>
absl::Status ReadMessage(const std::string& path, Message* message,
                         bool* exists) {
  absl::StatusOr<std::string> data = ReadFile(path);
  *exists = !absl::IsNotFound(data.status());
  if (!*exists) return absl::OkStatus();
  if (!data.ok()) return data.status();
  absl::Status st = DecodeSingleRecord(*data, message);
  if (!st.ok()) {
    return Corrupt(path, absl::StrCat(st.message(), " (", data->size(),
                                      " bytes, truncated or corrupt)"));
  }
  return absl::OkStatus();
}

// A decimal number on one line ("123\n"): the newline tells a whole file
// from a truncated one.
absl::StatusOr<std::optional<uint64_t>> ReadNumberFile(
    const std::string& path) {
  absl::StatusOr<std::string> data = ReadFile(path);
  if (absl::IsNotFound(data.status())) return std::optional<uint64_t>();
  if (!data.ok()) return data.status();
  uint64_t value = 0;
  if (data->empty() || data->back() != '\n' ||
      !absl::SimpleAtoi(absl::string_view(*data).substr(0, data->size() - 1),
                        &value)) {
    return Corrupt(path, "does not hold a number (truncated or corrupt)");
  }
  return std::optional<uint64_t>(value);
}

// The target of a "latest" symlink, or "" when there is none.
std::string LinkTarget(const std::string& path) {
  std::error_code ec;
  std::filesystem::path target = std::filesystem::read_symlink(path, ec);
  if (ec) return "";
  return target.filename().string();
}

class Reader {
 public:
  Reader(std::string work_dir, bool strict, CheckpointState* state)
      : work_dir_(std::move(work_dir)), strict_(strict), state_(state) {}

  absl::Status ReadAgent();

 private:
  absl::Status ReadFramework(const std::string& framework);
  absl::Status ReadExecutor(FrameworkCheckpoint& framework,
                            const std::string& executor);
  // Reads the run into `run`; errors are for Skip.
  absl::Status ReadRun(RunCheckpoint& run);
  absl::Status ReadPid(RunCheckpoint& run);
  absl::Status ReadTask(const RunIds& ids, const std::string& task,
                        TaskCheckpoint& out);
  absl::Status ReadUpdates(const std::string& path, TaskCheckpoint& out);
  // With strict, `error`; else records the run as skipped.
  absl::Status Skip(SkippedRun run, const absl::Status& error);
  // Every run below `dir` (executors/<e>/runs/latest) as skipped, for a
  // framework or executor that cannot be read.
  absl::Status SkipRunsUnder(const std::string& framework,
                             const std::vector<std::string>& executors,
                             const absl::Status& error);

  const std::string work_dir_;
  const bool strict_;
  CheckpointState* const state_;
};

absl::Status Reader::Skip(SkippedRun run, const absl::Status& error) {
  if (strict_) return error;
  LOG(WARNING) << "Skipping container " << run.ids.container << " of executor '"
               << run.ids.executor << "' of framework " << run.ids.framework
               << " (--strict=false): " << error.message();
  run.reason = std::string(error.message());
  state_->skipped.push_back(std::move(run));
  return absl::OkStatus();
}

absl::Status Reader::ReadAgent() {
  const std::string& agent = state_->agent_id;
  mesos::v1::AgentInfo info;
  bool exists = false;
  absl::Status st =
      ReadMessage(AgentInfoPath(work_dir_, agent), &info, &exists);
  if (!st.ok()) {
    if (strict_) return st;
    LOG(WARNING) << "Not recovering agent " << agent
                 << " (--strict=false): " << st.message();
  } else if (exists) {
    state_->agent_info = std::move(info);
  }
  for (const std::string& framework :
       SubDirectories(AgentMetaDir(work_dir_, agent) + "/frameworks")) {
    AGORA_RETURN_IF_ERROR(ReadFramework(framework));
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadFramework(const std::string& id) {
  const std::string& agent = state_->agent_id;
  std::vector<std::string> executors =
      SubDirectories(FrameworkMetaDir(work_dir_, agent, id) + "/executors");
  FrameworkCheckpoint framework;
  bool exists = false;
  absl::Status st = ReadMessage(FrameworkInfoPath(work_dir_, agent, id),
                                &framework.info, &exists);
  if (!st.ok()) return SkipRunsUnder(id, executors, st);
  if (!exists) {
    // Died before its first write completed: nothing ran.
    LOG(WARNING) << "No framework.info for framework " << id << "; ignored";
    return absl::OkStatus();
  }
  for (const std::string& executor : executors) {
    AGORA_RETURN_IF_ERROR(ReadExecutor(framework, executor));
  }
  state_->frameworks[id] = std::move(framework);
  return absl::OkStatus();
}

absl::Status Reader::SkipRunsUnder(const std::string& framework,
                                   const std::vector<std::string>& executors,
                                   const absl::Status& error) {
  if (strict_) return error;
  for (const std::string& executor : executors) {
    RunIds ids{state_->agent_id, framework, executor,
               LinkTarget(LatestRunPath(work_dir_, state_->agent_id, framework,
                                        executor))};
    if (ids.container.empty()) continue;
    SkippedRun run{ids, std::nullopt, 0, ""};
    RunCheckpoint probe;
    probe.ids = ids;
    if (ReadPid(probe).ok() && probe.pid) {
      run.pid = probe.pid;
      run.start_time = probe.start_time;
    }
    AGORA_RETURN_IF_ERROR(Skip(std::move(run), error));
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadExecutor(FrameworkCheckpoint& framework,
                                  const std::string& id) {
  const std::string& agent = state_->agent_id;
  const std::string fid = framework.info.id().value();
  ExecutorCheckpoint executor;
  bool exists = false;
  absl::Status st = ReadMessage(ExecutorInfoPath(work_dir_, agent, fid, id),
                                &executor.info, &exists);
  if (!st.ok()) return SkipRunsUnder(fid, {id}, st);
  if (!exists) return absl::OkStatus();
  std::string container = LinkTarget(LatestRunPath(work_dir_, agent, fid, id));
  if (container.empty()) {
    LOG(WARNING) << "Executor '" << id << "' of framework " << fid
                 << " has no latest run; ignored";
    return absl::OkStatus();
  }
  RunCheckpoint run;
  run.ids = RunIds{agent, fid, id, container};
  st = ReadRun(run);
  if (!st.ok()) {
    return Skip(SkippedRun{run.ids, run.pid, run.start_time, ""}, st);
  }
  executor.run = std::move(run);
  framework.executors[id] = std::move(executor);
  return absl::OkStatus();
}

absl::Status Reader::ReadRun(RunCheckpoint& run) {
  run.completed = ::access(SentinelPath(work_dir_, run.ids).c_str(), F_OK) == 0;
  AGORA_RETURN_IF_ERROR(ReadPid(run));
  for (const std::string& task :
       SubDirectories(RunMetaDir(work_dir_, run.ids) + "/tasks")) {
    TaskCheckpoint checkpoint;
    AGORA_RETURN_IF_ERROR(ReadTask(run.ids, task, checkpoint));
    if (checkpoint.task.has_task_id()) run.tasks[task] = std::move(checkpoint);
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadPid(RunCheckpoint& run) {
  AGORA_ASSIGN_OR_RETURN(std::optional<uint64_t> pid,
                         ReadNumberFile(ForkedPidPath(work_dir_, run.ids)));
  if (!pid) return absl::OkStatus();  // Died before the launch was recorded.
  const std::string start_path = ForkedStartPath(work_dir_, run.ids);
  AGORA_ASSIGN_OR_RETURN(std::optional<uint64_t> start,
                         ReadNumberFile(start_path));
  if (*pid == 0 || *pid > 0x3fffffff) {
    return Corrupt(ForkedPidPath(work_dir_, run.ids), "holds no valid pid");
  }
  if (!start) {
    // Written before forked.pid: missing means it was removed.
    return Corrupt(start_path, "is missing beside forked.pid");
  }
  run.pid = static_cast<pid_t>(*pid);
  run.start_time = *start;
  return absl::OkStatus();
}

absl::Status Reader::ReadTask(const RunIds& ids, const std::string& task,
                              TaskCheckpoint& out) {
  bool exists = false;
  const std::string info = TaskInfoPath(work_dir_, ids, task);
  AGORA_RETURN_IF_ERROR(ReadMessage(info, &out.task, &exists));
  if (!exists) return absl::OkStatus();  // Died before it was recorded.
  return ReadUpdates(TaskUpdatesPath(work_dir_, ids, task), out);
}

absl::Status Reader::ReadUpdates(const std::string& path, TaskCheckpoint& out) {
  absl::StatusOr<std::string> data = ReadFile(path);
  if (absl::IsNotFound(data.status())) return absl::OkStatus();
  if (!data.ok()) return data.status();
  size_t valid = 0;
  absl::StatusOr<std::vector<StatusUpdateRecord>> records =
      DecodeUpdateRecords(*data, &valid);
  if (!records.ok()) return Corrupt(path, records.status().message());
  if (valid < data->size()) {
    LOG(WARNING) << "Dropping a torn final record (" << data->size() - valid
                 << " bytes) of " << path;
    if (::truncate(path.c_str(), static_cast<off_t>(valid)) != 0) {
      return ErrnoError(errno, "truncate", path);
    }
  }
  for (StatusUpdateRecord& record : *records) {
    if (record.type() == StatusUpdateRecord::UPDATE) {
      out.updates.push_back(std::move(*record.mutable_update()));
    } else {
      out.acks.insert(record.uuid());
    }
  }
  return absl::OkStatus();
}

absl::Status ReadVersion(const std::string& work_dir, CheckpointState* state) {
  const std::string path = CheckpointVersionPath(work_dir);
  absl::StatusOr<std::optional<uint64_t>> version = ReadNumberFile(path);
  if (!version.ok()) return version.status();
  // A layout without a version file is version 1, the first.
  state->version = version->has_value() ? static_cast<int>(**version) : 1;
  if (state->version > kCheckpointVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint in ", MetaDir(work_dir), " has layout version ",
        state->version, ", newer than this agent's ", kCheckpointVersion,
        "; start this agent with another --work_dir"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeUpdateRecord(const StatusUpdateRecord& record) {
  return EncodeRecord(record);
}

std::string EncodeRecord(const google::protobuf::MessageLite& message) {
  std::string payload = message.SerializeAsString();
  std::string out;
  out.reserve(kRecordHeader + payload.size());
  PutLe32(&out, static_cast<uint32_t>(payload.size()));
  PutLe32(&out, Crc32(payload));
  out += payload;
  return out;
}

absl::StatusOr<std::vector<StatusUpdateRecord>> DecodeUpdateRecords(
    absl::string_view data, size_t* valid_bytes) {
  std::vector<StatusUpdateRecord> records;
  size_t offset = 0;
  for (;;) {
    StatusUpdateRecord record;
    AGORA_ASSIGN_OR_RETURN(bool whole, DecodeRecordAt(data, &offset, &record));
    if (!whole) break;
    records.push_back(std::move(record));
  }
  *valid_bytes = offset;
  return records;
}

absl::Status DecodeSingleRecord(absl::string_view data,
                                google::protobuf::MessageLite* message) {
  size_t offset = 0;
  AGORA_ASSIGN_OR_RETURN(bool whole, DecodeRecordAt(data, &offset, message));
  if (!whole) return absl::DataLossError("holds no whole record");
  if (offset != data.size()) {
    return absl::DataLossError(
        absl::StrCat("has ", data.size() - offset, " bytes after its record"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckpointState> ReadCheckpoint(const std::string& work_dir,
                                               bool strict) {
  CheckpointState state;
  if (::access(MetaDir(work_dir).c_str(), F_OK) != 0) return state;
  AGORA_RETURN_IF_ERROR(ReadVersion(work_dir, &state));
  absl::StatusOr<std::string> boot_id = ReadFile(BootIdPath(work_dir));
  if (boot_id.ok()) {
    state.boot_id = std::string(absl::StripAsciiWhitespace(*boot_id));
  } else if (!absl::IsNotFound(boot_id.status())) {
    return boot_id.status();
  }
  state.agent_id = LinkTarget(LatestAgentPath(work_dir));
  if (state.agent_id.empty()) return state;
  Reader reader(work_dir, strict, &state);
  AGORA_RETURN_IF_ERROR(reader.ReadAgent());
  return state;
}

}  // namespace agora
