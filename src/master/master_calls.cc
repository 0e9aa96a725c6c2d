// Master: scheduler calls other than SUBSCRIBE and ACCEPT.
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "master/master.h"

namespace agora {
namespace {

absl::Status MissingBody(SchedulerCall::Type type, absl::string_view field) {
  return absl::InvalidArgumentError(
      absl::StrCat(absl::AsciiStrToLower(SchedulerCall::Type_Name(type)), ": '",
                   field, "' is missing"));
}

}  // namespace

absl::Status Master::HandleCall(const SchedulerCall& call,
                                const std::string& stream_id) {
  DCHECK(loop_->IsLoopThread());
  absl::StatusOr<Framework*> framework = AuthorizeCall(call, stream_id);
  if (!framework.ok()) {
    LOG(WARNING) << "Rejecting " << SchedulerCall::Type_Name(call.type())
                 << " call: " << framework.status();
    return framework.status();
  }
  VLOG(1) << "Framework " << (*framework)->id << " sent "
          << SchedulerCall::Type_Name(call.type());
  absl::Status status = Dispatch(*framework, call);
  if (!status.ok()) {
    LOG(WARNING) << "Rejecting " << SchedulerCall::Type_Name(call.type())
                 << " call of framework " << (*framework)->id << ": " << status;
  }
  return status;
}

absl::StatusOr<Framework*> Master::AuthorizeCall(const SchedulerCall& call,
                                                 const std::string& stream_id) {
  if (shut_down_) return absl::UnavailableError("master is shutting down");
  if (call.type() == SchedulerCall::UNKNOWN) {
    return absl::InvalidArgumentError("call: 'type' is missing or UNKNOWN");
  }
  if (call.type() == SchedulerCall::SUBSCRIBE) {
    return absl::InvalidArgumentError(
        "call: SUBSCRIBE must be sent with the Subscribe rpc");
  }
  if (!call.has_framework_id() || call.framework_id().value().empty()) {
    return absl::InvalidArgumentError("call: 'framework_id' is missing");
  }
  FrameworkId id(call.framework_id().value());
  Framework* framework = frameworks_.Find(id);
  if (framework == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "framework ", id.value(),
        frameworks_.IsCompleted(id) ? " has been removed"
                                    : " is not known to this master"));
  }
  if (!framework->connected()) {
    return absl::FailedPreconditionError(
        absl::StrCat("framework ", id.value(), " is not subscribed"));
  }
  if (stream_id.empty()) {
    return absl::PermissionDeniedError(
        "call: metadata 'mesos-stream-id' is missing");
  }
  if (stream_id != framework->stream_id) {
    return absl::PermissionDeniedError(absl::StrCat(
        "call: stream id '", stream_id,
        "' does not match the subscription of framework ", id.value()));
  }
  return framework;
}

absl::Status Master::Dispatch(Framework* framework, const SchedulerCall& call) {
  switch (call.type()) {
    case SchedulerCall::TEARDOWN:
      return Teardown(framework);
    case SchedulerCall::ACCEPT:
      if (!call.has_accept()) return MissingBody(call.type(), "accept");
      return Accept(framework, call.accept());
    case SchedulerCall::DECLINE:
      if (!call.has_decline()) return MissingBody(call.type(), "decline");
      return Decline(framework, call.decline());
    case SchedulerCall::REVIVE:
      return ReviveOrSuppress(framework, call.revive().roles(), true);
    case SchedulerCall::SUPPRESS:
      return ReviveOrSuppress(framework, call.suppress().roles(), false);
    case SchedulerCall::KILL:
      if (!call.has_kill()) return MissingBody(call.type(), "kill");
      return Kill(framework, call.kill());
    case SchedulerCall::SHUTDOWN:
      if (!call.has_shutdown()) return MissingBody(call.type(), "shutdown");
      return ShutdownExecutor(framework, call.shutdown());
    case SchedulerCall::ACKNOWLEDGE:
      if (!call.has_acknowledge()) {
        return MissingBody(call.type(), "acknowledge");
      }
      return Acknowledge(framework, call.acknowledge());
    case SchedulerCall::RECONCILE:
      return Reconcile(framework, call.reconcile());
    case SchedulerCall::MESSAGE:
      if (!call.has_message()) return MissingBody(call.type(), "message");
      return Message(framework, call.message());
    case SchedulerCall::UPDATE_FRAMEWORK:
      if (!call.has_update_framework()) {
        return MissingBody(call.type(), "update_framework");
      }
      return UpdateFrameworkCall(framework, call.update_framework());
    case SchedulerCall::REQUEST:
      return absl::OkStatus();  // Ignored by the allocator, as in Mesos.
    default:
      return absl::UnimplementedError(
          absl::StrCat("call type ", SchedulerCall::Type_Name(call.type()),
                       " is not implemented by this master"));
  }
}

absl::Status Master::Decline(Framework* framework,
                             const SchedulerCall::Decline& decline) {
  // Validate first, so that an error leaves every offer untouched.
  for (const mesos::v1::OfferID& id : decline.offer_ids()) {
    OutstandingOffer* offer = offers_.Find(id.value());
    if (offer != nullptr && offer->framework != framework->id) {
      return absl::InvalidArgumentError(absl::StrCat(
          "decline: offer ", id.value(), " belongs to another framework"));
    }
  }
  absl::Duration refuse =
      RefuseDuration(decline.has_filters() ? &decline.filters() : nullptr);
  for (const mesos::v1::OfferID& id : decline.offer_ids()) {
    std::optional<OutstandingOffer> offer = TakeOffer(id.value());
    if (!offer.has_value()) {
      VLOG(1) << "Ignoring decline of offer " << id.value()
              << ", which is no longer valid";
      continue;
    }
    allocator_.RecoverResources(framework->id, offer->agent, offer->resources,
                                refuse, loop_->Now());
  }
  return absl::OkStatus();
}

absl::Status Master::ReviveOrSuppress(
    Framework* framework,
    const google::protobuf::RepeatedPtrField<std::string>& roles, bool revive) {
  std::set<std::string> set;
  for (const std::string& role : roles) {
    if (framework->roles.count(role) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          revive ? "revive" : "suppress", ": role '", role,
          "' is not one of the roles of framework ", framework->id.value()));
    }
    set.insert(role);
  }
  const std::set<std::string>& affected = set.empty() ? framework->roles : set;
  if (revive) {
    for (const std::string& role : affected) {
      framework->suppressed_roles.erase(role);
    }
    allocator_.ReviveOffers(framework->id, set);
    RequestAllocation();
  } else {
    framework->suppressed_roles.insert(affected.begin(), affected.end());
    allocator_.SuppressOffers(framework->id, set);
  }
  return absl::OkStatus();
}

absl::Status Master::Kill(Framework* framework,
                          const SchedulerCall::Kill& kill) {
  const std::string& task_id = kill.task_id().value();
  if (task_id.empty()) {
    return absl::InvalidArgumentError("kill: 'task_id' is missing");
  }
  TrackedTask* task = tasks_.Find(framework->id, task_id);
  if (task == nullptr) {
    // As Mesos: the answer is whatever reconciliation says about it.
    LOG(WARNING) << "Cannot kill task " << task_id << " of framework "
                 << framework->id << ": unknown task; reconciling it";
    SchedulerCall::Reconcile reconcile;
    SchedulerCall::Reconcile::Task* wanted = reconcile.add_tasks();
    wanted->mutable_task_id()->set_value(task_id);
    if (kill.has_agent_id()) *wanted->mutable_agent_id() = kill.agent_id();
    return Reconcile(framework, reconcile);
  }
  if (kill.has_agent_id() && kill.agent_id().value() != task->agent.value()) {
    LOG(WARNING) << "Ignoring kill of task " << task_id << " of framework "
                 << framework->id << " on agent " << kill.agent_id().value()
                 << ": the task is on agent " << task->agent;
    return absl::OkStatus();
  }
  metrics_.Increment("master/messages_kill_task");
  internal::MasterMessage message;
  internal::KillTask* out = message.mutable_kill_task();
  out->mutable_framework_id()->set_value(framework->id.value());
  out->mutable_task_id()->set_value(task_id);
  if (kill.has_kill_policy()) {
    *out->mutable_kill_policy() = kill.kill_policy();
  } else if (task->task.has_kill_policy()) {
    *out->mutable_kill_policy() = task->task.kill_policy();
  }
  Agent* agent = agents_.Find(task->agent);
  if (agent == nullptr) {
    LOG(WARNING) << "Cannot kill task " << task_id << " of framework "
                 << framework->id << ": agent " << task->agent
                 << " is not known";
    return absl::OkStatus();
  }
  if (!agent->connected()) {
    LOG(WARNING) << "Cannot kill task " << task_id << " of framework "
                 << framework->id << " now because agent " << task->agent
                 << " is disconnected; the kill will be retried if the agent "
                    "reregisters";
    agent->pending_kills[{framework->id.value(), task_id}] = std::move(message);
    return absl::OkStatus();
  }
  LOG(INFO) << "Asking agent " << agent->id << " to kill task " << task_id
            << " of framework " << framework->id;
  agent->Send(std::move(message));
  return absl::OkStatus();
}

absl::Status Master::ShutdownExecutor(Framework* framework,
                                      const SchedulerCall::Shutdown& shutdown) {
  Agent* agent = agents_.Find(AgentId(shutdown.agent_id().value()));
  if (agent == nullptr || !agent->connected()) {
    LOG(WARNING) << "Cannot shut down executor "
                 << shutdown.executor_id().value() << " of framework "
                 << framework->id << ": agent " << shutdown.agent_id().value()
                 << " is not connected";
    return absl::OkStatus();
  }
  internal::MasterMessage message;
  internal::ShutdownExecutor* out = message.mutable_shutdown_executor();
  out->mutable_framework_id()->set_value(framework->id.value());
  *out->mutable_executor_id() = shutdown.executor_id();
  agent->Send(std::move(message));
  return absl::OkStatus();
}

absl::Status Master::Acknowledge(Framework* framework,
                                 const SchedulerCall::Acknowledge& ack) {
  if (ack.uuid().size() != 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "acknowledge: 'uuid' must be 16 bytes, not ", ack.uuid().size()));
  }
  const std::string& task_id = ack.task_id().value();
  AgentId agent_id(ack.agent_id().value());
  Agent* agent = agents_.Find(agent_id);
  TrackedTask* task = tasks_.Find(framework->id, task_id);
  const char* problem = nullptr;
  if (agent == nullptr || !agent->connected()) {
    problem = "its agent is not connected";
  } else if (task == nullptr) {
    problem = "the task is unknown";
  } else if (task->agent != agent_id ||
             task->task.status_update_uuid() != ack.uuid()) {
    problem = "it is not for the task's pending update";
  }
  if (problem != nullptr) {
    LOG(WARNING) << "Ignoring acknowledgement for task " << task_id
                 << " of framework " << framework->id << ": " << problem;
    metrics_.Increment("master/invalid_status_update_acknowledgements");
    return absl::OkStatus();
  }
  bool completed = IsTerminalState(task->task.status_update_state());
  task->task.clear_status_update_uuid();
  if (completed && !task->terminal()) {
    task->task.set_state(task->task.status_update_state());
    OnTaskTerminal(task);
  }
  internal::MasterMessage message;
  internal::StatusUpdateAcknowledgement* out =
      message.mutable_acknowledgement();
  out->mutable_framework_id()->set_value(framework->id.value());
  out->mutable_task_id()->set_value(task_id);
  out->set_uuid(ack.uuid());
  agent->Send(std::move(message));
  metrics_.Increment("master/valid_status_update_acknowledgements");
  if (completed) tasks_.Complete(framework->id, task_id);
  return absl::OkStatus();
}

absl::Status Master::Message(Framework* framework,
                             const SchedulerCall::Message& message) {
  Agent* agent = agents_.Find(AgentId(message.agent_id().value()));
  if (agent == nullptr || !agent->connected()) {
    LOG(WARNING) << "Dropping message of framework " << framework->id
                 << " to executor " << message.executor_id().value()
                 << ": agent " << message.agent_id().value()
                 << " is not connected";
    metrics_.Increment("master/invalid_framework_to_executor_messages");
    return absl::OkStatus();
  }
  internal::MasterMessage out;
  internal::FrameworkToExecutor* relay = out.mutable_framework_to_executor();
  relay->mutable_framework_id()->set_value(framework->id.value());
  *relay->mutable_executor_id() = message.executor_id();
  relay->set_data(message.data());
  agent->Send(std::move(out));
  metrics_.Increment("master/valid_framework_to_executor_messages");
  return absl::OkStatus();
}

absl::Status Master::UpdateFrameworkCall(
    Framework* framework, const SchedulerCall::UpdateFramework& update) {
  const mesos::v1::FrameworkInfo& info = update.framework_info();
  if (info.id().value() != framework->id.value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "update_framework: 'framework_info.id' (", info.id().value(),
        ") differs from 'framework_id' (", framework->id.value(), ")"));
  }
  AGORA_RETURN_IF_ERROR(ValidateFrameworkInfo(info));
  std::set<std::string> suppressed(update.suppressed_roles().begin(),
                                   update.suppressed_roles().end());
  AGORA_RETURN_IF_ERROR(UpdateFramework(framework, info, suppressed));
  LOG(INFO) << "Updated framework " << framework->id << " ("
            << framework->info.name() << ")";
  // New roles may have offers waiting.
  RequestAllocation();
  return absl::OkStatus();
}

}  // namespace agora
