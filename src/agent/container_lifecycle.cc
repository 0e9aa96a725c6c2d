// ContainerManager, second half: kills, shutdowns, executor exits and the
// clean-up of finished executors and frameworks.
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "agent/container_manager.h"
#include "agent/status_update_manager.h"
#include "common/flags_util.h"
#include "glog/logging.h"

namespace agora {

using mesos::v1::executor::Event;
using State = ExecutorRecord::State;

void ContainerManager::KillTask(
    const mesos::v1::FrameworkID& framework_id, const mesos::v1::TaskID& task,
    const std::optional<mesos::v1::KillPolicy>& policy) {
  DCHECK(loop_->IsLoopThread());
  const std::string& tid = task.value();
  LOG(INFO) << "Asked to kill task '" << tid << "' of framework "
            << framework_id.value();
  auto f = frameworks_.find(framework_id.value());
  if (f == frameworks_.end() || f->second.terminating) {
    LOG(WARNING) << "Ignoring kill of task '" << tid << "': framework "
                 << framework_id.value() << " is not running here";
    return;
  }
  FrameworkRecord& framework = f->second;
  ExecutorRecord* executor = FindExecutorOfTask(framework, tid);
  if (executor == nullptr) {
    LOG(WARNING) << "Cannot kill task '" << tid
                 << "': no corresponding executor is running";
    mesos::v1::ExecutorID none;
    none.set_value(tid);
    SendAgentUpdate(framework_id, none, task, LostOrDropped(framework.info),
                    mesos::v1::TaskStatus::REASON_EXECUTOR_TERMINATED,
                    "Cannot find executor");
    return;
  }
  if (IsTerminalState(executor->tasks[tid].state())) {
    LOG(WARNING) << "Ignoring kill of task '" << tid << "': already terminal";
    return;
  }
  if (executor->state == State::kTerminating ||
      executor->state == State::kTerminated) {
    LOG(WARNING) << "Ignoring kill of task '" << tid << "': executor '"
                 << executor->info.executor_id().value() << "' is terminating";
    return;
  }
  if (executor->queued.count(tid)) {
    KillQueuedTask(framework, *executor, tid);
    return;
  }
  SendKill(*executor, tid, policy);
}

void ContainerManager::KillQueuedTask(FrameworkRecord& framework,
                                      ExecutorRecord& executor,
                                      const std::string& tid) {
  mesos::v1::TaskID task;
  task.set_value(tid);
  executor.queued.erase(tid);
  SendAgentUpdate(framework.info.id(), executor.info.executor_id(), task,
                  mesos::v1::TASK_KILLED,
                  mesos::v1::TaskStatus::REASON_TASK_KILLED_DURING_LAUNCH,
                  "Killed before delivery to the executor");
  // An executor that never got a task has nothing left to do (MESOS-8411).
  if (!executor.ever_sent_task && executor.queued.empty()) {
    ShutdownExecutor(framework.info.id(), executor.info.executor_id());
  }
}

void ContainerManager::SendKill(
    ExecutorRecord& executor, const std::string& tid,
    const std::optional<mesos::v1::KillPolicy>& policy) {
  Event kill;
  kill.set_type(Event::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value(tid);
  if (policy) *kill.mutable_kill()->mutable_kill_policy() = *policy;
  if (!SendEvent(executor, kill)) {
    LOG(INFO) << "Executor '" << executor.info.executor_id().value()
              << "' is disconnected; the kill of task '" << tid
              << "' waits for it to resubscribe";
    executor.pending_kills[tid] = policy;
    return;
  }
  LOG(INFO) << "Sent KILL for task '" << tid << "' to executor '"
            << executor.info.executor_id().value() << "'";
}

void ContainerManager::ShutdownExecutor(const mesos::v1::FrameworkID& fid,
                                        const mesos::v1::ExecutorID& eid) {
  DCHECK(loop_->IsLoopThread());
  ExecutorRecord* executor = FindExecutor(fid.value(), eid.value());
  if (executor == nullptr || executor->state == State::kTerminating ||
      executor->state == State::kTerminated) {
    return;
  }
  LOG(INFO) << "Shutting down executor '" << eid.value() << "' of framework "
            << fid.value();
  executor->state = State::kTerminating;
  if (executor->launch_pending) {
    FinishUnstartedExecutor(frameworks_[fid.value()], *executor);
    return;
  }
  if (executor->registration_timer) loop_->Cancel(executor->registration_timer);
  executor->registration_timer = 0;
  Event shutdown;
  shutdown.set_type(Event::SHUTDOWN);
  if (!SendEvent(*executor, shutdown)) {
    KillExecutorProcess(*executor);
    return;
  }
  absl::Duration grace = options_.executor_shutdown_grace_period;
  if (executor->info.has_shutdown_grace_period()) {
    grace =
        absl::Nanoseconds(executor->info.shutdown_grace_period().nanoseconds());
  }
  std::string f = fid.value(), e = eid.value(), c = executor->container_id;
  executor->shutdown_timer = loop_->PostAfter(
      grace, [this, f, e, c] { OnShutdownGraceElapsed(f, e, c); });
}

void ContainerManager::OnShutdownGraceElapsed(const std::string& fid,
                                              const std::string& eid,
                                              const std::string& cid) {
  ExecutorRecord* executor = FindExecutor(fid, eid);
  if (executor == nullptr || executor->container_id != cid) return;
  executor->shutdown_timer = 0;
  if (executor->pid == 0) return;
  LOG(INFO) << "Executor '" << eid << "' of framework " << fid
            << " did not exit within its shutdown grace period; killing it";
  KillExecutorProcess(*executor);
}

void ContainerManager::OnRegistrationTimeout(const std::string& fid,
                                             const std::string& eid,
                                             const std::string& cid) {
  ExecutorRecord* executor = FindExecutor(fid, eid);
  if (executor == nullptr || executor->container_id != cid) return;
  executor->registration_timer = 0;
  if (executor->state != State::kRegistering) return;
  LOG(INFO) << "Executor '" << eid << "' of framework " << fid
            << " did not subscribe within "
            << FormatMesosDuration(options_.executor_registration_timeout)
            << "; destroying container " << cid;
  executor->state = State::kTerminating;
  executor->termination_reason =
      mesos::v1::TaskStatus::REASON_EXECUTOR_REGISTRATION_TIMEOUT;
  executor->termination_message =
      absl::StrCat("Executor did not register within ",
                   FormatMesosDuration(options_.executor_registration_timeout));
  KillExecutorProcess(*executor);
}

void ContainerManager::KillExecutorProcess(ExecutorRecord& executor) {
  if (executor.pid == 0) return;
  absl::Status st = containerizer_.Kill(executor.container_id);
  if (!st.ok()) {
    LOG(WARNING) << "Failed to kill executor '"
                 << executor.info.executor_id().value() << "': " << st;
  }
}

void ContainerManager::ShutdownFramework(const mesos::v1::FrameworkID& fid) {
  auto f = frameworks_.find(fid.value());
  if (f == frameworks_.end()) return;
  LOG(INFO) << "Shutting down framework " << fid.value();
  f->second.terminating = true;
  std::vector<std::string> ids;
  for (const auto& [eid, executor] : f->second.executors) ids.push_back(eid);
  for (const std::string& eid : ids) {
    mesos::v1::ExecutorID id;
    id.set_value(eid);
    ShutdownExecutor(fid, id);
    MaybeRemoveExecutor(fid.value(), eid);  // Already exited ones go now.
  }
}

void ContainerManager::FrameworkMessage(
    const agora::internal::FrameworkToExecutor& message) {
  ExecutorRecord* executor = FindExecutor(message.framework_id().value(),
                                          message.executor_id().value());
  Event event;
  event.set_type(Event::MESSAGE);
  event.mutable_message()->set_data(message.data());
  if (executor == nullptr || executor->state != State::kRunning ||
      !SendEvent(*executor, event)) {
    LOG(WARNING) << "Dropping framework message for executor '"
                 << message.executor_id().value() << "' of framework "
                 << message.framework_id().value() << ": not connected";
    metrics_->Increment("slave/invalid_framework_messages");
    return;
  }
  metrics_->Increment("slave/valid_framework_messages");
}

void ContainerManager::OnContainerExited(
    const std::string& cid, int wait_status,
    const std::optional<ContainerLimitation>& limitation) {
  DCHECK(loop_->IsLoopThread());
  ExecutorRecord* executor = FindExecutorOfContainer(cid);
  if (executor == nullptr) return;
  const std::string fid = executor->info.framework_id().value();
  const std::string eid = executor->info.executor_id().value();
  FrameworkRecord& framework = frameworks_[fid];
  LOG(INFO) << "Executor '" << eid << "' of framework " << fid << " "
            << DescribeWaitStatus(wait_status);
  if (limitation && !executor->limitation) {
    ApplyLimitation(*executor, *limitation);
  }
  executor->pid = 0;
  executor->state = State::kTerminated;
  metrics_->Increment("slave/executors_terminated");
  for (EventLoop::TimerId* t :
       {&executor->registration_timer, &executor->shutdown_timer}) {
    if (*t) loop_->Cancel(*t);
    *t = 0;
  }
  if (executor->stream) executor->stream->Close(grpc::Status::OK);
  executor->stream.reset();
  bool failed_tasks = false;
  if (!framework.terminating && !terminating_) {
    for (const auto& [tid, task] : executor->tasks) {
      failed_tasks |= !IsTerminalState(task.state());
    }
    FailUnfinishedTasks(framework, *executor);
  }
  if (Checkpointing(fid) && !terminating_) {
    checkpointer_->Sentinel(RunOf(*executor));
  }
  DoneAwaiting(cid);
  // Mesos reports the exit of custom executors only; a command executor's
  // is reported when it took tasks down with it.
  if (!terminating_ && (!executor->command_executor || failed_tasks)) {
    agora::internal::ExecutorExited exited;
    *exited.mutable_framework_id() = framework.info.id();
    *exited.mutable_executor_id() = executor->info.executor_id();
    exited.set_status(wait_status);
    callbacks_.executor_exited(exited);
  }
  MaybeRemoveExecutor(fid, eid);
}

void ContainerManager::FailUnfinishedTasks(FrameworkRecord& framework,
                                           ExecutorRecord& executor) {
  std::vector<mesos::v1::TaskID> unfinished;
  for (const auto& [tid, task] : executor.tasks) {
    if (!IsTerminalState(task.state())) unfinished.push_back(task.task_id());
  }
  for (const mesos::v1::TaskID& task : unfinished) {
    SendAgentUpdate(framework.info.id(), executor.info.executor_id(), task,
                    mesos::v1::TASK_FAILED, executor.termination_reason,
                    executor.termination_message, executor.limitation);
  }
  executor.queued.clear();
}

void ContainerManager::OnTaskStreamDone(const mesos::v1::FrameworkID& fid,
                                        const mesos::v1::TaskID& task) {
  DCHECK(loop_->IsLoopThread());
  auto f = frameworks_.find(fid.value());
  if (f == frameworks_.end()) return;
  ExecutorRecord* executor = FindExecutorOfTask(f->second, task.value());
  if (executor == nullptr) return;
  auto t = executor->tasks.find(task.value());
  executor->completed_tasks.push_back(std::move(t->second));
  executor->tasks.erase(t);
  if (executor->completed_tasks.size() > kMaxCompletedTasks) {
    executor->completed_tasks.pop_front();
  }
  MaybeRemoveExecutor(fid.value(), executor->info.executor_id().value());
}

void ContainerManager::MaybeRemoveExecutor(std::string fid, std::string eid) {
  auto f = frameworks_.find(fid);
  if (f == frameworks_.end()) return;
  FrameworkRecord& framework = f->second;
  auto e = framework.executors.find(eid);
  if (e == framework.executors.end()) return;
  ExecutorRecord& executor = e->second;
  if (executor.state != State::kTerminated) return;
  if (!executor.tasks.empty() && !framework.terminating) return;
  for (auto& [tid, task] : executor.tasks) {
    executor.completed_tasks.push_back(std::move(task));
  }
  executor.tasks.clear();
  LOG(INFO) << "Cleaned up executor '" << eid << "' of framework " << fid;
  if (Checkpointing(fid)) checkpointer_->RemoveExecutor(fid, eid);
  by_container_.erase(executor.container_id);
  framework.completed_executors.push_back(std::move(executor));
  framework.executors.erase(e);
  if (framework.completed_executors.size() > kMaxCompletedExecutors) {
    framework.completed_executors.pop_front();
  }
  if (framework.executors.empty()) {
    LOG(INFO) << "Cleaned up framework " << fid;
    if (Checkpointing(fid)) checkpointer_->RemoveFramework(fid);
    completed_frameworks_.push_back(std::move(framework));
    frameworks_.erase(f);
    if (completed_frameworks_.size() > kMaxCompletedFrameworks) {
      completed_frameworks_.pop_front();
    }
  }
}

int ContainerManager::KillAllExecutors(bool keep_checkpointing) {
  terminating_ = true;
  keep_checkpointing_ = keep_checkpointing;
  int killed = 0;
  for (auto& [fid, framework] : frameworks_) {
    // Mesos's Slave::finalize: a checkpointing framework's executors stay,
    // for the agent that comes back to reconnect to.
    if (keep_checkpointing_ && framework.info.checkpoint()) continue;
    for (auto& [eid, executor] : framework.executors) {
      if (executor.pid == 0) continue;
      LOG(INFO) << "Killing executor '" << eid << "' of framework " << fid
                << " (pid " << executor.pid << ")";
      KillExecutorProcess(executor);
      ++killed;
    }
  }
  return killed;
}

int ContainerManager::KilledExecutorsLeft() const {
  int live = 0;
  for (const auto& [fid, framework] : frameworks_) {
    for (const auto& [eid, executor] : framework.executors) {
      if (keep_checkpointing_ && framework.info.checkpoint()) continue;
      if (executor.pid != 0) ++live;
    }
  }
  return live;
}

int ContainerManager::LiveExecutorCount() const {
  int live = 0;
  for (const auto& [fid, framework] : frameworks_) {
    for (const auto& [eid, executor] : framework.executors) {
      if (executor.pid != 0) ++live;
    }
  }
  return live;
}

}  // namespace agora
