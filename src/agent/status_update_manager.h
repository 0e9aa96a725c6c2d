// StatusUpdateManager: the agent's reliable, ordered delivery of task status
// updates to the master, as Mesos's status update manager.
//
// Each task has one stream of updates in the order they were received. Only
// the head (oldest unacknowledged) update is in flight: it is forwarded at
// once, then again after 10 s, 20 s, 40 s ... up to every 10 min, until the
// master relays the framework's acknowledgement with the head's uuid. The
// ack pops the head and the next update is forwarded. Every forwarded update
// carries `latest_state`, the state of the newest update in the stream.
// While paused (no registered master) nothing is forwarded; Resume() sends
// every head at once, as after each (re)registration.
//
// Checkpointing (frameworks with FrameworkInfo.checkpoint): an update
// given a checkpoint path is appended there as an UPDATE record through
// the CheckpointWriter before it is forwarded (and before its caller
// acknowledges it to the executor, which then forgets it); an
// acknowledgement appends an ACK record. The records survive the agent's
// crash; they are not flushed to disk, since a crash of the host changes
// its boot id and the agent then discards them (docs/recovery.md).
// RecoverStream() rebuilds a stream from those records after a restart:
// its unacknowledged updates are forwarded again with their original
// uuids, and resent ones are known as duplicates.
//
// Thread rule: loop thread only; timers run on the loop.
#ifndef AGORA_AGENT_STATUS_UPDATE_MANAGER_H_
#define AGORA_AGENT_STATUS_UPDATE_MANAGER_H_

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/checkpoint_writer.h"
#include "agora/internal/agent_link.pb.h"
#include "common/event_loop.h"
#include "common/task_states.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

class StatusUpdateManager {
 public:
  using Forward = std::function<void(const agora::internal::StatusUpdate&)>;
  using Checkpointed = std::function<void(const absl::Status&)>;

  static constexpr absl::Duration kInitialRetry = absl::Seconds(10);
  static constexpr absl::Duration kMaxRetry = absl::Minutes(10);

  // `forward` sends one update to the master. `writer` (may be null: no
  // checkpointing) must outlive this. Starts paused.
  StatusUpdateManager(EventLoop* loop, Forward forward,
                      CheckpointWriter* writer = nullptr);
  ~StatusUpdateManager();  // Cancels retry timers.

  StatusUpdateManager(const StatusUpdateManager&) = delete;
  StatusUpdateManager& operator=(const StatusUpdateManager&) = delete;

  enum class UpdateResult { kAccepted, kDuplicate };
  // Appends `status` to its task's stream (forwarding it if it becomes the
  // head). kDuplicate when that uuid was already received: nothing changes.
  // InvalidArgument when the uuid is not 16 bytes; FailedPrecondition when
  // the stream already holds a terminal update.
  // With a non-empty `checkpoint_path` (the task's task.updates; the first
  // update of a stream decides) the update is checkpointed first.
  // `on_checkpointed` runs on the loop once the update (or, for
  // kDuplicate, the original) is checkpointed: at once without a
  // checkpoint, inside this call;
  // with the write's error when checkpointing failed, and the update is
  // then dropped from the stream (the executor, never acknowledged, still
  // holds it).
  absl::StatusOr<UpdateResult> Update(const mesos::v1::FrameworkID& framework,
                                      const mesos::v1::TaskStatus& status,
                                      const std::string& checkpoint_path = "",
                                      Checkpointed on_checkpointed = nullptr);

  // Rebuilds a task's stream from its checkpoint (`updates` in order, the
  // uuids in `acks` acknowledged), checkpointing on to `checkpoint_path`.
  // False when the stream had ended (its terminal update acknowledged):
  // nothing is kept.
  bool RecoverStream(const mesos::v1::FrameworkID& framework,
                     const mesos::v1::TaskID& task,
                     const std::string& checkpoint_path,
                     const std::vector<agora::internal::StatusUpdate>& updates,
                     const std::set<std::string>& acks);

  enum class AckResult { kPopped, kStreamDone };
  // Pops the head of the task's stream if its uuid is `uuid`, forwarding the
  // next update. kStreamDone when the popped update was terminal: the stream
  // is gone. NotFound for an unknown stream; InvalidArgument when `uuid` is
  // not the head's (the ack is ignored).
  absl::StatusOr<AckResult> Acknowledge(const mesos::v1::FrameworkID& framework,
                                        const mesos::v1::TaskID& task,
                                        const std::string& uuid);

  // Starts forwarding: every head is sent now, with a fresh backoff.
  void Resume();
  // Stops forwarding and retrying until Resume().
  void Pause();
  bool paused() const { return paused_; }

  // Drops every stream of `framework` (the framework was shut down).
  void RemoveFramework(const mesos::v1::FrameworkID& framework);

  // The oldest unacknowledged update of a task, or nullptr.
  const mesos::v1::TaskStatus* Head(const mesos::v1::FrameworkID& framework,
                                    const mesos::v1::TaskID& task) const;
  // The state of the newest update received for a task with a stream.
  std::optional<mesos::v1::TaskState> LatestState(
      const mesos::v1::FrameworkID& framework,
      const mesos::v1::TaskID& task) const;
  size_t StreamCount() const { return streams_.size(); }
  size_t PendingCount(const mesos::v1::FrameworkID& framework,
                      const mesos::v1::TaskID& task) const;

 private:
  using Key = std::pair<std::string, std::string>;  // (framework, task)

  struct Pending {
    mesos::v1::TaskStatus status;
    bool checkpointed = true;
    std::vector<Checkpointed> waiters;  // Until checkpointed.
  };
  struct Stream {
    mesos::v1::FrameworkID framework;
    std::string checkpoint_path;  // "" without checkpointing.
    std::deque<Pending> pending;
    std::set<std::string> received;  // Every uuid seen, for duplicates.
    mesos::v1::TaskState latest_state = mesos::v1::TASK_STAGING;
    bool terminal_received = false;
    absl::Duration backoff = kInitialRetry;
    EventLoop::TimerId retry_timer = 0;
  };

  // Forwards the head of `key` now (once it is checkpointed) and arms its
  // retry
  // timer.
  void ForwardHead(const Key& key, Stream& stream);
  void Checkpoint(const Key& key, Stream& stream, const Pending& pending);
  void OnCheckpointed(const Key& key, const std::string& uuid,
                      const absl::Status& status);
  void OnRetryTimer(const Key& key);
  void CancelRetry(Stream& stream);

  EventLoop* const loop_;
  const Forward forward_;
  CheckpointWriter* const writer_;
  bool paused_ = true;
  std::map<Key, Stream> streams_;
};

}  // namespace agora

#endif  // AGORA_AGENT_STATUS_UPDATE_MANAGER_H_
