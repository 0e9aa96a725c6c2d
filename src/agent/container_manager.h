// ContainerManager: the agent's executors and their tasks. It launches an
// executor per new ExecutorInfo (the command executor for command tasks)
// through the Launcher in a fresh sandbox, delivers tasks once the
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
// With a Cgroups2Isolator, each executor's container is a cgroup holding the
// executor and its tasks (limits from their summed resources, the command
// executor's 0.1 cpus / 32 MB included); it is destroyed (cgroup.kill,
// rmdir) when the executor exits.
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
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
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
  bool has_cgroup = false;  // The container's cgroup exists.
  // Accepted, waiting in the launch queue: no sandbox, cgroup or process
  // yet (state kRegistering).
  bool launch_pending = false;
  ContainerResources container_resources;
  EventLoop::TimerId registration_timer = 0;
  EventLoop::TimerId shutdown_timer = 0;
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
  };
  struct Callbacks {
    // Takes an update into the status-update streams: true when new, false
    // for a duplicate; an error rejects it.
    std::function<absl::StatusOr<bool>(const mesos::v1::FrameworkID&,
                                       const mesos::v1::TaskStatus&)>
        status_update;
    std::function<void(const agora::internal::ExecutorExited&)> executor_exited;
    std::function<void(const agora::internal::ExecutorToFramework&)>
        executor_message;
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
  void set_isolator(Cgroups2Isolator* isolator);
  Cgroups2Isolator* isolator() const { return isolator_; }
  // Removes every container cgroup (agent shutdown, after the executors
  // were killed and reaped). Returns how many failed.
  int DestroyAllContainers();

  // The agent's info with its id; set on (re)registration, before tasks.
  void set_agent_info(const mesos::v1::AgentInfo& info) { agent_info_ = info; }

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

  // Agent shutdown: SIGKILL to every live executor's process tree; from now
  // on executor exits make no status updates (the master learns of the
  // agent's departure instead). Returns how many were signalled.
  int KillAllExecutors();
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
  // Reads memory.events; on a new OOM kill records the limitation on
  // `executor` and returns true.
  bool CheckOom(ExecutorRecord& executor);
  void OnOomCheckTimer();
  // Adds `task`'s resources and limits to its executor's container and
  // rewrites the cgroup's limits.
  absl::Status GrowContainer(ExecutorRecord& executor,
                             const mesos::v1::TaskInfo& task);
  // Removes the container's cgroup; while its killed processes are still
  // leaving, retries on loop timers up to the isolator's destroy_timeout.
  void DestroyCgroup(ExecutorRecord& executor);
  void RetryDestroy(const std::string& container_id, absl::Time deadline,
                    absl::Duration backoff);
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
  absl::StatusOr<bool> TakeUpdate(const mesos::v1::FrameworkID& framework,
                                  const mesos::v1::TaskStatus& status);
  // An update made by the agent itself (fresh uuid, SOURCE_AGENT).
  void SendAgentUpdate(
      const mesos::v1::FrameworkID& framework,
      const mesos::v1::ExecutorID& executor, const mesos::v1::TaskID& task,
      mesos::v1::TaskState state, mesos::v1::TaskStatus::Reason reason,
      const std::string& message,
      const std::optional<mesos::v1::TaskResourceLimitation>& limitation =
          std::nullopt);

  void OnExecutorExited(const std::string& framework,
                        const std::string& executor,
                        const std::string& container_id, int wait_status);
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
  Launcher* const launcher_;
  Cgroups2Isolator* isolator_ = nullptr;
  EventLoop::TimerId oom_timer_ = 0;
  MetricsRegistry* const metrics_;
  const Callbacks callbacks_;
  mesos::v1::AgentInfo agent_info_;
  std::map<std::string, FrameworkRecord> frameworks_;
  std::deque<FrameworkRecord> completed_frameworks_;
  bool terminating_ = false;  // The agent is shutting down.
  // Containers whose cgroup removal waits for a retry.
  std::map<std::string, EventLoop::TimerId> destroy_timers_;
  std::deque<QueuedLaunch> launch_queue_;
  bool launch_posted_ = false;
};

// TASK_DROPPED for a PARTITION_AWARE framework, TASK_LOST otherwise.
mesos::v1::TaskState LostOrDropped(const mesos::v1::FrameworkInfo& framework);

// "exited with status 3" / "terminated with signal SIGKILL", as Mesos's
// WSTRINGIFY (with the signal's name).
std::string DescribeWaitStatus(int wait_status);

}  // namespace agora

#endif  // AGORA_AGENT_CONTAINER_MANAGER_H_
