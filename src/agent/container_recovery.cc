// ContainerManager, recovery: the executors and tasks of an earlier agent,
// rebuilt from its checkpoint at start-up (docs/recovery.md).
#include <signal.h>

#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/container_manager.h"
#include "common/flags_util.h"
#include "common/task_states.h"
#include "glog/logging.h"

namespace agora {
namespace {

using State = ExecutorRecord::State;

// The command executors the agent makes are named so (executor_launch.h);
// the master tells them apart the same way.
bool IsCommandExecutor(const mesos::v1::ExecutorInfo& info) {
  return absl::StartsWith(info.name(), "Command Executor");
}

mesos::v1::TaskInfo TaskInfoOf(const mesos::v1::Task& task) {
  mesos::v1::TaskInfo info;
  info.set_name(task.name());
  *info.mutable_task_id() = task.task_id();
  *info.mutable_resources() = task.resources();
  *info.mutable_limits() = task.limits();
  return info;
}

Containerizer::Known KnownOf(const RunIds& ids, std::optional<pid_t> pid,
                             uint64_t start_time) {
  Containerizer::Known known;
  known.id = ids.container;
  known.pid = pid;
  known.start_time = start_time;
  return known;
}

}  // namespace

mesos::v1::Task ContainerManager::RecoveredTask(
    const TaskCheckpoint& checkpoint) const {
  mesos::v1::Task task = checkpoint.task;
  for (const agora::internal::StatusUpdate& update : checkpoint.updates) {
    task.set_state(update.status().state());
    mesos::v1::TaskStatus* kept = task.add_statuses();
    *kept = update.status();
    kept->clear_data();
    if (task.statuses_size() > 10) {
      task.mutable_statuses()->DeleteSubrange(0, 1);
    }
  }
  return task;
}

void ContainerManager::RecoverExecutor(FrameworkRecord& framework,
                                       const ExecutorCheckpoint& checkpoint) {
  const RunCheckpoint& run = *checkpoint.run;
  const std::string& fid = framework.info.id().value();
  const std::string& eid = checkpoint.info.executor_id().value();
  ExecutorRecord& executor = framework.executors[eid];
  executor.info = checkpoint.info;
  executor.command_executor = IsCommandExecutor(checkpoint.info);
  executor.container_id = run.ids.container;
  executor.directory = SandboxPath(options_.work_dir, run.ids.agent, fid, eid,
                                   run.ids.container);
  executor.ever_sent_task = true;
  executor.state = run.completed ? State::kTerminated : State::kRegistering;
  by_container_[executor.container_id] = {fid, eid};
  // The container's resources: the executor's and its tasks' (the limits
  // of an adopted cgroup are left as they are).
  bool first = true;
  for (const auto& [tid, task_checkpoint] : run.tasks) {
    mesos::v1::Task task = RecoveredTask(task_checkpoint);
    mesos::v1::TaskInfo info = TaskInfoOf(task);
    if (first) {
      absl::StatusOr<ContainerResources> resources =
          ContainerResourcesOf(executor, info);
      if (resources.ok()) executor.container_resources = *resources;
    } else {
      GrowContainer(executor, info).IgnoreError();
    }
    first = false;
    executor.tasks[tid] = std::move(task);
  }
}

int ContainerManager::Recover(const CheckpointState& state) {
  DCHECK(loop_->IsLoopThread());
  std::vector<Containerizer::Known> known;
  for (const auto& [fid, checkpoint] : state.frameworks) {
    FrameworkRecord& framework = frameworks_[fid];
    framework.info = checkpoint.info;
    for (const auto& [eid, executor] : checkpoint.executors) {
      if (!executor.run) continue;
      RecoverExecutor(framework, executor);
      const RunCheckpoint& run = *executor.run;
      if (run.completed) continue;
      Containerizer::Known k = KnownOf(run.ids, run.pid, run.start_time);
      k.resources = framework.executors[eid].container_resources;
      known.push_back(std::move(k));
    }
  }
  for (const SkippedRun& skipped : state.skipped) {
    // Not recovered (--strict=false): not adopted, so destroyed below.
    known.push_back(KnownOf(skipped.ids, skipped.pid, skipped.start_time));
  }
  std::set<std::string> adopted = containerizer_.Recover(known);
  std::vector<std::pair<std::string, std::string>> ended;
  for (auto& [fid, framework] : frameworks_) {
    for (auto& [eid, executor] : framework.executors) {
      if (adopted.count(executor.container_id)) {
        executor.pid = *containerizer_.pid(executor.container_id);
        executor.recovered = true;
        awaiting_.insert(executor.container_id);
        LOG(INFO) << "Recovered executor '" << eid << "' of framework " << fid
                  << " (pid " << executor.pid << ", " << executor.tasks.size()
                  << " tasks); waiting for it to resubscribe";
      } else {
        ended.emplace_back(fid, eid);
      }
    }
  }
  for (const auto& [fid, eid] : ended) {
    EndUnadoptedExecutor(frameworks_[fid], *FindExecutor(fid, eid));
  }
  return static_cast<int>(adopted.size());
}

void ContainerManager::EndUnadoptedExecutor(FrameworkRecord& framework,
                                            ExecutorRecord& executor) {
  const std::string fid = framework.info.id().value();
  const std::string eid = executor.info.executor_id().value();
  bool was_running = executor.state != State::kTerminated;
  executor.state = State::kTerminated;
  executor.pid = 0;
  if (was_running) {
    LOG(INFO) << "Executor '" << eid << "' of framework " << fid
              << " did not survive the agent's restart";
    std::vector<std::pair<mesos::v1::TaskID, bool>> unfinished;
    for (const auto& [tid, task] : executor.tasks) {
      if (IsTerminalState(task.state())) continue;
      unfinished.emplace_back(task.task_id(),
                              task.state() == mesos::v1::TASK_STAGING);
    }
    for (const auto& [task, staging] : unfinished) {
      if (staging) {
        SendAgentUpdate(framework.info.id(), executor.info.executor_id(), task,
                        LostOrDropped(framework.info),
                        mesos::v1::TaskStatus::REASON_AGENT_RESTARTED,
                        "Task launched during agent restart");
      } else {
        SendAgentUpdate(framework.info.id(), executor.info.executor_id(), task,
                        mesos::v1::TASK_FAILED,
                        mesos::v1::TaskStatus::REASON_EXECUTOR_TERMINATED,
                        "Executor terminated while the agent was down");
      }
    }
    if (Checkpointing(fid)) checkpointer_->Sentinel(RunOf(executor));
    metrics_->Increment("slave/executors_terminated");
  }
  MaybeRemoveExecutor(fid, eid);
}

void ContainerManager::OnRecoveredExecutorSubscribed(
    const mesos::v1::executor::Call& call, ExecutorRecord& executor) {
  executor.recovered = false;
  std::set<std::string> known;
  for (const auto& task : call.subscribe().unacknowledged_tasks()) {
    known.insert(task.task_id().value());
  }
  // As Mesos: a task still STAGING that the executor does not list never
  // reached it before the agent died.
  std::vector<mesos::v1::TaskID> dropped;
  for (const auto& [tid, task] : executor.tasks) {
    if (task.state() == mesos::v1::TASK_STAGING && !known.count(tid)) {
      dropped.push_back(task.task_id());
    }
  }
  const FrameworkRecord& framework =
      frameworks_[executor.info.framework_id().value()];
  for (const mesos::v1::TaskID& task : dropped) {
    SendAgentUpdate(framework.info.id(), executor.info.executor_id(), task,
                    LostOrDropped(framework.info),
                    mesos::v1::TaskStatus::REASON_AGENT_RESTARTED,
                    "Task launched during agent restart");
  }
  DoneAwaiting(executor.container_id);
}

int ContainerManager::NudgeAwaitingExecutors(bool again) {
  nudging_ = true;
  if (again) nudged_.clear();
  int signalled = 0;
  for (const std::string& cid : awaiting_) {
    if (nudged_.size() >= kNudgeWindow) break;
    if (nudged_.count(cid)) continue;
    ExecutorRecord* executor = FindExecutorOfContainer(cid);
    if (executor == nullptr || !executor->command_executor) continue;
    // agora-executor resubscribes at once on SIGUSR2 (command_executor.h).
    if (containerizer_.SignalMain(cid, SIGUSR2).ok()) {
      nudged_.insert(cid);
      ++signalled;
    }
  }
  return signalled;
}

void ContainerManager::DoneAwaiting(const std::string& container_id) {
  if (awaiting_.erase(container_id) == 0) return;
  nudged_.erase(container_id);
  if (nudging_) NudgeAwaitingExecutors();
  if (callbacks_.executor_reregistered) {
    callbacks_.executor_reregistered(awaiting_.size());
  }
}

void ContainerManager::OnReregistrationTimeout(absl::Duration timeout) {
  std::vector<std::string> late(awaiting_.begin(), awaiting_.end());
  std::vector<std::string> kill;
  for (const std::string& cid : late) {
    ExecutorRecord* executor = FindExecutorOfContainer(cid);
    if (executor == nullptr) continue;
    LOG(INFO) << "Executor '" << executor->info.executor_id().value()
              << "' of framework " << executor->info.framework_id().value()
              << " did not resubscribe within " << FormatMesosDuration(timeout)
              << "; destroying container " << cid;
    executor->recovered = false;
    executor->state = State::kTerminating;
    executor->termination_reason =
        mesos::v1::TaskStatus::REASON_EXECUTOR_REREGISTRATION_TIMEOUT;
    executor->termination_message = absl::StrCat(
        "Executor did not reregister within ", FormatMesosDuration(timeout));
    kill.push_back(cid);
  }
  containerizer_.KillMany(kill);  // Their exits fail their tasks.
  awaiting_.clear();
  nudged_.clear();
  if (!late.empty() && callbacks_.executor_reregistered) {
    callbacks_.executor_reregistered(0);
  }
}

void ContainerManager::DestroyCheckpointedContainers(
    const CheckpointState& state) {
  std::vector<Containerizer::Known> known;
  for (const auto& [fid, framework] : state.frameworks) {
    for (const auto& [eid, executor] : framework.executors) {
      if (executor.run && !executor.run->completed) {
        known.push_back(KnownOf(executor.run->ids, executor.run->pid,
                                executor.run->start_time));
      }
    }
  }
  for (const SkippedRun& skipped : state.skipped) {
    known.push_back(KnownOf(skipped.ids, skipped.pid, skipped.start_time));
  }
  containerizer_.DestroyUnadopted(known);
  containerizer_.Recover({});  // And every cgroup nobody knows.
}

}  // namespace agora
