#include "agent/status_update_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "glog/logging.h"

namespace agora {

StatusUpdateManager::StatusUpdateManager(EventLoop* loop, Forward forward)
    : loop_(loop), forward_(std::move(forward)) {}

StatusUpdateManager::~StatusUpdateManager() {
  for (auto& [key, stream] : streams_) CancelRetry(stream);
}

absl::StatusOr<StatusUpdateManager::UpdateResult> StatusUpdateManager::Update(
    const mesos::v1::FrameworkID& framework,
    const mesos::v1::TaskStatus& status) {
  if (status.uuid().size() != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("status update for task '", status.task_id().value(),
                     "': uuid must be 16 bytes, got ", status.uuid().size()));
  }
  Key key(framework.value(), status.task_id().value());
  Stream& stream = streams_[key];
  if (stream.received.count(status.uuid())) return UpdateResult::kDuplicate;
  if (stream.terminal_received) {
    return absl::FailedPreconditionError(absl::StrCat(
        "status update ", UuidBytesToString(status.uuid()), " for task '",
        status.task_id().value(), "': the task is already terminal"));
  }
  stream.framework = framework;
  stream.received.insert(status.uuid());
  stream.latest_state = status.state();
  stream.terminal_received = IsTerminalState(status.state());
  stream.pending.push_back(status);
  if (stream.pending.size() == 1 && !paused_) {
    ForwardHead(key, stream);
  }
  return UpdateResult::kAccepted;
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
  if (stream.pending.front().uuid() != uuid) {
    return absl::InvalidArgumentError(
        absl::StrCat("acknowledgement for task '", task.value(), "': uuid ",
                     UuidBytesToString(uuid), " is not the pending update's ",
                     UuidBytesToString(stream.pending.front().uuid())));
  }
  CancelRetry(stream);
  bool terminal = IsTerminalState(stream.pending.front().state());
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
  return &it->second.pending.front();
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
  agora::internal::StatusUpdate update;
  *update.mutable_framework_id() = stream.framework;
  *update.mutable_status() = stream.pending.front();
  update.set_latest_state(stream.latest_state);
  VLOG(1) << "Forwarding status update " << stream.pending.front().state()
          << " for task '" << key.second << "' of framework " << key.first;
  CancelRetry(stream);
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
            << mesos::v1::TaskState_Name(stream.pending.front().state()) << " ("
            << UuidBytesToString(stream.pending.front().uuid())
            << ") for task '" << key.second << "' of framework " << key.first;
  ForwardHead(key, stream);
}

void StatusUpdateManager::CancelRetry(Stream& stream) {
  if (stream.retry_timer != 0) loop_->Cancel(stream.retry_timer);
  stream.retry_timer = 0;
}

}  // namespace agora
