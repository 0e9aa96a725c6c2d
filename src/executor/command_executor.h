// CommandExecutor: Agora's command executor (Mesos's mesos-executor). It
// subscribes to its agent, runs the one task it is given as a shell command
// (or argv) in its own process group, and reports TASK_STARTING,
// TASK_RUNNING and then TASK_FINISHED, TASK_FAILED ("Command exited with
// status N" / "Command terminated with signal SIGNAME") or TASK_KILLED.
// A kill sends SIGTERM to the task's group and SIGKILL after the grace
// period (the kill policy, 3 s by default). Updates are sent one at a time,
// kept until the agent acknowledges them and resent in SUBSCRIBE after a
// reconnection. The executor finishes once its terminal update is
// acknowledged (or 5 s after sending it while connected).
//
// When the agent goes away (it crashed or is restarting): an executor of a
// checkpointing framework (MESOS_CHECKPOINT=1) keeps its task running and
// its updates buffered, and tries to resubscribe with a backoff growing to
// MESOS_SUBSCRIPTION_BACKOFF_MAX, sending its unacknowledged task and
// updates in SUBSCRIBE (docs/recovery.md); if the agent has not come back
// within MESOS_RECOVERY_TIMEOUT it kills its task and exits. A restarted
// agent signals (SIGUSR2) the executors it adopted once it listens, so
// they resubscribe at once rather than at their next attempt. Without
// checkpointing, as in Mesos, it kills its task and exits at once. An agent
// that does not know the executor (it rejects the SUBSCRIBE) makes it kill
// its task and exit too.
//
// Thread rule: loop thread only; connection and process callbacks post.
#ifndef AGORA_EXECUTOR_COMMAND_EXECUTOR_H_
#define AGORA_EXECUTOR_COMMAND_EXECUTOR_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/event_loop.h"
#include "executor/agent_connection.h"
#include "executor/task_process.h"
#include "mesos/v1/executor/executor.pb.h"

namespace agora {

struct ExecutorConfig {
  std::string endpoint;  // AGORA_EXECUTOR_ENDPOINT.
  mesos::v1::FrameworkID framework_id;
  mesos::v1::ExecutorID executor_id;
  std::string sandbox;
  absl::Duration shutdown_grace_period = absl::Seconds(5);
  // The executor's own environment, handed on to the task.
  std::map<std::string, std::string> environment;
  // MESOS_CHECKPOINT: whether to wait for a restarting agent.
  bool checkpoint = false;
  // MESOS_RECOVERY_TIMEOUT (the agent's --recovery_timeout).
  absl::Duration recovery_timeout = absl::Minutes(15);
  // MESOS_SUBSCRIPTION_BACKOFF_MAX: the longest wait between two attempts
  // to resubscribe.
  absl::Duration subscription_backoff_max = absl::Seconds(2);
};

class CommandExecutor {
 public:
  static constexpr absl::Duration kDefaultKillGrace = absl::Seconds(3);
  static constexpr absl::Duration kTerminalAckWait = absl::Seconds(5);
  // The first wait before resubscribing (at most the backoff max); it
  // doubles up to the backoff max. Slow on purpose: a thousand executors
  // of a dead agent must not keep the host busy, and the restarted agent
  // signals them when it listens.
  static constexpr absl::Duration kInitialResubscribeBackoff = absl::Seconds(1);
  static constexpr absl::Duration kUpdateRetryInterval = absl::Seconds(1);

  // `on_finished(exit_code)` runs on the loop, once.
  CommandExecutor(ExecutorConfig config, EventLoop* loop,
                  AgentConnection* connection,
                  std::function<void(int)> on_finished);

  void Start();
  // SIGTERM/SIGINT to the executor: like SHUTDOWN.
  void OnSignal(int signal);
  // SIGUSR2: a restarted agent that adopted this executor is listening
  // again; a disconnected executor resubscribes now instead of at its next
  // backoff.
  void OnAgentBack();

 private:
  void Subscribe();
  void OnEvent(const mesos::v1::executor::Event& event);
  void OnSubscriptionClosed(uint64_t generation, const grpc::Status& status);
  // The next attempt to resubscribe, with backoff and jitter.
  void ScheduleResubscribe();
  // Kills the task (if it runs) and finishes: the agent is gone for good.
  void Abandon(const std::string& why);
  void OnTerminalAckWait();
  void OnSubscribed(const mesos::v1::executor::Event::Subscribed& subscribed);
  void Launch(const mesos::v1::TaskInfo& task);
  void Kill(const mesos::v1::TaskID& task,
            const std::optional<mesos::v1::KillPolicy>& policy);
  void KillWithGrace(absl::Duration grace);
  void Escalate();
  void Shutdown();
  void OnTaskExited(int wait_status);
  void OnAcknowledged(const mesos::v1::executor::Event::Acknowledged& ack);

  void SendUpdate(const mesos::v1::TaskID& task, mesos::v1::TaskState state,
                  const std::string& message = "");
  void SendNextUpdate();
  void OnUpdateSent(const std::string& uuid, const grpc::Status& status);
  void Finish(int exit_code);
  mesos::v1::executor::Call NewCall(mesos::v1::executor::Call::Type type) const;

  const ExecutorConfig config_;
  EventLoop* const loop_;
  AgentConnection* const connection_;
  std::function<void(int)> on_finished_;

  // Subscription.
  uint64_t generation_ = 0;
  bool subscribed_ = false;
  bool ever_subscribed_ = false;
  std::optional<absl::Time> disconnected_since_;
  absl::Duration resubscribe_backoff_ = kInitialResubscribeBackoff;
  EventLoop::TimerId resubscribe_timer_ = 0;
  uint64_t jitter_state_ = 0;
  mesos::v1::FrameworkInfo framework_info_;

  // The task.
  std::optional<mesos::v1::TaskInfo> task_;
  TaskProcess process_;
  bool running_ = false;  // The command runs (forked, not yet reaped).
  bool killed_ = false;
  bool shutting_down_ = false;
  absl::Time escalation_at_;
  EventLoop::TimerId escalation_timer_ = 0;
  bool any_update_acknowledged_ = false;
  bool abandoning_ = false;  // The agent is gone: kill the task and exit.

  // Updates: unacknowledged ones in order, and which of them still wait
  // to be sent by a Call (one in flight at a time).
  std::deque<mesos::v1::executor::Call::Update> unacknowledged_;
  std::deque<std::string> unsent_;  // uuids.
  bool call_in_flight_ = false;
  std::optional<std::string> terminal_uuid_;
  bool finished_ = false;
};

}  // namespace agora

#endif  // AGORA_EXECUTOR_COMMAND_EXECUTOR_H_
