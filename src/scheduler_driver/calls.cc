#include "scheduler_driver/calls.h"

#include "absl/strings/str_cat.h"

namespace agora::scheduler_driver {

namespace {

SchedulerCall OfType(SchedulerCall::Type type) {
  SchedulerCall call;
  call.set_type(type);
  return call;
}

}  // namespace

SchedulerCall SubscribeCall(const mesos::v1::FrameworkInfo& framework,
                            const std::set<std::string>& suppressed_roles) {
  SchedulerCall call = OfType(SchedulerCall::SUBSCRIBE);
  if (framework.has_id()) *call.mutable_framework_id() = framework.id();
  *call.mutable_subscribe()->mutable_framework_info() = framework;
  for (const std::string& role : suppressed_roles) {
    call.mutable_subscribe()->add_suppressed_roles(role);
  }
  return call;
}

SchedulerCall UpdateFrameworkCall(
    const mesos::v1::FrameworkInfo& framework,
    const std::vector<std::string>& suppressed_roles) {
  SchedulerCall call = OfType(SchedulerCall::UPDATE_FRAMEWORK);
  *call.mutable_update_framework()->mutable_framework_info() = framework;
  for (const std::string& role : suppressed_roles) {
    call.mutable_update_framework()->add_suppressed_roles(role);
  }
  return call;
}

SchedulerCall TeardownCall() { return OfType(SchedulerCall::TEARDOWN); }

SchedulerCall AcceptCall(
    const std::vector<mesos::v1::OfferID>& offer_ids,
    const std::vector<mesos::v1::Offer::Operation>& operations,
    const mesos::v1::Filters& filters) {
  SchedulerCall call = OfType(SchedulerCall::ACCEPT);
  SchedulerCall::Accept* accept = call.mutable_accept();
  for (const auto& id : offer_ids) *accept->add_offer_ids() = id;
  for (const auto& op : operations) *accept->add_operations() = op;
  *accept->mutable_filters() = filters;
  return call;
}

SchedulerCall LaunchCall(const std::vector<mesos::v1::OfferID>& offer_ids,
                         const std::vector<mesos::v1::TaskInfo>& tasks,
                         const mesos::v1::Filters& filters) {
  std::vector<mesos::v1::Offer::Operation> operations;
  if (!tasks.empty()) {
    mesos::v1::Offer::Operation& launch = operations.emplace_back();
    launch.set_type(mesos::v1::Offer::Operation::LAUNCH);
    for (const auto& task : tasks) {
      *launch.mutable_launch()->add_task_infos() = task;
    }
  }
  return AcceptCall(offer_ids, operations, filters);
}

SchedulerCall DeclineCall(const std::vector<mesos::v1::OfferID>& offer_ids,
                          const mesos::v1::Filters& filters) {
  SchedulerCall call = OfType(SchedulerCall::DECLINE);
  for (const auto& id : offer_ids)
    *call.mutable_decline()->add_offer_ids() = id;
  *call.mutable_decline()->mutable_filters() = filters;
  return call;
}

SchedulerCall ReviveCall(const std::vector<std::string>& roles) {
  SchedulerCall call = OfType(SchedulerCall::REVIVE);
  call.mutable_revive();
  for (const auto& role : roles) call.mutable_revive()->add_roles(role);
  return call;
}

SchedulerCall SuppressCall(const std::vector<std::string>& roles) {
  SchedulerCall call = OfType(SchedulerCall::SUPPRESS);
  call.mutable_suppress();
  for (const auto& role : roles) call.mutable_suppress()->add_roles(role);
  return call;
}

SchedulerCall KillCall(const mesos::v1::TaskID& task_id) {
  SchedulerCall call = OfType(SchedulerCall::KILL);
  *call.mutable_kill()->mutable_task_id() = task_id;
  return call;
}

absl::StatusOr<SchedulerCall> AcknowledgeCall(
    const mesos::v1::TaskStatus& status) {
  if (!status.has_uuid()) {
    return absl::InvalidArgumentError(
        absl::StrCat("update for task '", status.task_id().value(),
                     "' has no uuid: it comes from the master and needs no "
                     "acknowledgement"));
  }
  if (!status.has_agent_id()) {
    return absl::InvalidArgumentError(
        absl::StrCat("update for task '", status.task_id().value(),
                     "' has no agent id to acknowledge it with"));
  }
  SchedulerCall call = OfType(SchedulerCall::ACKNOWLEDGE);
  SchedulerCall::Acknowledge* ack = call.mutable_acknowledge();
  *ack->mutable_agent_id() = status.agent_id();
  *ack->mutable_task_id() = status.task_id();
  ack->set_uuid(status.uuid());
  return call;
}

SchedulerCall ReconcileCall(
    const std::vector<mesos::v1::TaskStatus>& statuses) {
  SchedulerCall call = OfType(SchedulerCall::RECONCILE);
  call.mutable_reconcile();
  for (const auto& status : statuses) {
    SchedulerCall::Reconcile::Task* task =
        call.mutable_reconcile()->add_tasks();
    *task->mutable_task_id() = status.task_id();
    if (status.has_agent_id()) *task->mutable_agent_id() = status.agent_id();
  }
  return call;
}

SchedulerCall MessageCall(const mesos::v1::ExecutorID& executor_id,
                          const mesos::v1::AgentID& agent_id,
                          const std::string& data) {
  SchedulerCall call = OfType(SchedulerCall::MESSAGE);
  *call.mutable_message()->mutable_executor_id() = executor_id;
  *call.mutable_message()->mutable_agent_id() = agent_id;
  call.mutable_message()->set_data(data);
  return call;
}

}  // namespace agora::scheduler_driver
