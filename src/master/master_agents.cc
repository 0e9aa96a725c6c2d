// Master: the agent side — registration, reregistration, status updates and
// executor messages. Health checks and partitions: master_partitions.cc.
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/resources_proto.h"
#include "common/task_states.h"
#include "glog/logging.h"
#include "master/master.h"

namespace agora {
namespace {

using internal::AgentMessage;
using internal::MasterMessage;

// The agent's total resources, or InvalidArgument saying what is wrong.
absl::StatusOr<Resources> ValidateAgentInfo(const mesos::v1::AgentInfo& info) {
  if (info.hostname().empty()) {
    return absl::InvalidArgumentError("agent info: 'hostname' is empty");
  }
  absl::StatusOr<Resources> total = FromProto(info.resources());
  if (!total.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("agent info: ", total.status().message()));
  }
  return total->AllocatedTo("");
}

// Command executors are the agent's own and not charged by the master.
bool IsCommandExecutor(const mesos::v1::ExecutorInfo& info) {
  return absl::StartsWith(info.name(), "Command Executor");
}

MasterMessage ShutdownFrameworkMessage(const FrameworkId& id) {
  MasterMessage message;
  message.mutable_shutdown_framework()->mutable_framework_id()->set_value(
      id.value());
  return message;
}

}  // namespace

void Master::OnAgentMessage(const std::shared_ptr<AgentConnection>& link,
                            const AgentMessage& message) {
  DCHECK(loop_->IsLoopThread());
  if (shut_down_) return;
  switch (message.message_case()) {
    case AgentMessage::kRegisterAgent:
      return RegisterAgent(link, message.register_agent());
    case AgentMessage::kReregisterAgent:
      return ReregisterAgent(link, message.reregister_agent());
    default:
      break;
  }
  Agent* agent = agents_.FindByLink(link->id());
  if (agent == nullptr) {
    LOG(WARNING) << "Closing agent link from " << link->peer()
                 << ": message before registration";
    link->Close(absl::FailedPreconditionError(
        "agent link: the first message must be register_agent or "
        "reregister_agent"));
    return;
  }
  switch (message.message_case()) {
    case AgentMessage::kPong:
      return OnPong(agent);
    case AgentMessage::kStatusUpdate:
      return OnStatusUpdate(agent, message.status_update());
    case AgentMessage::kExecutorToFramework:
      return OnExecutorToFramework(agent, message.executor_to_framework());
    case AgentMessage::kExecutorExited:
      return OnExecutorExited(agent, message.executor_exited());
    default:
      LOG(WARNING) << "Ignoring an empty message from agent " << agent->id;
  }
}

void Master::RefuseAgent(const std::shared_ptr<AgentConnection>& link,
                         const absl::Status& why) {
  LOG(WARNING) << "Refusing agent at " << link->peer() << ": " << why;
  MasterMessage message;
  message.mutable_shutdown_agent()->set_message(std::string(why.message()));
  link->Send(std::move(message));
  link->Close(why);
}

void Master::RegisterAgent(const std::shared_ptr<AgentConnection>& link,
                           const internal::RegisterAgent& message) {
  if (Agent* bound = agents_.FindByLink(link->id())) {
    LOG(WARNING) << "Agent " << bound->id << " registered again on its link";
    return SendAgentRegistered(*bound);
  }
  if (auto it = admitting_links_.find(link->id());
      it != admitting_links_.end()) {
    LOG(WARNING) << "Agent " << it->second << " at " << link->peer()
                 << " registered again while its admission is being written";
    ++admissions_.at(it->second).answers;
    return;
  }
  mesos::v1::AgentInfo info = message.agent_info();
  info.clear_id();
  absl::StatusOr<Resources> total = ValidateAgentInfo(info);
  if (total.ok()) total = AgentTotal(*total, message.checkpointed_resources());
  if (!total.ok()) return RefuseAgent(link, total.status());
  if (message.has_previous_agent_id()) {
    RemoveReplacedAgent(message.previous_agent_id(), info.hostname());
  }
  AgentId id = agents_.NextId();
  info.mutable_id()->set_value(id.value());
  PendingAdmission pending;
  pending.link = link;
  pending.info = std::move(info);
  pending.total = *std::move(total);
  pending.version = message.version();
  StartAdmission(id, std::move(pending));
}

void Master::ReregisterAgent(const std::shared_ptr<AgentConnection>& link,
                             const internal::ReregisterAgent& message) {
  if (Agent* bound = agents_.FindByLink(link->id())) {
    LOG(WARNING) << "Agent " << bound->id << " reregistered again on its link";
    return SendAgentRegistered(*bound);
  }
  const mesos::v1::AgentInfo& info = message.agent_info();
  if (!info.has_id() || info.id().value().empty()) {
    return RefuseAgent(link, absl::InvalidArgumentError(
                                 "reregister_agent: agent info has no id"));
  }
  AgentId id(info.id().value());
  if (registrar_.GoneSince(id.value()).has_value()) {
    return RefuseAgent(link, absl::FailedPreconditionError(kAgentGoneMessage));
  }
  absl::StatusOr<Resources> total = ValidateAgentInfo(info);
  if (total.ok()) total = AgentTotal(*total, message.checkpointed_resources());
  if (!total.ok()) return RefuseAgent(link, total.status());
  if (auto it = admissions_.find(id); it != admissions_.end()) {
    return JoinAdmission(&it->second, link, message, *std::move(total));
  }
  PendingAdmission pending;
  pending.link = link;
  pending.info = info;
  pending.total = *std::move(total);
  pending.version = message.version();
  pending.reregister = message;
  pending.was_unreachable = registrar_.UnreachableSince(id.value()).has_value();
  pending.was_recovered = IsRecoveredAgent(id);
  pending.was_known = agents_.Find(id) != nullptr;
  StartAdmission(id, std::move(pending));
}

void Master::JoinAdmission(PendingAdmission* pending,
                           const std::shared_ptr<AgentConnection>& link,
                           const internal::ReregisterAgent& message,
                           Resources total) {
  const AgentId id(message.agent_info().id().value());
  LOG(WARNING) << "Agent " << id << " at " << link->peer()
               << " reregistered again while its admission is being written";
  if (pending->link->id() == link->id()) {
    ++pending->answers;
  } else {
    // The newer link wins, as it does for an admitted agent.
    admitting_links_.erase(pending->link->id());
    pending->link->Close(
        absl::AbortedError("agent link replaced by a newer one"));
    pending->link = link;
    pending->link_closed = false;
    pending->answers = 1;
    admitting_links_[link->id()] = id;
  }
  pending->info = message.agent_info();
  pending->total = std::move(total);
  pending->version = message.version();
  pending->reregister = message;
}

void Master::StartAdmission(const AgentId& id, PendingAdmission pending) {
  admitting_links_[pending.link->id()] = id;
  admissions_[id] = std::move(pending);
  PersistAgentRecord(id);
}

// Writes the pending admission's info unless the registry holds exactly
// that and nothing else is being written for the agent.
void Master::PersistAgentRecord(const AgentId& id) {
  const PendingAdmission& pending = admissions_.at(id);
  const mesos::v1::AgentInfo* admitted = registrar_.FindAgent(id.value());
  if (admitted != nullptr && !registrar_.IsPending(id.value()) &&
      admitted->SerializeAsString() == pending.info.SerializeAsString()) {
    return OnAgentRecordPersisted(id, absl::OkStatus());
  }
  registrar_.AdmitAgent(pending.info, [this, id](absl::Status status) {
    OnAgentRecordPersisted(id, status);
  });
}

void Master::OnAgentRecordPersisted(const AgentId& id,
                                    const absl::Status& status) {
  auto it = admissions_.find(id);
  if (it == admissions_.end() || shut_down_) return;
  if (status.ok()) {
    // A reregistration that joined meanwhile may carry another info.
    const mesos::v1::AgentInfo* admitted = registrar_.FindAgent(id.value());
    if (admitted == nullptr ||
        admitted->SerializeAsString() != it->second.info.SerializeAsString()) {
      return PersistAgentRecord(id);
    }
  }
  PendingAdmission pending = std::move(it->second);
  admissions_.erase(it);
  admitting_links_.erase(pending.link->id());
  if (absl::IsFailedPrecondition(status) &&
      registrar_.GoneSince(id.value()).has_value()) {
    return RefuseAgent(pending.link,
                       absl::FailedPreconditionError(kAgentGoneMessage));
  }
  if (absl::IsInvalidArgument(status)) return RefuseAgent(pending.link, status);
  if (!status.ok()) {
    LOG(ERROR) << "Could not admit agent " << id << " at "
               << pending.link->peer() << ": " << status;
    pending.link->Close(absl::UnavailableError(absl::StrCat(
        "master could not persist the agent's admission: ", status.message())));
    return;
  }
  const bool link_closed = pending.link_closed;
  if (pending.reregister.has_value()) {
    CompleteReregistration(id, std::move(pending));
  } else {
    CompleteRegistration(id, std::move(pending));
  }
  // The link ended while the record was written: admitted, but
  // disconnected from the start.
  Agent* agent = agents_.Find(id);
  if (link_closed && agent != nullptr) {
    DisconnectAgent(agent, "its link closed during admission");
  }
}

void Master::CompleteRegistration(const AgentId& id, PendingAdmission pending) {
  Agent* agent =
      agents_.Add(id, std::move(pending.info), std::move(pending.total));
  agent->version = pending.version;
  agent->registered_time = loop_->Now();
  metrics_.Increment("master/slave_registrations");
  LOG(INFO) << "Registered agent " << id << " (" << agent->info.hostname()
            << ") at " << pending.link->peer() << " with " << agent->total;
  AdmitAgent(agent, pending.link);
  for (int i = 1; i < pending.answers; ++i) SendAgentRegistered(*agent);
}

void Master::CompleteReregistration(const AgentId& id,
                                    PendingAdmission pending) {
  const internal::ReregisterAgent& message = *pending.reregister;
  const std::shared_ptr<AgentConnection>& link = pending.link;
  Agent* agent = agents_.Find(id);
  if (agent == nullptr) {
    agent = agents_.Add(id, pending.info, pending.total);
    agent->registered_time = loop_->Now();
    LOG(INFO) << "Admitting "
              << (pending.was_unreachable ? "unreachable" : "unknown")
              << " agent " << id << " on reregistration";
    if (!pending.was_recovered) {
      AnnounceReregisteredTasks(
          message, pending.was_unreachable ? "Unreachable agent re-reregistered"
                                           : "Unknown agent reregistered");
    }
    unreachable_tasks_.TakeOn(id);  // The agent's report replaces them.
  } else {
    ResetAgent(agent, pending.info, std::move(pending.total));
  }
  agent->version = pending.version;
  agent->reregistered_time = loop_->Now();
  metrics_.Increment("master/slave_reregistrations");
  for (const mesos::v1::FrameworkInfo& framework : message.frameworks()) {
    EnsureRecoveredFramework(framework);
  }
  std::vector<MasterMessage> unknown_kills;
  std::set<FrameworkId> removed = ReconcileAgentTasks(
      agent, message, pending.was_known ? &unknown_kills : nullptr);
  ReconcileAgentExecutors(agent, message);
  LOG(INFO) << "Reregistered agent " << id << " (" << agent->info.hostname()
            << ") at " << link->peer() << " with " << agent->total << " and "
            << message.tasks_size() << " tasks";
  AdmitAgent(agent, link);
  for (int i = 1; i < pending.answers; ++i) SendAgentRegistered(*agent);
  for (const FrameworkId& framework : removed) {
    agent->Send(ShutdownFrameworkMessage(framework));
  }
  for (MasterMessage& kill : unknown_kills) agent->Send(std::move(kill));
  // Kills asked for while it was away, for the tasks it still runs.
  std::map<std::pair<std::string, std::string>, MasterMessage> kills =
      std::move(agent->pending_kills);
  agent->pending_kills.clear();
  for (auto& [key, kill] : kills) {
    const TrackedTask* task = tasks_.Find(FrameworkId(key.first), key.second);
    if (task == nullptr || task->agent != agent->id) continue;
    LOG(INFO) << "Retrying the kill of task " << key.second << " of framework "
              << key.first << " on reregistered agent " << agent->id;
    agent->Send(std::move(kill));
  }
}

void Master::ResetAgent(Agent* agent, const mesos::v1::AgentInfo& info,
                        Resources total) {
  if (agent->link != nullptr) {
    agent->link->Close(
        absl::AbortedError("agent link replaced by a newer one"));
    agents_.SetLink(agent, nullptr);
  }
  loop_->Cancel(agent->ping_timer);
  agent->ping_timer = 0;
  for (const std::string& offer : offers_.OffersOn(agent->id)) {
    RescindOffer(offer, /*notify=*/true);
  }
  allocator_.RemoveAgent(agent->id);  // Re-added with what it reports.
  agent->info = info;
  agent->total = std::move(total);
}

void Master::AdmitAgent(Agent* agent,
                        const std::shared_ptr<AgentConnection>& link) {
  agents_.SetLink(agent, link);
  agent->active = true;
  agent->awaiting_pong = false;
  agent->missed_pings = 0;
  allocator_.AddAgent(agent->id, agent->total,
                      tasks_.UsedOnByFramework(agent->id));
  allocator_.ActivateAgent(agent->id);
  SendAgentRegistered(*agent);
  loop_->Cancel(agent->ping_timer);
  PingAgent(agent->id);
  RequestAllocation();
}

void Master::SendAgentRegistered(const Agent& agent) {
  MasterMessage message;
  internal::AgentRegistered* registered = message.mutable_agent_registered();
  registered->mutable_agent_id()->set_value(agent.id.value());
  *registered->mutable_master_info() = info_;
  registered->set_ping_timeout_seconds(absl::ToDoubleSeconds(
      options_.agent_ping_timeout * options_.max_agent_ping_timeouts));
  agent.Send(std::move(message));
}

std::set<FrameworkId> Master::ReconcileAgentTasks(
    Agent* agent, const internal::ReregisterAgent& message,
    std::vector<MasterMessage>* kills) {
  std::set<std::pair<FrameworkId, std::string>> reported;
  std::set<FrameworkId> removed;
  for (const mesos::v1::Task& task : message.tasks()) {
    FrameworkId framework_id(task.framework_id().value());
    reported.insert({framework_id, task.task_id().value()});
    if (frameworks_.IsCompleted(framework_id)) {
      removed.insert(framework_id);
      continue;
    }
    if (tasks_.Find(framework_id, task.task_id().value()) != nullptr) continue;
    if (kills != nullptr) {
      // This master saw every launch on the agent: it ended the task while
      // the agent was away (lost with the link, or killed), and the
      // framework was told. The agent must not run it on.
      if (!IsTerminalState(task.state())) {
        LOG(WARNING) << "Agent " << agent->id << " reports task "
                     << task.task_id().value() << " of framework "
                     << framework_id << ", which the master ended; killing it";
        MasterMessage kill;
        *kill.mutable_kill_task()->mutable_framework_id() = task.framework_id();
        *kill.mutable_kill_task()->mutable_task_id() = task.task_id();
        kills->push_back(std::move(kill));
      }
      continue;
    }
    if (frameworks_.Find(framework_id) == nullptr) {
      mesos::v1::FrameworkInfo unknown;
      unknown.mutable_id()->set_value(framework_id.value());
      EnsureRecoveredFramework(unknown);
    }
    absl::StatusOr<Resources> resources = FromProto(task.resources());
    if (!resources.ok()) {
      LOG(WARNING) << "Ignoring task " << task.task_id().value()
                   << " reported by agent " << agent->id << ": "
                   << resources.status();
      continue;
    }
    mesos::v1::Task copy = task;
    copy.mutable_agent_id()->set_value(agent->id.value());
    tasks_.Add(framework_id, agent->id, std::move(copy), *std::move(resources));
  }
  DropUnreportedTasks(agent, reported);
  return removed;
}

void Master::RemoveReplacedAgent(const mesos::v1::AgentID& previous,
                                 const std::string& hostname) {
  Agent* old = agents_.Find(AgentId(previous.value()));
  if (old == nullptr) return;  // Unreachable or unknown: nothing runs here.
  if (old->info.hostname() != hostname) {
    LOG(WARNING) << "Agent at " << hostname << " claims to replace agent "
                 << old->id << " of host " << old->info.hostname()
                 << "; ignored";
    return;
  }
  LOG(INFO) << "Removing agent " << old->id << " (" << hostname
            << "): a new agent registered in its place";
  metrics_.Increment("master/slave_removals");
  metrics_.Increment("master/slave_removals/reason_registered");
  // Mesos's "removing old disconnected agent": its tasks are LOST, or
  // GONE_BY_OPERATOR for partition-aware frameworks.
  RemoveAgent(old, "a new agent registered in place of this agent",
              std::nullopt);
}

// A task the master launched but the agent does not report never reached
// it: its run_task went down with the old link.
void Master::DropUnreportedTasks(
    Agent* agent,
    const std::set<std::pair<FrameworkId, std::string>>& reported) {
  std::vector<std::pair<FrameworkId, std::string>> lost;
  for (TrackedTask* task : tasks_.TasksOn(agent->id)) {
    if (task->terminal() ||
        reported.count({task->framework, task->task_id()}) > 0) {
      continue;
    }
    Framework* framework = frameworks_.Find(task->framework);
    mesos::v1::TaskState state =
        framework != nullptr && framework->partition_aware
            ? mesos::v1::TASK_DROPPED
            : mesos::v1::TASK_LOST;
    mesos::v1::TaskStatus status = MasterStatus(
        task->task_id(), agent->id.value(), state,
        mesos::v1::TaskStatus::REASON_RECONCILIATION,
        "reconciliation: task unknown to the agent at reregistration");
    task->task.set_state(state);
    task->task.set_status_update_state(state);
    task->task.clear_status_update_uuid();
    TaskTracker::AddStatus(task, status);
    CountTerminal(state);
    LOG(WARNING) << "Task " << task->task_id() << " of framework "
                 << task->framework << " is unknown to agent " << agent->id
                 << "; it is " << mesos::v1::TaskState_Name(state);
    if (framework != nullptr) SendUpdate(*framework, std::move(status));
    lost.emplace_back(task->framework, task->task_id());
  }
  // No acknowledgement comes for a master's update: complete them now.
  for (const auto& [framework, task_id] : lost) {
    tasks_.Complete(framework, task_id);
  }
}

void Master::ReconcileAgentExecutors(Agent* agent,
                                     const internal::ReregisterAgent& message) {
  std::set<std::pair<FrameworkId, std::string>> reported;
  for (const mesos::v1::ExecutorInfo& info : message.executor_infos()) {
    FrameworkId framework_id(info.framework_id().value());
    if (IsCommandExecutor(info) || frameworks_.Find(framework_id) == nullptr) {
      continue;
    }
    reported.insert({framework_id, info.executor_id().value()});
    if (tasks_.FindExecutor(agent->id, framework_id,
                            info.executor_id().value()) != nullptr) {
      continue;
    }
    absl::StatusOr<Resources> resources = FromProto(info.resources());
    if (!resources.ok()) {
      LOG(WARNING) << "Ignoring executor " << info.executor_id().value()
                   << " reported by agent " << agent->id << ": "
                   << resources.status();
      continue;
    }
    tasks_.AddExecutor(agent->id, framework_id, info, *std::move(resources));
  }
  for (const auto& [framework_id, framework] : frameworks_.all()) {
    for (const std::string& id : tasks_.ExecutorIds(agent->id, framework_id)) {
      if (reported.count({framework_id, id}) == 0) {
        LOG(INFO) << "Executor " << id << " of framework " << framework_id
                  << " is gone from agent " << agent->id;
        tasks_.RemoveExecutor(agent->id, framework_id, id);
      }
    }
  }
}

// --- Status updates and executor messages ------------------------------------

void Master::OnStatusUpdate(Agent* agent,
                            const internal::StatusUpdate& update) {
  FrameworkId framework_id(update.framework_id().value());
  const mesos::v1::TaskStatus& status = update.status();
  Framework* framework = frameworks_.Find(framework_id);
  if (framework == nullptr) {
    metrics_.Increment("master/invalid_status_updates");
    LOG(WARNING) << "Ignoring status update for task "
                 << status.task_id().value() << " of "
                 << (frameworks_.IsCompleted(framework_id) ? "removed"
                                                           : "unknown")
                 << " framework " << framework_id << " from agent "
                 << agent->id;
    if (frameworks_.IsCompleted(framework_id)) {
      agent->Send(ShutdownFrameworkMessage(framework_id));
    }
    return;
  }
  mesos::v1::TaskStatus forwarded = status;
  forwarded.mutable_agent_id()->set_value(agent->id.value());
  TrackedTask* task = tasks_.Find(framework_id, status.task_id().value());
  if (task != nullptr && task->agent == agent->id) {
    LOG(INFO) << "Status update " << mesos::v1::TaskState_Name(status.state())
              << " for task " << status.task_id().value() << " of framework "
              << framework_id << " from agent " << agent->id;
    metrics_.Increment("master/valid_status_updates");
    UpdateTask(
        task, forwarded,
        update.has_latest_state() ? update.latest_state() : status.state());
  } else {
    metrics_.Increment("master/invalid_status_updates");
    LOG(WARNING) << "Status update for unknown task "
                 << status.task_id().value() << " of framework " << framework_id
                 << " from agent " << agent->id << "; forwarding it";
  }
  if (framework->connected()) SendUpdate(*framework, std::move(forwarded));
}

void Master::UpdateTask(TrackedTask* task, const mesos::v1::TaskStatus& status,
                        mesos::v1::TaskState latest) {
  bool retry = status.has_uuid() && task->task.has_status_update_uuid() &&
               task->task.status_update_uuid() == status.uuid();
  if (!retry) TaskTracker::AddStatus(task, status);
  if (status.has_uuid()) {
    task->task.set_status_update_state(status.state());
    task->task.set_status_update_uuid(status.uuid());
  }
  if (task->terminal()) return;  // A terminal state is never overwritten.
  task->task.set_state(latest);
  if (IsTerminalState(latest)) OnTaskTerminal(task);
}

void Master::OnExecutorToFramework(
    Agent* agent, const internal::ExecutorToFramework& message) {
  Framework* framework =
      frameworks_.Find(FrameworkId(message.framework_id().value()));
  if (framework == nullptr || !framework->connected()) {
    VLOG(1) << "Dropping executor message for framework "
            << message.framework_id().value() << ": not connected";
    return;
  }
  SchedulerEvent event;
  event.set_type(SchedulerEvent::MESSAGE);
  event.mutable_message()->mutable_agent_id()->set_value(agent->id.value());
  *event.mutable_message()->mutable_executor_id() = message.executor_id();
  event.mutable_message()->set_data(message.data());
  framework->Send(std::move(event));
}

void Master::OnExecutorExited(Agent* agent,
                              const internal::ExecutorExited& message) {
  FrameworkId framework_id(message.framework_id().value());
  LOG(INFO) << "Executor " << message.executor_id().value() << " of framework "
            << framework_id << " on agent " << agent->id << " exited with "
            << message.status();
  std::optional<TrackedExecutor> executor = tasks_.RemoveExecutor(
      agent->id, framework_id, message.executor_id().value());
  if (executor.has_value()) {
    allocator_.RecoverResources(framework_id, agent->id, executor->resources,
                                std::nullopt, loop_->Now());
  }
  Framework* framework = frameworks_.Find(framework_id);
  if (framework == nullptr || !framework->connected()) return;
  SchedulerEvent event;
  event.set_type(SchedulerEvent::FAILURE);
  event.mutable_failure()->mutable_agent_id()->set_value(agent->id.value());
  *event.mutable_failure()->mutable_executor_id() = message.executor_id();
  if (message.has_status())
    event.mutable_failure()->set_status(message.status());
  framework->Send(std::move(event));
}

}  // namespace agora
