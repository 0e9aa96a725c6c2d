// Master: agent health and partitions — health checks, link loss (tasks of
// non-checkpointing frameworks lost), marking agents unreachable, removing
// agents (unreachable or gone), agents that do not come back after a master
// restart, and the updates for tasks of agents that reregister.
// docs/protocol.md section 6 describes the flows.
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "master/master.h"

namespace agora {

using internal::MasterMessage;

// --- Health checks and link loss ---------------------------------------------

void Master::PingAgent(const AgentId& id) {
  Agent* agent = agents_.Find(id);
  if (agent == nullptr || shut_down_) return;
  agent->ping_timer = 0;
  // A disconnected agent cannot answer: each period counts as a miss, so an
  // agent that died is marked unreachable after the same budget.
  if (agent->awaiting_pong || !agent->connected()) {
    ++agent->missed_pings;
  }
  if (agent->missed_pings >= options_.max_agent_ping_timeouts) {
    if (!agent->unreachable_scheduled) {
      agent->unreachable_scheduled = true;
      metrics_.Increment("master/slave_unreachable_scheduled");
    }
    MarkAgentUnreachable(agent, "health check timed out");
  }
  if (agent->connected()) {
    MasterMessage message;
    message.mutable_ping()->set_sequence(++agent->ping_sequence);
    agent->awaiting_pong = true;
    agent->Send(std::move(message));
  }
  agent->ping_timer = loop_->PostAfter(options_.agent_ping_timeout,
                                       [this, id] { PingAgent(id); });
}

void Master::OnPong(Agent* agent) {
  agent->awaiting_pong = false;
  agent->missed_pings = 0;
  // Once the unreachable record is being written the transition cannot be
  // taken back.
  if (agent->unreachable_scheduled &&
      !registrar_.IsPending(agent->id.value())) {
    agent->unreachable_scheduled = false;
    metrics_.Increment("master/slave_unreachable_canceled");
    LOG(INFO) << "Canceling transition of agent " << agent->id
              << " to unreachable: a pong arrived";
  }
}

void Master::OnAgentLinkClosed(const std::shared_ptr<AgentConnection>& link) {
  DCHECK(loop_->IsLoopThread());
  if (shut_down_) return;
  if (auto it = admitting_links_.find(link->id());
      it != admitting_links_.end()) {
    admissions_.at(it->second).link_closed = true;
    return;
  }
  Agent* agent = agents_.FindByLink(link->id());
  if (agent != nullptr) DisconnectAgent(agent, "its link closed");
}

void Master::DisconnectAgent(Agent* agent, const std::string& reason) {
  LOG(WARNING) << "Agent " << agent->id << " (" << agent->info.hostname()
               << ") disconnected: " << reason
               << "; deactivating it and rescinding its offers";
  if (agent->link != nullptr) {
    agent->link->Close(absl::UnavailableError(
        absl::StrCat("master dropped the agent link: ", reason)));
    agents_.SetLink(agent, nullptr);
  }
  agent->active = false;
  allocator_.DeactivateAgent(agent->id);
  for (const std::string& offer : offers_.OffersOn(agent->id)) {
    RescindOffer(offer, /*notify=*/true);
  }
  LoseNonCheckpointingTasks(agent);
}

// Mesos's Master::exited(): tasks and executors of frameworks that do not
// checkpoint cannot survive an agent failover, so they are lost at once;
// checkpointing frameworks wait for the health checks.
void Master::LoseNonCheckpointingTasks(Agent* agent) {
  std::vector<std::pair<FrameworkId, std::string>> lost;
  for (TrackedTask* task : tasks_.TasksOn(agent->id)) {
    Framework* framework = frameworks_.Find(task->framework);
    if (framework == nullptr || framework->info.checkpoint()) continue;
    mesos::v1::TaskStatus status = MasterStatus(
        task->task_id(), agent->id.value(), mesos::v1::TASK_LOST,
        mesos::v1::TaskStatus::REASON_AGENT_DISCONNECTED,
        absl::StrCat("Agent ", agent->info.hostname(), " disconnected"));
    if (task->task.has_executor_id()) {
      *status.mutable_executor_id() = task->task.executor_id();
    }
    TaskTracker::AddStatus(task, status);
    if (!task->terminal()) {
      task->task.set_state(mesos::v1::TASK_LOST);
      OnTaskTerminal(task);
    }
    if (framework->connected()) SendUpdate(*framework, std::move(status));
    lost.emplace_back(task->framework, task->task_id());
  }
  std::set<FrameworkId> removed;
  for (const auto& [framework, task_id] : lost) {
    tasks_.Complete(framework, task_id);
    removed.insert(framework);
  }
  for (const auto& [id, framework] : frameworks_.all()) {
    if (framework->info.checkpoint()) continue;
    for (const std::string& executor : tasks_.ExecutorIds(agent->id, id)) {
      std::optional<TrackedExecutor> gone =
          tasks_.RemoveExecutor(agent->id, id, executor);
      allocator_.RecoverResources(id, agent->id, gone->resources, std::nullopt,
                                  loop_->Now());
      removed.insert(id);
    }
  }
  for (const FrameworkId& id : removed) {
    LOG(INFO) << "Removed framework " << id << " from disconnected agent "
              << agent->id << " because the framework is not checkpointing";
  }
}

void Master::MarkAgentUnreachable(Agent* agent, const std::string& message) {
  if (registrar_.IsPending(agent->id.value())) return;
  const AgentId id = agent->id;
  const absl::Time now = loop_->Now();
  registrar_.MarkUnreachable(
      id.value(), now, [this, id, message, now](absl::Status status) {
        OnAgentMarkedUnreachable(id, message, now, status);
      });
}

void Master::OnAgentMarkedUnreachable(const AgentId& id,
                                      const std::string& message,
                                      absl::Time time,
                                      const absl::Status& status) {
  if (shut_down_) return;
  if (!status.ok()) {
    LOG(ERROR) << "Failed to mark agent " << id
               << " unreachable in the registry (retrying at the next "
                  "health check): "
               << status;
    return;
  }
  metrics_.Increment("master/slave_unreachable_completed");
  metrics_.Increment("master/slave_removals");
  metrics_.Increment("master/slave_removals/reason_unhealthy");
  Agent* agent = agents_.Find(id);
  if (agent == nullptr) return;
  LOG(INFO) << "Marked agent " << id << " (" << agent->info.hostname()
            << ") unreachable: " << message;
  RemoveAgent(agent, message, time);
}

void Master::RemoveAgent(Agent* agent, const std::string& message,
                         std::optional<absl::Time> unreachable_time) {
  const AgentId id = agent->id;
  loop_->Cancel(agent->ping_timer);
  agent->ping_timer = 0;
  // First, so that nothing freed below is offered again.
  allocator_.RemoveAgent(id);
  std::vector<std::pair<FrameworkId, std::string>> removed;
  for (TrackedTask* task : tasks_.TasksOn(id)) {
    Framework* framework = frameworks_.Find(task->framework);
    const bool partition_aware =
        framework != nullptr && framework->partition_aware;
    mesos::v1::TaskState state = mesos::v1::TASK_LOST;
    auto reason = mesos::v1::TaskStatus::REASON_AGENT_REMOVED;
    if (partition_aware && unreachable_time.has_value()) {
      state = mesos::v1::TASK_UNREACHABLE;
    } else if (partition_aware) {
      state = mesos::v1::TASK_GONE_BY_OPERATOR;
      reason = mesos::v1::TaskStatus::REASON_AGENT_REMOVED_BY_OPERATOR;
    }
    mesos::v1::TaskStatus status =
        MasterStatus(task->task_id(), id.value(), state, reason, message);
    if (task->task.has_executor_id()) {
      *status.mutable_executor_id() = task->task.executor_id();
    }
    if (unreachable_time.has_value()) {
      status.mutable_unreachable_time()->set_nanoseconds(
          absl::ToUnixNanos(*unreachable_time));
    }
    TaskTracker::AddStatus(task, status);
    if (!task->terminal()) {
      task->task.set_state(state);
      if (IsTerminalState(state)) CountTerminal(state);
    }
    if (framework != nullptr && framework->connected()) {
      SendUpdate(*framework, std::move(status));
    }
    removed.emplace_back(task->framework, task->task_id());
  }
  for (const auto& [framework, task_id] : removed) {
    if (unreachable_time.has_value()) {
      unreachable_tasks_.Add(
          std::move(tasks_.Remove(framework, task_id)->task));
    } else {
      tasks_.Complete(framework, task_id);
    }
  }
  for (const auto& [framework_id, framework] : frameworks_.all()) {
    for (const std::string& executor : tasks_.ExecutorIds(id, framework_id)) {
      tasks_.RemoveExecutor(id, framework_id, executor);
    }
  }
  for (const std::string& offer : offers_.OffersOn(id)) {
    RescindOffer(offer, /*notify=*/true);
  }
  if (agent->link != nullptr) {
    agent->link->Close(absl::UnavailableError(
        absl::StrCat("agent removed by the master: ", message)));
  }
  agents_.Remove(id);
  SendAgentLost(id);
}

void Master::SendAgentLost(const AgentId& id) {
  for (const auto& [framework_id, framework] : frameworks_.all()) {
    if (!framework->connected()) continue;
    LOG(INFO) << "Notifying framework " << framework_id << " of lost agent "
              << id;
    SchedulerEvent event;
    event.set_type(SchedulerEvent::FAILURE);
    event.mutable_failure()->mutable_agent_id()->set_value(id.value());
    framework->Send(std::move(event));
  }
}

void Master::OnAgentReregisterTimeout() {
  reregister_timer_ = 0;
  if (shut_down_) return;
  std::vector<mesos::v1::AgentInfo> missing;
  for (const auto& [id, info] : registrar_.agents()) {
    // An agent whose reregistration is being written is not missing.
    if (IsRecoveredAgent(AgentId(id)) && !registrar_.IsPending(id)) {
      missing.push_back(info);
    }
  }
  const std::string message =
      absl::StrCat("did not reregister within ",
                   absl::FormatDuration(options_.agent_reregister_timeout),
                   " after master failover");
  for (const mesos::v1::AgentInfo& info : missing) {
    metrics_.Increment("master/slave_unreachable_scheduled");
    registrar_.MarkUnreachable(
        info.id().value(), loop_->Now(),
        [this, info, message](absl::Status status) {
          if (shut_down_) return;
          if (!status.ok()) {
            LOG(ERROR) << "Failed to mark recovered agent " << info.id().value()
                       << " unreachable: " << status;
            metrics_.Increment("master/slave_unreachable_canceled");
            return;
          }
          LOG(INFO) << "Marked agent " << info.id().value() << " ("
                    << info.hostname() << ") unreachable: " << message;
          metrics_.Increment("master/slave_unreachable_completed");
          metrics_.Increment("master/slave_removals");
          metrics_.Increment("master/slave_removals/reason_unhealthy");
          metrics_.Increment("master/recovery_slave_removals");
          SendAgentLost(AgentId(info.id().value()));
        });
  }
}

// Mesos's registry GC (Master::doRegistryGc): unreachable and gone agents
// are forgotten once too old or too many; so are the unreachable tasks of
// the pruned unreachable agents.
void Master::OnRegistryGc() {
  registry_gc_timer_ = loop_->PostAfter(options_.registry_gc_interval,
                                        [this] { OnRegistryGc(); });
  if (shut_down_) return;
  Registrar::PruneList list =
      registrar_.SelectForPruning(loop_->Now(), options_.registry_max_agent_age,
                                  options_.registry_max_agent_count);
  if (list.empty()) {
    VLOG(1) << "Registry GC: no agent to prune";
    return;
  }
  registrar_.Prune(list, [this, list](absl::Status status) {
    if (shut_down_) return;
    if (!status.ok()) {
      LOG(WARNING) << "Registry GC failed (retried in "
                   << absl::FormatDuration(options_.registry_gc_interval)
                   << "): " << status;
      return;
    }
    size_t tasks = 0;
    for (const std::string& id : list.unreachable) {
      if (registrar_.UnreachableSince(id).has_value() ||
          registrar_.FindAgent(id) != nullptr) {
        continue;  // Marked again or back meanwhile.
      }
      tasks += unreachable_tasks_.TakeOn(AgentId(id)).size();
    }
    LOG(INFO) << "Pruned " << list.unreachable.size() << " unreachable and "
              << list.gone.size() << " gone agents from the registry (" << tasks
              << " unreachable tasks forgotten)";
  });
}

void Master::AnnounceReregisteredTasks(const internal::ReregisterAgent& message,
                                       const std::string& why) {
  for (const mesos::v1::Task& task : message.tasks()) {
    Framework* framework =
        frameworks_.Find(FrameworkId(task.framework_id().value()));
    if (framework == nullptr || !framework->connected()) continue;
    mesos::v1::TaskStatus status = MasterStatus(
        task.task_id().value(), message.agent_info().id().value(), task.state(),
        mesos::v1::TaskStatus::REASON_AGENT_REREGISTERED, why);
    if (task.has_executor_id()) {
      *status.mutable_executor_id() = task.executor_id();
    }
    SendUpdate(*framework, std::move(status));
  }
}

}  // namespace agora
