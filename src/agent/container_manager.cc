#include "agent/container_manager.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/status_update_manager.h"
#include "common/flags_util.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "glog/logging.h"

namespace agora {

using mesos::v1::executor::Call;
using mesos::v1::executor::Event;

mesos::v1::TaskState LostOrDropped(const mesos::v1::FrameworkInfo& framework) {
  for (const auto& c : framework.capabilities()) {
    if (c.type() == mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE) {
      return mesos::v1::TASK_DROPPED;
    }
  }
  return mesos::v1::TASK_LOST;
}

std::string DescribeWaitStatus(int wait_status) {
  if (wait_status == -1) return "terminated with unknown status";
  if (WIFEXITED(wait_status)) {
    return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(wait_status));
    return absl::StrCat("terminated with signal ",
                        abbrev ? absl::StrCat("SIG", abbrev)
                               : absl::StrCat(WTERMSIG(wait_status)));
  }
  return absl::StrCat("wait status ", wait_status);
}

namespace {

Containerizer::Options ContainerizerOptions(
    const ContainerManager::Options& o) {
  Containerizer::Options c;
  c.pid_namespace = o.pid_namespace;
  c.private_tmp = o.private_tmp;
  c.oom_check_interval = o.oom_check_interval;
  return c;
}

}  // namespace

ContainerManager::ContainerManager(Options options, EventLoop* loop,
                                   Launcher* launcher, MetricsRegistry* metrics,
                                   Callbacks callbacks)
    : options_(std::move(options)),
      loop_(loop),
      metrics_(metrics),
      callbacks_(std::move(callbacks)),
      containerizer_(
          ContainerizerOptions(options_), loop, launcher, metrics,
          Containerizer::Callbacks{
              [this](const std::string& id, int wait_status,
                     const std::optional<ContainerLimitation>& limitation) {
                OnContainerExited(id, wait_status, limitation);
              },
              [this](const std::string& id, const ContainerLimitation& limit) {
                OnContainerLimited(id, limit);
              }}) {}

ContainerManager::~ContainerManager() {
  for (auto& [fid, framework] : frameworks_) {
    for (auto& [eid, executor] : framework.executors) {
      if (executor.registration_timer)
        loop_->Cancel(executor.registration_timer);
      if (executor.shutdown_timer) loop_->Cancel(executor.shutdown_timer);
    }
  }
}

ExecutorRecord* ContainerManager::FindExecutorOfContainer(
    const std::string& container_id) {
  auto it = by_container_.find(container_id);
  if (it == by_container_.end()) return nullptr;
  ExecutorRecord* executor = FindExecutor(it->second.first, it->second.second);
  if (executor == nullptr || executor->container_id != container_id) {
    return nullptr;
  }
  return executor;
}

namespace {

void AddScalars(
    const google::protobuf::RepeatedPtrField<mesos::v1::Resource>& resources,
    double* cpus, double* mem, std::optional<double>* pids) {
  for (const mesos::v1::Resource& r : resources) {
    if (r.type() != mesos::v1::Value::SCALAR) continue;
    double v = r.scalar().value();
    if (r.name() == "cpus") *cpus += v;
    if (r.name() == "mem") *mem += v;
    if (r.name() == "pids") *pids = pids->value_or(0) + v;
  }
}

}  // namespace

absl::StatusOr<ContainerResources> ContainerManager::ContainerResourcesOf(
    const ExecutorRecord& executor, const mesos::v1::TaskInfo& task) const {
  ContainerResources r;
  double executor_cpus = 0, executor_mem = 0;
  std::optional<double> executor_pids;
  AddScalars(executor.info.resources(), &executor_cpus, &executor_mem,
             &executor_pids);
  AddScalars(task.resources(), &r.cpus, &r.mem_mb, &r.pids);
  for (const auto& [name, value] : task.limits()) {
    if (name != "cpus" && name != "mem") continue;
    double v = value.value();
    if (std::isnan(v) || v < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "limit '", name, "' must be a non-negative number, got ", v));
    }
    if (name == "cpus") r.cpus_limit = v;
    if (name == "mem") r.mem_limit_mb = v;
  }
  // The container holds the executor too: its overhead is added to the
  // requests and to any finite limit (docs/cgroups.md).
  for (auto [request, limit, overhead] :
       {std::make_tuple(&r.cpus, &r.cpus_limit, executor_cpus),
        std::make_tuple(&r.mem_mb, &r.mem_limit_mb, executor_mem)}) {
    if (std::isnan(*request) || *request < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "resources must be finite non-negative numbers, got ", *request));
    }
    if (*limit && *limit < *request) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a limit (", **limit, ") is below its request (", *request, ")"));
    }
    *request += overhead;
    if (*limit && !std::isinf(**limit)) **limit += overhead;
  }
  if (executor_pids) r.pids = r.pids.value_or(0) + *executor_pids;
  if (options_.total_mem_mb > 0 && r.mem_mb > options_.total_mem_mb) {
    return absl::InvalidArgumentError(
        absl::StrCat("the container needs ", r.mem_mb,
                     " MB of memory (executor included) "
                     "but the agent has ",
                     options_.total_mem_mb, " MB"));
  }
  if (options_.total_cpus > 0 && r.cpus > options_.total_cpus) {
    return absl::InvalidArgumentError(
        absl::StrCat("the container needs ", r.cpus,
                     " cpus (executor included) but the "
                     "agent has ",
                     options_.total_cpus));
  }
  return r;
}

ExecutorRecord* ContainerManager::FindExecutor(const std::string& framework,
                                               const std::string& executor) {
  auto f = frameworks_.find(framework);
  if (f == frameworks_.end()) return nullptr;
  auto e = f->second.executors.find(executor);
  return e == f->second.executors.end() ? nullptr : &e->second;
}

ExecutorRecord* ContainerManager::FindExecutorOfTask(FrameworkRecord& framework,
                                                     const std::string& task) {
  for (auto& [id, executor] : framework.executors) {
    if (executor.tasks.count(task)) return &executor;
  }
  return nullptr;
}

void ContainerManager::RunTask(const mesos::v1::FrameworkInfo& framework_info,
                               const mesos::v1::TaskInfo& task) {
  DCHECK(loop_->IsLoopThread());
  const std::string& fid = framework_info.id().value();
  if (terminating_) {
    LOG(WARNING) << "Ignoring task '" << task.task_id().value()
                 << "': the agent is shutting down";
    return;
  }
  FrameworkRecord& framework = frameworks_[fid];
  framework.info = framework_info;
  if (framework.terminating) {
    LOG(WARNING) << "Ignoring task '" << task.task_id().value()
                 << "' of framework " << fid
                 << ": the framework is shutting down";
    return;
  }
  if (FindExecutorOfTask(framework, task.task_id().value()) != nullptr) {
    // Its stream must not be disturbed by a second launch of the same id.
    LOG(WARNING) << "Ignoring task '" << task.task_id().value()
                 << "' of framework " << fid << ": a task with that id exists";
    return;
  }
  bool command = !task.has_executor();
  mesos::v1::ExecutorInfo info =
      command
          ? CommandExecutorInfo(framework_info, task, options_.executor_path)
          : task.executor();
  *info.mutable_framework_id() = framework_info.id();
  ExecutorRecord* executor = FindExecutor(fid, info.executor_id().value());
  if (executor == nullptr) {
    LaunchExecutor(framework, std::move(info), command, task);
    return;
  }
  AddTask(*executor, task);
  if (executor->state == ExecutorRecord::State::kTerminating ||
      executor->state == ExecutorRecord::State::kTerminated) {
    executor->queued.erase(task.task_id().value());
    SendAgentUpdate(framework_info.id(), info.executor_id(), task.task_id(),
                    LostOrDropped(framework_info),
                    mesos::v1::TaskStatus::REASON_EXECUTOR_TERMINATED,
                    "Executor terminating");
    return;
  }
  // A further task of a running executor grows its container.
  absl::Status grown = GrowContainer(*executor, task);
  if (!grown.ok()) {
    LOG(WARNING) << "Cannot add task '" << task.task_id().value()
                 << "' to container " << executor->container_id << ": "
                 << grown;
    executor->queued.erase(task.task_id().value());
    SendAgentUpdate(
        framework_info.id(), info.executor_id(), task.task_id(),
        mesos::v1::TASK_FAILED,
        mesos::v1::TaskStatus::REASON_CONTAINER_UPDATE_FAILED,
        absl::StrCat("Failed to update container: ", grown.message()));
    return;
  }
  if (executor->state == ExecutorRecord::State::kRunning) {
    DeliverQueuedTasks(*executor);
  }
}

absl::Status ContainerManager::GrowContainer(ExecutorRecord& executor,
                                             const mesos::v1::TaskInfo& task) {
  ExecutorRecord probe;  // The task alone, without executor overhead.
  AGORA_ASSIGN_OR_RETURN(ContainerResources add,
                         ContainerResourcesOf(probe, task));
  ContainerResources r = executor.container_resources;
  r.cpus += add.cpus;
  r.mem_mb += add.mem_mb;
  if (add.pids) r.pids = r.pids.value_or(0) + *add.pids;
  // A limit applies to the container only when every task has one.
  if (r.cpus_limit && add.cpus_limit) {
    *r.cpus_limit += *add.cpus_limit;
  } else {
    r.cpus_limit.reset();
  }
  if (r.mem_limit_mb && add.mem_limit_mb) {
    *r.mem_limit_mb += *add.mem_limit_mb;
  } else {
    r.mem_limit_mb.reset();
  }
  if (containerizer_.IsLive(executor.container_id)) {
    AGORA_RETURN_IF_ERROR(containerizer_.Update(executor.container_id, r));
  }
  executor.container_resources = r;
  return absl::OkStatus();
}

void ContainerManager::AddTask(ExecutorRecord& executor,
                               const mesos::v1::TaskInfo& info) {
  mesos::v1::Task task;
  task.set_name(info.name());
  *task.mutable_task_id() = info.task_id();
  *task.mutable_framework_id() = executor.info.framework_id();
  *task.mutable_executor_id() = executor.info.executor_id();
  *task.mutable_agent_id() = agent_info_.id();
  task.set_state(mesos::v1::TASK_STAGING);
  *task.mutable_resources() = info.resources();
  if (info.has_labels()) *task.mutable_labels() = info.labels();
  if (info.has_kill_policy()) *task.mutable_kill_policy() = info.kill_policy();
  *task.mutable_limits() = info.limits();
  if (Checkpointing(executor.info.framework_id().value())) {
    checkpointer_->Task(RunOf(executor), task);
  }
  executor.tasks[info.task_id().value()] = task;
  executor.queued[info.task_id().value()] = info;
}

bool ContainerManager::Checkpointing(const std::string& framework) const {
  if (checkpointer_ == nullptr) return false;
  auto f = frameworks_.find(framework);
  return f != frameworks_.end() && f->second.info.checkpoint();
}

RunIds ContainerManager::RunOf(const ExecutorRecord& executor) const {
  return checkpointer_->Run(executor.info.framework_id().value(),
                            executor.info.executor_id().value(),
                            executor.container_id);
}

std::string ContainerManager::UpdatesPath(const std::string& framework,
                                          const std::string& task) {
  if (!Checkpointing(framework)) return "";
  auto f = frameworks_.find(framework);
  ExecutorRecord* executor = FindExecutorOfTask(f->second, task);
  if (executor == nullptr) return "";
  return checkpointer_->TaskUpdates(RunOf(*executor), task);
}

void ContainerManager::LaunchExecutor(FrameworkRecord& framework,
                                      mesos::v1::ExecutorInfo info,
                                      bool command_executor,
                                      const mesos::v1::TaskInfo& task) {
  const std::string fid = framework.info.id().value();
  const std::string eid = info.executor_id().value();
  ExecutorRecord& executor = framework.executors[eid];
  executor.info = std::move(info);
  executor.command_executor = command_executor;
  executor.container_id = RandomUuid();
  by_container_[executor.container_id] = {fid, eid};
  executor.directory = SandboxPath(options_.work_dir, agent_info_.id().value(),
                                   fid, eid, executor.container_id);
  if (Checkpointing(fid)) {
    checkpointer_->ExecutorRun(framework.info, executor.info,
                               executor.container_id);
  }
  AddTask(executor, task);
  absl::StatusOr<ContainerResources> resources =
      ContainerResourcesOf(executor, task);
  if (!resources.ok()) {
    OnLaunchFailed(framework, executor, resources.status());
    return;
  }
  executor.container_resources = *resources;
  executor.state = ExecutorRecord::State::kRegistering;
  executor.launch_pending = true;
  EnqueueLaunch({fid, eid, executor.container_id});
}

void ContainerManager::EnqueueLaunch(QueuedLaunch launch) {
  launch_queue_.push_back(std::move(launch));
  if (launch_posted_) return;
  launch_posted_ = true;
  loop_->Post([this] { StartNextLaunch(); });
}

void ContainerManager::StartNextLaunch() {
  DCHECK(loop_->IsLoopThread());
  QueuedLaunch next = std::move(launch_queue_.front());
  launch_queue_.pop_front();
  if (launch_queue_.empty()) {
    launch_posted_ = false;
  } else {
    loop_->Post([this] { StartNextLaunch(); });
  }
  ExecutorRecord* executor = FindExecutor(next.framework, next.executor);
  // Shut down (and perhaps replaced) while it waited: nothing to start.
  if (executor == nullptr || executor->container_id != next.container ||
      !executor->launch_pending || terminating_) {
    return;
  }
  executor->launch_pending = false;
  FrameworkRecord& framework = frameworks_[next.framework];
  absl::StatusOr<pid_t> pid = StartContainer(framework, *executor);
  if (!pid.ok()) {
    OnLaunchFailed(framework, *executor, pid.status());
    return;
  }
  const std::string fid = next.framework, eid = next.executor,
                    cid = next.container;
  executor->pid = *pid;
  if (Checkpointing(fid)) {
    checkpointer_->Pid(RunOf(*executor), *pid,
                       containerizer_.start_time(cid).value_or(0));
  }
  executor->registration_timer = loop_->PostAfter(
      options_.executor_registration_timeout,
      [this, fid, eid, cid] { OnRegistrationTimeout(fid, eid, cid); });
  LOG(INFO) << "Launched executor '" << eid << "' of framework " << fid
            << " in container " << cid << " (pid " << *pid << "); sandbox "
            << executor->directory;
}

void ContainerManager::FinishUnstartedExecutor(FrameworkRecord& framework,
                                               ExecutorRecord& executor) {
  LOG(INFO) << "Executor '" << executor.info.executor_id().value()
            << "' of framework " << framework.info.id().value()
            << " was shut down before its container started";
  executor.launch_pending = false;
  executor.state = ExecutorRecord::State::kTerminated;
  if (!framework.terminating && !terminating_) {
    FailUnfinishedTasks(framework, executor);
  }
  executor.queued.clear();
  MaybeRemoveExecutor(framework.info.id().value(),
                      executor.info.executor_id().value());
}

absl::StatusOr<pid_t> ContainerManager::StartContainer(
    const FrameworkRecord& framework, ExecutorRecord& executor) {
  // The user the container runs as (Mesos: CommandInfo.user, else
  // FrameworkInfo.user); no switch when it is the agent's own.
  std::optional<LaunchSpec::User> user;
  if (options_.switch_user) {
    std::string name = executor.info.command().has_user()
                           ? executor.info.command().user()
                           : framework.info.user();
    if (!name.empty()) {
      AGORA_ASSIGN_OR_RETURN(LaunchSpec::User u, LookupUser(name));
      if (u.uid != geteuid()) user = std::move(u);
    }
  }
  AGORA_RETURN_IF_ERROR(CreateSandbox(executor.directory));
  if (user && chown(executor.directory.c_str(), user->uid, user->gid) != 0) {
    return absl::ErrnoToStatus(
        errno,
        absl::StrCat("failed to chown sandbox to user '", user->name, "'"));
  }
  ExecutorEnvironmentInputs inputs;
  inputs.base = options_.executor_environment;
  inputs.executor_endpoint = options_.executor_endpoint;
  inputs.agent_endpoint = options_.agent_endpoint;
  inputs.sandbox = executor.directory;
  inputs.checkpoint = framework.info.checkpoint();
  inputs.shutdown_grace_period = options_.executor_shutdown_grace_period;
  inputs.recovery_timeout = options_.recovery_timeout;
  inputs.subscription_backoff_max = options_.subscription_backoff_max;
  LaunchSpec spec = ExecutorLaunchSpec(executor.info, inputs);
  spec.user = user;
  return containerizer_.Launch(executor.container_id, std::move(spec),
                               executor.container_resources);
}

void ContainerManager::OnLaunchFailed(FrameworkRecord& framework,
                                      ExecutorRecord& executor,
                                      const absl::Status& error) {
  LOG(WARNING) << "Failed to launch container " << executor.container_id
               << " for executor '" << executor.info.executor_id().value()
               << "' of framework " << framework.info.id().value() << ": "
               << error;
  metrics_->Increment("slave/container_launch_errors");
  executor.state = ExecutorRecord::State::kTerminated;
  executor.termination_reason =
      mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED;
  executor.termination_message =
      absl::StrCat("Failed to launch container: ", error.message());
  FailUnfinishedTasks(framework, executor);
  if (!executor.command_executor) {
    // Mesos reports a custom executor that never ran as exited too.
    agora::internal::ExecutorExited exited;
    *exited.mutable_framework_id() = framework.info.id();
    *exited.mutable_executor_id() = executor.info.executor_id();
    exited.set_status(-1);
    callbacks_.executor_exited(exited);
  }
  MaybeRemoveExecutor(framework.info.id().value(),
                      executor.info.executor_id().value());
}

void ContainerManager::SendSubscribed(const FrameworkRecord& framework,
                                      ExecutorRecord& executor) {
  Event subscribed;
  subscribed.set_type(Event::SUBSCRIBED);
  auto* s = subscribed.mutable_subscribed();
  *s->mutable_executor_info() = executor.info;
  *s->mutable_framework_info() = framework.info;
  *s->mutable_agent_info() = agent_info_;
  s->mutable_container_id()->set_value(executor.container_id);
  SendEvent(executor, subscribed);
}

bool ContainerManager::SendEvent(ExecutorRecord& executor, const Event& event) {
  return executor.stream != nullptr && executor.stream->Send(event);
}

void ContainerManager::DeliverQueuedTasks(ExecutorRecord& executor) {
  std::map<std::string, mesos::v1::TaskInfo> queued =
      std::move(executor.queued);
  executor.queued.clear();
  for (auto& [id, info] : queued) {
    Event event;
    event.set_type(Event::LAUNCH);
    *event.mutable_launch()->mutable_task() = info;
    if (!SendEvent(executor, event)) {
      executor.queued[id] = info;  // Delivered on the next SUBSCRIBE.
      continue;
    }
    executor.ever_sent_task = true;
    LOG(INFO) << "Sent task '" << id << "' to executor '"
              << executor.info.executor_id().value() << "' of framework "
              << executor.info.framework_id().value();
  }
}

void ContainerManager::OnExecutorSubscribe(
    const Call& call, std::shared_ptr<ExecutorEventStream> stream) {
  DCHECK(loop_->IsLoopThread());
  const std::string& fid = call.framework_id().value();
  const std::string& eid = call.executor_id().value();
  ExecutorRecord* executor = FindExecutor(fid, eid);
  if (executor == nullptr) {
    LOG(WARNING) << "Rejecting SUBSCRIBE of unknown executor '" << eid
                 << "' of framework " << fid;
    stream->Close(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("executor '", eid, "' of framework ", fid, " not found")));
    return;
  }
  if (executor->launch_pending) {
    // Its container has not been started: this is not its process.
    LOG(WARNING) << "Rejecting SUBSCRIBE of executor '" << eid
                 << "' of framework " << fid << ": not launched yet";
    stream->Close(
        grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                     absl::StrCat("executor '", eid, "' of framework ", fid,
                                  " has not been launched")));
    return;
  }
  if (executor->state == ExecutorRecord::State::kTerminating ||
      executor->state == ExecutorRecord::State::kTerminated) {
    Event shutdown;
    shutdown.set_type(Event::SHUTDOWN);
    stream->Send(shutdown);
    stream->Close(grpc::Status::OK);
    return;
  }
  if (executor->stream != nullptr && executor->stream != stream) {
    executor->stream->Close(
        grpc::Status(grpc::StatusCode::ABORTED, "executor subscribed again"));
  }
  bool first = executor->state == ExecutorRecord::State::kRegistering;
  executor->stream = stream;
  executor->state = ExecutorRecord::State::kRunning;
  if (executor->registration_timer) loop_->Cancel(executor->registration_timer);
  executor->registration_timer = 0;
  LOG(INFO) << "Executor '" << eid << "' of framework " << fid
            << (first ? " subscribed" : " resubscribed");

  SendSubscribed(frameworks_[fid], *executor);
  for (const auto& update : call.subscribe().unacknowledged_updates()) {
    absl::Status st =
        HandleExecutorUpdate(call.framework_id(), *executor, update.status());
    if (!st.ok()) LOG(WARNING) << "Resent update rejected: " << st;
  }
  if (executor->recovered) OnRecoveredExecutorSubscribed(call, *executor);
  DeliverQueuedTasks(*executor);
  auto kills = std::move(executor->pending_kills);
  executor->pending_kills.clear();
  for (const auto& [task, policy] : kills) SendKill(*executor, task, policy);
}

void ContainerManager::OnExecutorStreamClosed(
    const Call& call, const std::shared_ptr<ExecutorEventStream>& stream) {
  DCHECK(loop_->IsLoopThread());
  ExecutorRecord* executor =
      FindExecutor(call.framework_id().value(), call.executor_id().value());
  if (executor == nullptr || executor->stream != stream) return;
  executor->stream.reset();
  LOG(INFO) << "Executor '" << call.executor_id().value() << "' of framework "
            << call.framework_id().value() << " disconnected";
}

absl::Status ContainerManager::OnExecutorCall(const Call& call) {
  DCHECK(loop_->IsLoopThread());
  ExecutorRecord* executor =
      FindExecutor(call.framework_id().value(), call.executor_id().value());
  if (executor == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "executor '", call.executor_id().value(), "' of framework ",
        call.framework_id().value(), " not found"));
  }
  switch (call.type()) {
    case Call::UPDATE:
      if (!call.has_update()) {
        return absl::InvalidArgumentError("UPDATE call without 'update'");
      }
      return HandleExecutorUpdate(call.framework_id(), *executor,
                                  call.update().status());
    case Call::MESSAGE: {
      if (!call.has_message()) {
        return absl::InvalidArgumentError("MESSAGE call without 'message'");
      }
      agora::internal::ExecutorToFramework message;
      *message.mutable_framework_id() = call.framework_id();
      *message.mutable_executor_id() = call.executor_id();
      message.set_data(call.message().data());
      callbacks_.executor_message(message);
      return absl::OkStatus();
    }
    case Call::HEARTBEAT:
      return absl::OkStatus();
    case Call::SUBSCRIBE:
      return absl::InvalidArgumentError(
          "SUBSCRIBE must be sent with the Subscribe method");
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown executor call type ", call.type()));
  }
}

absl::Status ContainerManager::HandleExecutorUpdate(
    const mesos::v1::FrameworkID& framework, ExecutorRecord& executor,
    mesos::v1::TaskStatus status) {
  absl::Status invalid = ValidateExecutorUpdate(executor, status);
  if (!invalid.ok()) {
    metrics_->Increment("slave/invalid_status_updates");
    return invalid;
  }
  status.set_source(mesos::v1::TaskStatus::SOURCE_EXECUTOR);
  *status.mutable_executor_id() = executor.info.executor_id();
  // A task the kernel's OOM killer took reports a plain signal death; the
  // container's memory.events says why (Mesos reports the limitation).
  if (status.state() == mesos::v1::TASK_FAILED && CheckLimitation(executor)) {
    status.set_reason(executor.termination_reason);
    status.set_message(executor.termination_message);
    *status.mutable_limitation() = *executor.limitation;
  }
  *status.mutable_agent_id() = agent_info_.id();
  if (!status.has_timestamp()) {
    status.set_timestamp(
        absl::ToDoubleSeconds(loop_->Now() - absl::UnixEpoch()));
  }
  // The executor forgets an update once acknowledged: only when the agent
  // holds it (checkpointed, for a checkpointing framework).
  auto acknowledge = [this, fid = framework.value(),
                      eid = executor.info.executor_id().value(),
                      cid = executor.container_id, task = status.task_id(),
                      uuid = status.uuid()](const absl::Status& taken) {
    ExecutorRecord* e = FindExecutor(fid, eid);
    if (!taken.ok() || e == nullptr || e->container_id != cid) return;
    Event ack;
    ack.set_type(Event::ACKNOWLEDGED);
    *ack.mutable_acknowledged()->mutable_task_id() = task;
    ack.mutable_acknowledged()->set_uuid(uuid);
    SendEvent(*e, ack);
  };
  absl::StatusOr<bool> fresh = TakeUpdate(framework, status, acknowledge);
  if (!fresh.ok()) {
    metrics_->Increment("slave/invalid_status_updates");
    return fresh.status();
  }
  metrics_->Increment("slave/valid_status_updates");
  return absl::OkStatus();
}

absl::Status ContainerManager::ValidateExecutorUpdate(
    const ExecutorRecord& executor, const mesos::v1::TaskStatus& status) {
  const std::string& tid = status.task_id().value();
  if (status.uuid().size() != 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "status update for task '", tid, "' must carry a 16-byte uuid"));
  }
  if (status.state() == mesos::v1::TASK_STAGING) {
    return absl::InvalidArgumentError(
        absl::StrCat("status update for task '", tid,
                     "': executors must not send TASK_STAGING"));
  }
  if (!executor.tasks.count(tid)) {
    return absl::NotFoundError(
        absl::StrCat("status update for unknown task '", tid, "' of executor '",
                     executor.info.executor_id().value(), "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ContainerManager::TakeUpdate(
    const mesos::v1::FrameworkID& framework,
    const mesos::v1::TaskStatus& status,
    std::function<void(const absl::Status&)> on_checkpointed) {
  auto f = frameworks_.find(framework.value());
  // A framework being shut down acknowledges nothing any more, so its
  // updates stay here (as Mesos drops them) instead of being retried.
  bool terminating = f != frameworks_.end() && f->second.terminating;
  if (!terminating) {
    absl::StatusOr<bool> fresh = callbacks_.status_update(
        framework, status,
        UpdatesPath(framework.value(), status.task_id().value()),
        std::move(on_checkpointed));
    if (!fresh.ok() || !*fresh) return fresh;
  } else if (on_checkpointed) {
    on_checkpointed(absl::OkStatus());
  }
  if (f == frameworks_.end()) return true;
  ExecutorRecord* executor =
      FindExecutorOfTask(f->second, status.task_id().value());
  if (executor == nullptr) return true;
  mesos::v1::Task& task = executor->tasks[status.task_id().value()];
  task.set_state(status.state());
  mesos::v1::TaskStatus* kept = task.add_statuses();
  *kept = status;
  kept->clear_data();  // Bounded memory: keep the state history only.
  if (task.statuses_size() > 10) task.mutable_statuses()->DeleteSubrange(0, 1);
  if (IsTerminalState(status.state())) {
    executor->queued.erase(status.task_id().value());
  }
  return true;
}

void ContainerManager::SendAgentUpdate(
    const mesos::v1::FrameworkID& framework,
    const mesos::v1::ExecutorID& executor, const mesos::v1::TaskID& task,
    mesos::v1::TaskState state, mesos::v1::TaskStatus::Reason reason,
    const std::string& message,
    const std::optional<mesos::v1::TaskResourceLimitation>& limitation) {
  mesos::v1::TaskStatus status;
  if (limitation) *status.mutable_limitation() = *limitation;
  *status.mutable_task_id() = task;
  status.set_state(state);
  status.set_source(mesos::v1::TaskStatus::SOURCE_AGENT);
  status.set_reason(reason);
  status.set_message(message);
  *status.mutable_agent_id() = agent_info_.id();
  *status.mutable_executor_id() = executor;
  status.set_timestamp(absl::ToDoubleSeconds(loop_->Now() - absl::UnixEpoch()));
  status.set_uuid(RandomUuidBytes());
  absl::StatusOr<bool> taken = TakeUpdate(framework, status);
  if (!taken.ok()) {
    LOG(ERROR) << "Failed to take the agent's own update for task '"
               << task.value() << "': " << taken.status();
  }
}

bool ContainerManager::CheckLimitation(ExecutorRecord& executor) {
  if (executor.limitation) return true;
  std::optional<ContainerLimitation> limit =
      containerizer_.CheckLimitation(executor.container_id);
  if (!limit) return false;
  ApplyLimitation(executor, *limit);
  return true;
}

void ContainerManager::ApplyLimitation(ExecutorRecord& executor,
                                       const ContainerLimitation& limit) {
  executor.termination_reason =
      mesos::v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY;
  executor.termination_message = limit.message;
  executor.limitation = limit.limitation;
}

void ContainerManager::OnContainerLimited(const std::string& container_id,
                                          const ContainerLimitation& limit) {
  ExecutorRecord* executor = FindExecutorOfContainer(container_id);
  if (executor == nullptr) return;
  // Its unfinished tasks fail with the limitation when the executor exits.
  ApplyLimitation(*executor, limit);
  if (executor->state != ExecutorRecord::State::kTerminated) {
    executor->state = ExecutorRecord::State::kTerminating;
  }
}

}  // namespace agora
