// ContainerManager: the agent's executors and their tasks, above the
// Containerizer (containerizer.h), which holds their containers. It
// launches an executor per new ExecutorInfo (the command executor for
// command tasks) in a container of its own with a fresh sandbox, delivers
// tasks once the
// executor subscribes over the executor API, relays kills, messages and
// shutdowns, takes executor status updates into the agent's status-update
// streams and acknowledges them to the executor, and turns executor deaths
// into TASK_FAILED updates, as Mesos's agent does:
//   launch failure            TASK_FAILED  REASON_CONTAINER_LAUNCH_FAILED
//   no SUBSCRIBE in time      TASK_FAILED  REASON_EXECUTOR_REGISTRATION_TIMEOUT
//   exit without a terminal   TASK_FAILED  REASON_EXECUTOR_TERMINATED
//   kill before delivery      TASK_KILLED  REASON_TASK_KILLED_DURING_LAUNCH
//   OOM kill in its cgroup    TASK_FAILED  REASON_CONTAINER_LIMITATION_MEMORY
//                                          (with TaskStatus.limitation)
// Each executor's container holds the executor and its tasks (with cgroups,
// limits from their summed resources, the command executor's 0.1 cpus /
// 32 MB included); it is destroyed when the executor exits.
// A task is forgotten (moved to the completed lists) once its terminal
// update is acknowledged; an executor once it has exited and has no such
// task left; a framework once it has no executor left.
//
// Thread rule: loop thread only (including the ExecutorCallHandler
// methods, which ExecutorService posts).
#ifndef AGORA_AGENT_CONTAINER_MANAGER_H_
#define AGORA_AGENT_CONTAINER_MANAGER_H_

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/checkpoint_state.h"
#include "agent/checkpointer.h"
#include "agent/containerizer.h"
#include "agent/executor_launch.h"
#include "agent/executor_service.h"
#include "agora/internal/agent_link.pb.h"
#include "common/event_loop.h"
#include "common/metrics.h"
#include "isolation/cgroups2_isolator.h"
#include "isolation/launcher.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

struct ExecutorRecord {
  enum class State { kRegistering, kRunning, kTerminating, kTerminated };

  mesos::v1::ExecutorInfo info;
  std::string container_id;
  std::string directory;
  bool command_executor = false;
  pid_t pid = 0;  // 0 once exited (or never launched).
  State state = State::kRegistering;
  bool ever_sent_task = false;
  std::shared_ptr<ExecutorEventStream> stream;  // Null while unsubscribed.
  // Every task not yet completed: queued, launched, or terminal and
  // awaiting acknowledgement. Task.state is the newest state received.
  std::map<std::string, mesos::v1::Task> tasks;
  std::map<std::string, mesos::v1::TaskInfo> queued;  // Not yet delivered.
  // Kills that arrived while the executor was disconnected.
  std::map<std::string, std::optional<mesos::v1::KillPolicy>> pending_kills;
  std::deque<mesos::v1::Task> completed_tasks;
  // What the tasks of an executor that dies get (Mesos's pending
  // termination).
  mesos::v1::TaskStatus::Reason termination_reason =
      mesos::v1::TaskStatus::REASON_EXECUTOR_TERMINATED;
  std::string termination_message = "Executor terminated";
  std::optional<mesos::v1::TaskResourceLimitation> limitation;
  // Accepted, waiting in the launch queue: no sandbox, cgroup or process
  // yet (state kRegistering).
  bool launch_pending = false;
  ContainerResources container_resources;
  EventLoop::TimerId registration_timer = 0;
  EventLoop::TimerId shutdown_timer = 0;
  // Recovered from the checkpoint at start-up; waits to resubscribe.
  bool recovered = false;
};

struct FrameworkRecord {
  mesos::v1::FrameworkInfo info;
  bool terminating = false;
  std::map<std::string, ExecutorRecord> executors;
  std::deque<ExecutorRecord> completed_executors;
};

class ContainerManager : public ExecutorCallHandler {
 public:
  struct Options {
    std::string work_dir;           // Absolute.
    std::string executor_path;      // The command executor binary.
    std::string agent_endpoint;     // "ip:port", MESOS_AGENT_ENDPOINT.
    std::string executor_endpoint;  // "unix:/path", AGORA_EXECUTOR_ENDPOINT.
    std::map<std::string, std::string> executor_environment;
    absl::Duration executor_registration_timeout = absl::Minutes(1);
    absl::Duration executor_shutdown_grace_period = absl::Seconds(5);
    // Run executors as CommandInfo.user or FrameworkInfo.user (--switch_user).
    bool switch_user = true;
    bool pid_namespace = false;  // Isolator namespaces/pid.
    bool private_tmp = false;    // Isolator filesystem/linux.
    // The agent's total cpus and mem: a container asking for more fails.
    double total_cpus = 0;
    double total_mem_mb = 0;
    // How often memory.events is checked for OOM kills.
    absl::Duration oom_check_interval = absl::Milliseconds(250);
    // What executors of checkpointing frameworks are told
    // (executor_launch.h): --recovery_timeout and
    // --executor_reregistration_timeout.
    absl::Duration recovery_timeout = absl::Minutes(15);
    absl::Duration subscription_backoff_max = absl::Seconds(2);
  };
  struct Callbacks {
    // Takes an update into the status-update streams: true when new, false
    // for a duplicate; an error rejects it. With a checkpoint path (the
    // task's task.updates) it is checkpointed first; `on_checkpointed` runs
    // once it is (StatusUpdateManager::Update).
    std::function<absl::StatusOr<bool>(
        const mesos::v1::FrameworkID&, const mesos::v1::TaskStatus&,
        const std::string& checkpoint_path,
        std::function<void(const absl::Status&)> on_checkpointed)>
        status_update;
    std::function<void(const agora::internal::ExecutorExited&)> executor_exited;
    std::function<void(const agora::internal::ExecutorToFramework&)>
        executor_message;
    // A recovered executor resubscribed (or exited, or was given up);
    // `awaiting` is how many still have not (may be null).
    std::function<void(size_t awaiting)> executor_reregistered;
  };

  static constexpr size_t kMaxCompletedTasks = 200;
  static constexpr size_t kMaxCompletedExecutors = 150;
  static constexpr size_t kMaxCompletedFrameworks = 50;

  // `launcher` and `metrics` must outlive this.
  ContainerManager(Options options, EventLoop* loop, Launcher* launcher,
                   MetricsRegistry* metrics, Callbacks callbacks);
  ~ContainerManager() override;

  // Where executors reach the agent; set once its servers listen.
  void set_endpoints(std::string agent_endpoint,
                     std::string executor_endpoint) {
    options_.agent_endpoint = std::move(agent_endpoint);
    options_.executor_endpoint = std::move(executor_endpoint);
  }
  // The cgroups isolator (null: posix isolation). Set before any task; must
  // outlive this.
  void set_isolator(Cgroups2Isolator* isolator) {
    containerizer_.set_isolator(isolator);
  }
  Cgroups2Isolator* isolator() const { return containerizer_.isolator(); }
  Containerizer& containerizer() { return containerizer_; }
  const Containerizer& containerizer() const { return containerizer_; }

  // The agent's info with its id; set on (re)registration, before tasks.
  void set_agent_info(const mesos::v1::AgentInfo& info) { agent_info_ = info; }
  // Records the executors and tasks of checkpointing frameworks (null: no
  // checkpointing). Must outlive this.
  void set_checkpointer(Checkpointer* checkpointer) {
    checkpointer_ = checkpointer;
  }

  // container_recovery.cc. At start-up, before any task: rebuilds the
  // executors and tasks an earlier agent checkpointed (`state`; the agent
  // recovered their status-update streams first), adopts the containers
  // that still run, which then have until OnReregistrationTimeout() to
  // resubscribe, and ends the others' tasks: TASK_FAILED
  // (REASON_EXECUTOR_TERMINATED) for a task that had started, TASK_LOST or
  // TASK_DROPPED (REASON_AGENT_RESTARTED) for one never confirmed by its
  // executor. Kills what runs of `state.skipped`. Returns how many
  // executors were adopted.
  int Recover(const CheckpointState& state);
  // Kills every container `state` names (verified by pid and start time)
  // and every container cgroup: --recover=cleanup and rebooted hosts.
  void DestroyCheckpointedContainers(const CheckpointState& state);
  // Recovered executors that have not resubscribed yet.
  size_t AwaitingReregistration() const { return awaiting_.size(); }
  // Signals the recovered command executors that have not resubscribed
  // that the agent is back (Containerizer::SignalMain, SIGUSR2; custom
  // executors are left to their own retries), kNudgeWindow at a time: each
  // resubscription lets the next one go, so that a thousand executors do
  // not all connect at once. With `again`, those signalled before are
  // signalled again. Returns how many were signalled.
  static constexpr size_t kNudgeWindow = 32;
  int NudgeAwaitingExecutors(bool again = false);
  // --executor_reregistration_timeout passed: destroys the recovered
  // executors that did not resubscribe; their tasks fail with
  // REASON_EXECUTOR_REREGISTRATION_TIMEOUT.
  void OnReregistrationTimeout(absl::Duration timeout);

  // Master requests.
  void RunTask(const mesos::v1::FrameworkInfo& framework,
               const mesos::v1::TaskInfo& task);
  void KillTask(const mesos::v1::FrameworkID& framework,
                const mesos::v1::TaskID& task,
                const std::optional<mesos::v1::KillPolicy>& policy);
  void ShutdownExecutor(const mesos::v1::FrameworkID& framework,
                        const mesos::v1::ExecutorID& executor);
  void ShutdownFramework(const mesos::v1::FrameworkID& framework);
  void FrameworkMessage(const agora::internal::FrameworkToExecutor& message);

  // The terminal update of `task` was acknowledged.
  void OnTaskStreamDone(const mesos::v1::FrameworkID& framework,
                        const mesos::v1::TaskID& task);

  // Agent shutdown: SIGKILL to every live executor's process tree, but with
  // `keep_checkpointing` those of checkpointing frameworks, which stay for
  // the next agent (Mesos's Slave::finalize); from now on executor exits
  // make no status updates (the master learns of the agent's departure
  // instead). Returns how many were signalled.
  int KillAllExecutors(bool keep_checkpointing);
  // Executors KillAllExecutors() killed that have not exited yet.
  int KilledExecutorsLeft() const;
  int LiveExecutorCount() const;

  const std::map<std::string, FrameworkRecord>& frameworks() const {
    return frameworks_;
  }
  const std::deque<FrameworkRecord>& completed_frameworks() const {
    return completed_frameworks_;
  }

  // ExecutorCallHandler.
  void OnExecutorSubscribe(
      const mesos::v1::executor::Call& call,
      std::shared_ptr<ExecutorEventStream> stream) override;
  void OnExecutorStreamClosed(
      const mesos::v1::executor::Call& call,
      const std::shared_ptr<ExecutorEventStream>& stream) override;
  absl::Status OnExecutorCall(const mesos::v1::executor::Call& call) override;

 private:
  ExecutorRecord* FindExecutor(const std::string& framework,
                               const std::string& executor);
  ExecutorRecord* FindExecutorOfTask(FrameworkRecord& framework,
                                     const std::string& task);
  void AddTask(ExecutorRecord& executor, const mesos::v1::TaskInfo& task);
  void LaunchExecutor(FrameworkRecord& framework, mesos::v1::ExecutorInfo info,
                      bool command_executor, const mesos::v1::TaskInfo& task);
  // Creates the sandbox and starts the executor's process.
  absl::StatusOr<pid_t> StartContainer(const FrameworkRecord& framework,
                                       ExecutorRecord& executor);
  // Launches are queued and started one per loop turn, so a burst of
  // RunTask from one offer leaves room for the executors' calls and the
  // master's acknowledgements between two launches.
  struct QueuedLaunch {
    std::string framework, executor, container;
  };
  void EnqueueLaunch(QueuedLaunch launch);
  void StartNextLaunch();
  // An executor shut down before its queued launch started: it ends here,
  // with no process to wait for.
  void FinishUnstartedExecutor(FrameworkRecord& framework,
                               ExecutorRecord& executor);
  void OnLaunchFailed(FrameworkRecord& framework, ExecutorRecord& executor,
                      const absl::Status& error);
  void DeliverQueuedTasks(ExecutorRecord& executor);
  void SendKill(ExecutorRecord& executor, const std::string& task,
                const std::optional<mesos::v1::KillPolicy>& policy);
  void KillQueuedTask(FrameworkRecord& framework, ExecutorRecord& executor,
                      const std::string& task);
  void KillExecutorProcess(ExecutorRecord& executor);
  // The container's summed resources and limits, validated.
  absl::StatusOr<ContainerResources> ContainerResourcesOf(
      const ExecutorRecord& executor, const mesos::v1::TaskInfo& task) const;
  // Asks the containerizer whether the container had an OOM kill; if so
  // records it as the executor's termination and returns true.
  bool CheckLimitation(ExecutorRecord& executor);
  void ApplyLimitation(ExecutorRecord& executor,
                       const ContainerLimitation& limit);
  void OnContainerLimited(const std::string& container_id,
                          const ContainerLimitation& limit);
  // Adds `task`'s resources and limits to its executor's container and
  // rewrites the container's limits.
  absl::Status GrowContainer(ExecutorRecord& executor,
                             const mesos::v1::TaskInfo& task);
  // The live executor whose container is `container_id`, or null.
  ExecutorRecord* FindExecutorOfContainer(const std::string& container_id);
  bool SendEvent(ExecutorRecord& executor,
                 const mesos::v1::executor::Event& event);
  void SendSubscribed(const FrameworkRecord& framework,
                      ExecutorRecord& executor);
  // InvalidArgument (no 16-byte uuid, TASK_STAGING) or NotFound (a task
  // the executor does not have).
  absl::Status ValidateExecutorUpdate(const ExecutorRecord& executor,
                                      const mesos::v1::TaskStatus& status);

  absl::Status HandleExecutorUpdate(const mesos::v1::FrameworkID& framework,
                                    ExecutorRecord& executor,
                                    mesos::v1::TaskStatus status);
  // Takes `status` into the streams and, when new, into the task's record.
  absl::StatusOr<bool> TakeUpdate(
      const mesos::v1::FrameworkID& framework,
      const mesos::v1::TaskStatus& status,
      std::function<void(const absl::Status&)> on_checkpointed = nullptr);
  // The task's task.updates when its framework checkpoints, else "".
  std::string UpdatesPath(const std::string& framework,
                          const std::string& task);
  bool Checkpointing(const std::string& framework) const;
  RunIds RunOf(const ExecutorRecord& executor) const;
  // Recovery (container_recovery.cc).
  void RecoverExecutor(FrameworkRecord& framework,
                       const ExecutorCheckpoint& checkpoint);
  mesos::v1::Task RecoveredTask(const TaskCheckpoint& checkpoint) const;
  void EndUnadoptedExecutor(FrameworkRecord& framework,
                            ExecutorRecord& executor);
  // A recovered executor resubscribed: its tasks the executor does not
  // know were never delivered.
  void OnRecoveredExecutorSubscribed(const mesos::v1::executor::Call& call,
                                     ExecutorRecord& executor);
  void DoneAwaiting(const std::string& container_id);
  // An update made by the agent itself (fresh uuid, SOURCE_AGENT).
  void SendAgentUpdate(
      const mesos::v1::FrameworkID& framework,
      const mesos::v1::ExecutorID& executor, const mesos::v1::TaskID& task,
      mesos::v1::TaskState state, mesos::v1::TaskStatus::Reason reason,
      const std::string& message,
      const std::optional<mesos::v1::TaskResourceLimitation>& limitation =
          std::nullopt);

  void OnContainerExited(const std::string& container_id, int wait_status,
                         const std::optional<ContainerLimitation>& limitation);
  void OnRegistrationTimeout(const std::string& framework,
                             const std::string& executor,
                             const std::string& container_id);
  void OnShutdownGraceElapsed(const std::string& framework,
                              const std::string& executor,
                              const std::string& container_id);
  void FailUnfinishedTasks(FrameworkRecord& framework,
                           ExecutorRecord& executor);
  // Forgets `executor` if it has exited and has no task left to complete,
  // and its framework if that leaves it empty.
  // Takes copies: the records the names may come from go away here.
  void MaybeRemoveExecutor(std::string framework, std::string executor);

  Options options_;
  EventLoop* const loop_;
  MetricsRegistry* const metrics_;
  const Callbacks callbacks_;
  mesos::v1::AgentInfo agent_info_;
  Checkpointer* checkpointer_ = nullptr;
  // Container ids of recovered executors not yet resubscribed.
  std::set<std::string> awaiting_;
  std::set<std::string> nudged_;  // Signalled, not yet resubscribed.
  bool nudging_ = false;          // NudgeAwaitingExecutors() was called.
  std::map<std::string, FrameworkRecord> frameworks_;
  std::deque<FrameworkRecord> completed_frameworks_;
  bool terminating_ = false;  // The agent is shutting down.
  bool keep_checkpointing_ = false;
  // Container id -> (framework, executor) of the executors not yet removed.
  std::map<std::string, std::pair<std::string, std::string>> by_container_;
  std::deque<QueuedLaunch> launch_queue_;
  bool launch_posted_ = false;
  Containerizer containerizer_;  // Last: its callbacks use the above.
};

// TASK_DROPPED for a PARTITION_AWARE framework, TASK_LOST otherwise.
mesos::v1::TaskState LostOrDropped(const mesos::v1::FrameworkInfo& framework);

// "exited with status 3" / "terminated with signal SIGKILL", as Mesos's
// WSTRINGIFY (with the signal's name).
std::string DescribeWaitStatus(int wait_status);

}  // namespace agora

#endif  // AGORA_AGENT_CONTAINER_MANAGER_H_
