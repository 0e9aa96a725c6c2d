#include "agent/status_update_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/checkpoint_state.h"
#include "agora/internal/checkpoint.pb.h"
#include "common/ids.h"
#include "glog/logging.h"

namespace agora {

using agora::internal::StatusUpdateRecord;

StatusUpdateManager::StatusUpdateManager(EventLoop* loop, Forward forward,
                                         CheckpointWriter* writer)
    : loop_(loop), forward_(std::move(forward)), writer_(writer) {}

StatusUpdateManager::~StatusUpdateManager() {
  for (auto& [key, stream] : streams_) CancelRetry(stream);
}

absl::StatusOr<StatusUpdateManager::UpdateResult> StatusUpdateManager::Update(
    const mesos::v1::FrameworkID& framework,
    const mesos::v1::TaskStatus& status, const std::string& checkpoint_path,
    Checkpointed on_checkpointed) {
  if (status.uuid().size() != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("status update for task '", status.task_id().value(),
                     "': uuid must be 16 bytes, got ", status.uuid().size()));
  }
  Key key(framework.value(), status.task_id().value());
  Stream& stream = streams_[key];
  if (stream.received.count(status.uuid())) {
    auto it = std::find_if(
        stream.pending.begin(), stream.pending.end(),
        [&](const Pending& p) { return p.status.uuid() == status.uuid(); });
    if (it != stream.pending.end() && !it->checkpointed) {
      if (on_checkpointed) it->waiters.push_back(std::move(on_checkpointed));
    } else if (on_checkpointed) {
      on_checkpointed(absl::OkStatus());
    }
    return UpdateResult::kDuplicate;
  }
  if (stream.terminal_received) {
    return absl::FailedPreconditionError(absl::StrCat(
        "status update ", UuidBytesToString(status.uuid()), " for task '",
        status.task_id().value(), "': the task is already terminal"));
  }
  if (stream.received.empty() && writer_ != nullptr) {
    stream.checkpoint_path = checkpoint_path;
  }
  stream.framework = framework;
  stream.received.insert(status.uuid());
  stream.latest_state = status.state();
  stream.terminal_received = IsTerminalState(status.state());
  Pending pending;
  pending.status = status;
  pending.checkpointed = stream.checkpoint_path.empty();
  if (pending.checkpointed) {
    stream.pending.push_back(std::move(pending));
    if (on_checkpointed) on_checkpointed(absl::OkStatus());
  } else {
    if (on_checkpointed) pending.waiters.push_back(std::move(on_checkpointed));
    Checkpoint(key, stream, pending);
    stream.pending.push_back(std::move(pending));
  }
  if (stream.pending.size() == 1 && !paused_) {
    ForwardHead(key, stream);
  }
  return UpdateResult::kAccepted;
}

void StatusUpdateManager::Checkpoint(const Key& key, Stream& stream,
                                     const Pending& pending) {
  StatusUpdateRecord record;
  record.set_type(StatusUpdateRecord::UPDATE);
  *record.mutable_update()->mutable_framework_id() = stream.framework;
  *record.mutable_update()->mutable_status() = pending.status;
  record.mutable_update()->set_latest_state(pending.status.state());
  writer_->Append(
      stream.checkpoint_path, EncodeUpdateRecord(record),
      /*sync=*/false,
      [this, key, uuid = pending.status.uuid()](const absl::Status& st) {
        OnCheckpointed(key, uuid, st);
      });
}

void StatusUpdateManager::OnCheckpointed(const Key& key,
                                         const std::string& uuid,
                                         const absl::Status& status) {
  auto s = streams_.find(key);
  if (s == streams_.end()) return;  // Removed meanwhile.
  Stream& stream = s->second;
  auto it =
      std::find_if(stream.pending.begin(), stream.pending.end(),
                   [&](const Pending& p) { return p.status.uuid() == uuid; });
  if (it == stream.pending.end()) return;
  std::vector<Checkpointed> waiters = std::move(it->waiters);
  if (status.ok()) {
    it->checkpointed = true;
    if (it == stream.pending.begin() && !paused_) ForwardHead(key, stream);
  } else {
    // Not checkpointed: as if never received; the executor resends it when it
    // resubscribes.
    LOG(ERROR) << "Dropping status update " << UuidBytesToString(uuid)
               << " for task '" << key.second << "': " << status;
    bool head = it == stream.pending.begin();
    stream.received.erase(uuid);
    if (IsTerminalState(it->status.state())) stream.terminal_received = false;
    stream.pending.erase(it);
    if (head && !stream.pending.empty() && !paused_) ForwardHead(key, stream);
  }
  for (Checkpointed& waiter : waiters) waiter(status);
}

bool StatusUpdateManager::RecoverStream(
    const mesos::v1::FrameworkID& framework, const mesos::v1::TaskID& task,
    const std::string& checkpoint_path,
    const std::vector<agora::internal::StatusUpdate>& updates,
    const std::set<std::string>& acks) {
  Stream stream;
  stream.framework = framework;
  stream.checkpoint_path = writer_ != nullptr ? checkpoint_path : "";
  for (const agora::internal::StatusUpdate& update : updates) {
    const mesos::v1::TaskStatus& status = update.status();
    if (!stream.received.insert(status.uuid()).second) continue;
    stream.latest_state = status.state();
    stream.terminal_received |= IsTerminalState(status.state());
    if (!acks.count(status.uuid())) {
      stream.pending.push_back(Pending{status, true, {}});
    }
  }
  if (stream.pending.empty() && stream.terminal_received) return false;
  Key key(framework.value(), task.value());
  CancelRetry(streams_[key]);
  streams_[key] = std::move(stream);
  return true;
}

absl::StatusOr<StatusUpdateManager::AckResult> StatusUpdateManager::Acknowledge(
    const mesos::v1::FrameworkID& framework, const mesos::v1::TaskID& task,
    const std::string& uuid) {
  Key key(framework.value(), task.value());
  auto it = streams_.find(key);
  if (it == streams_.end() || it->second.pending.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "acknowledgement for task '", task.value(), "' of framework ",
        framework.value(), ": no pending status update"));
  }
  Stream& stream = it->second;
  const Pending& head = stream.pending.front();
  if (head.status.uuid() != uuid || !head.checkpointed) {
    return absl::InvalidArgumentError(
        absl::StrCat("acknowledgement for task '", task.value(), "': uuid ",
                     UuidBytesToString(uuid), " is not the pending update's ",
                     UuidBytesToString(head.status.uuid())));
  }
  CancelRetry(stream);
  bool terminal = IsTerminalState(head.status.state());
  if (!stream.checkpoint_path.empty()) {
    StatusUpdateRecord record;
    record.set_type(StatusUpdateRecord::ACK);
    record.set_uuid(uuid);
    writer_->Append(stream.checkpoint_path, EncodeUpdateRecord(record),
                    /*sync=*/false);
  }
  stream.pending.pop_front();
  if (terminal) {
    // Nothing may follow a terminal update; the task is done.
    streams_.erase(it);
    return AckResult::kStreamDone;
  }
  stream.backoff = kInitialRetry;
  if (!stream.pending.empty() && !paused_) ForwardHead(key, stream);
  return AckResult::kPopped;
}

void StatusUpdateManager::Resume() {
  paused_ = false;
  for (auto& [key, stream] : streams_) {
    CancelRetry(stream);
    stream.backoff = kInitialRetry;
    if (!stream.pending.empty()) ForwardHead(key, stream);
  }
}

void StatusUpdateManager::Pause() {
  paused_ = true;
  for (auto& [key, stream] : streams_) CancelRetry(stream);
}

void StatusUpdateManager::RemoveFramework(
    const mesos::v1::FrameworkID& framework) {
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (it->first.first == framework.value()) {
      CancelRetry(it->second);
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
}

const mesos::v1::TaskStatus* StatusUpdateManager::Head(
    const mesos::v1::FrameworkID& framework,
    const mesos::v1::TaskID& task) const {
  auto it = streams_.find(Key(framework.value(), task.value()));
  if (it == streams_.end() || it->second.pending.empty()) return nullptr;
  return &it->second.pending.front().status;
}

std::optional<mesos::v1::TaskState> StatusUpdateManager::LatestState(
    const mesos::v1::FrameworkID& framework,
    const mesos::v1::TaskID& task) const {
  auto it = streams_.find(Key(framework.value(), task.value()));
  if (it == streams_.end()) return std::nullopt;
  return it->second.latest_state;
}

size_t StatusUpdateManager::PendingCount(
    const mesos::v1::FrameworkID& framework,
    const mesos::v1::TaskID& task) const {
  auto it = streams_.find(Key(framework.value(), task.value()));
  return it == streams_.end() ? 0 : it->second.pending.size();
}

void StatusUpdateManager::ForwardHead(const Key& key, Stream& stream) {
  CancelRetry(stream);
  const Pending& head = stream.pending.front();
  if (!head.checkpointed) return;  // OnCheckpointed forwards it.
  agora::internal::StatusUpdate update;
  *update.mutable_framework_id() = stream.framework;
  *update.mutable_status() = head.status;
  update.set_latest_state(stream.latest_state);
  VLOG(1) << "Forwarding status update " << head.status.state() << " for task '"
          << key.second << "' of framework " << key.first;
  // A stream's timer is cancelled whenever the stream goes away or is
  // re-armed, so the callback always finds its stream.
  stream.retry_timer =
      loop_->PostAfter(stream.backoff, [this, key] { OnRetryTimer(key); });
  forward_(update);
}

void StatusUpdateManager::OnRetryTimer(const Key& key) {
  auto it = streams_.find(key);
  if (it == streams_.end() || paused_ || it->second.pending.empty()) return;
  Stream& stream = it->second;
  stream.retry_timer = 0;
  stream.backoff = std::min(stream.backoff * 2, kMaxRetry);
  LOG(INFO) << "Resending unacknowledged status update "
            << mesos::v1::TaskState_Name(stream.pending.front().status.state())
            << " (" << UuidBytesToString(stream.pending.front().status.uuid())
            << ") for task '" << key.second << "' of framework " << key.first;
  ForwardHead(key, stream);
}

void StatusUpdateManager::CancelRetry(Stream& stream) {
  if (stream.retry_timer != 0) loop_->Cancel(stream.retry_timer);
  stream.retry_timer = 0;
}

}  // namespace agora
