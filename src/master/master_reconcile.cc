// Master: task reconciliation (RECONCILE), implicit and explicit, with the
// replies of Mesos's table (docs/reconciliation.md, Master::reconcile):
//
//   task known to the master              latest state (awaiting ack first)
//   unknown, agent recovered (not back)   no reply: the framework retries
//   unknown, agent registered             TASK_GONE            (else LOST)
//   unknown, agent unreachable            TASK_UNREACHABLE     (else LOST)
//                                         with unreachable_time
//   unknown, agent gone                   TASK_GONE_BY_OPERATOR (else LOST)
//   unknown, agent unknown or not given   TASK_UNKNOWN         (else LOST)
//
// "else LOST" is the reply to frameworks without PARTITION_AWARE. Every
// reply comes from the master with REASON_RECONCILIATION and no uuid.
// Tasks on unreachable agents are not "known" here, as in Mesos: an
// implicit reconciliation leaves them out, an explicit one naming their
// agent gets TASK_UNREACHABLE.
#include <utility>

#include "glog/logging.h"
#include "master/master.h"

namespace agora {

mesos::v1::TaskStatus Master::ReconciliationStatus(
    const TrackedTask& task) const {
  mesos::v1::TaskState state = task.task.has_status_update_state()
                                   ? task.task.status_update_state()
                                   : task.task.state();
  mesos::v1::TaskStatus status =
      MasterStatus(task.task_id(), task.agent.value(), state,
                   mesos::v1::TaskStatus::REASON_RECONCILIATION,
                   "Reconciliation: Latest task state");
  if (task.task.has_executor_id()) {
    *status.mutable_executor_id() = task.task.executor_id();
  }
  return status;
}

bool Master::IsRecoveredAgent(const AgentId& id) const {
  return agents_.Find(id) == nullptr &&
         registrar_.FindAgent(id.value()) != nullptr;
}

std::optional<mesos::v1::TaskStatus> Master::UnknownTaskStatus(
    const Framework& framework, const std::string& task_id,
    const std::optional<AgentId>& agent_id) const {
  using mesos::v1::TaskState;
  const bool partition_aware = framework.partition_aware;
  auto reply = [&](TaskState aware, const char* message) {
    return MasterStatus(task_id, agent_id.has_value() ? agent_id->value() : "",
                        partition_aware ? aware : mesos::v1::TASK_LOST,
                        mesos::v1::TaskStatus::REASON_RECONCILIATION, message);
  };
  if (!agent_id.has_value()) {
    // Every registered agent is admitted in the registry, so any surplus
    // of admitted agents is recovered ones.
    if (registrar_.agents().size() > agents_.all().size()) {
      return std::nullopt;
    }
    return reply(mesos::v1::TASK_UNKNOWN, "Reconciliation: Task is unknown");
  }
  if (IsRecoveredAgent(*agent_id)) return std::nullopt;
  if (agents_.Find(*agent_id) != nullptr) {
    return reply(mesos::v1::TASK_GONE,
                 "Reconciliation: Task is unknown to the agent");
  }
  if (std::optional<absl::Time> since =
          registrar_.UnreachableSince(agent_id->value())) {
    mesos::v1::TaskStatus status = reply(mesos::v1::TASK_UNREACHABLE,
                                         "Reconciliation: Task is unreachable");
    status.mutable_unreachable_time()->set_nanoseconds(
        absl::ToUnixNanos(*since));
    return status;
  }
  if (registrar_.GoneSince(agent_id->value()).has_value()) {
    return reply(mesos::v1::TASK_GONE_BY_OPERATOR,
                 "Reconciliation: Task is gone");
  }
  return reply(mesos::v1::TASK_UNKNOWN, "Reconciliation: Task is unknown");
}

absl::Status Master::Reconcile(Framework* framework,
                               const SchedulerCall::Reconcile& reconcile) {
  if (reconcile.tasks().empty()) {
    LOG(INFO) << "Performing implicit task state reconciliation for "
              << "framework " << framework->id;
    for (TrackedTask* task : tasks_.TasksOf(framework->id)) {
      SendUpdate(*framework, ReconciliationStatus(*task));
    }
    return absl::OkStatus();
  }
  LOG(INFO) << "Performing explicit task state reconciliation for "
            << reconcile.tasks_size() << " tasks of framework "
            << framework->id;
  for (const auto& wanted : reconcile.tasks()) {
    const std::string& task_id = wanted.task_id().value();
    if (TrackedTask* task = tasks_.Find(framework->id, task_id)) {
      SendUpdate(*framework, ReconciliationStatus(*task));
      continue;
    }
    std::optional<AgentId> agent_id;
    if (wanted.has_agent_id()) agent_id = AgentId(wanted.agent_id().value());
    std::optional<mesos::v1::TaskStatus> status =
        UnknownTaskStatus(*framework, task_id, agent_id);
    if (!status.has_value()) {
      LOG(INFO) << "Dropping reconciliation of task " << task_id
                << " of framework " << framework->id
                << ": its agent has not reregistered yet";
      continue;
    }
    SendUpdate(*framework, *std::move(status));
  }
  return absl::OkStatus();
}

}  // namespace agora
