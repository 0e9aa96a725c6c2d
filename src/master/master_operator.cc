// Master: the operator API (mesos.v1.master.Call over agora.v1.Operator/Call).
// HandleOperatorCall() is the single dispatch point: a new call type gets a
// case there and a member here; validation errors are InvalidArgument and
// leave the master untouched.
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/flags_util.h"
#include "common/resources_proto.h"
#include "glog/logging.h"
#include "master/master.h"

namespace agora {
namespace {

using OperatorCall = mesos::v1::master::Call;
using OperatorResponse = mesos::v1::master::Response;

mesos::v1::TimeInfo TimeInfoOf(absl::Time time) {
  mesos::v1::TimeInfo out;
  out.set_nanoseconds(absl::ToUnixNanos(time));
  return out;
}

void AddFlag(OperatorResponse::GetFlags* flags, const std::string& name,
             const std::string& value) {
  mesos::v1::Flag* flag = flags->add_flags();
  flag->set_name(name);
  flag->set_value(value);
}

}  // namespace

void Master::HandleOperatorCall(const OperatorCall& call, OperatorDone done) {
  DCHECK(loop_->IsLoopThread());
  if (shut_down_)
    return done(absl::UnavailableError("master is shutting down"));
  VLOG(1) << "Operator call " << OperatorCall::Type_Name(call.type());
  switch (call.type()) {
    case OperatorCall::MARK_AGENT_GONE: {
      if (!call.has_mark_agent_gone() ||
          call.mark_agent_gone().agent_id().value().empty()) {
        return done(absl::InvalidArgumentError(
            "mark_agent_gone: 'mark_agent_gone.agent_id' is missing"));
      }
      return MarkAgentGone(
          AgentId(call.mark_agent_gone().agent_id().value()),
          [done = std::move(done)](absl::Status status) {
            if (!status.ok()) return done(status);
            done(OperatorResponse());  // Mesos answers 200 with no body.
          });
    }
    case OperatorCall::GET_WEIGHTS:
    case OperatorCall::UPDATE_WEIGHTS:
    case OperatorCall::GET_QUOTA:
    case OperatorCall::UPDATE_QUOTA:
    case OperatorCall::RESERVE_RESOURCES:
    case OperatorCall::UNRESERVE_RESOURCES:
      // master_operator_roles.cc
      return HandleRoleOperatorCall(call, std::move(done));
    default:
      return done(HandleReadOperatorCall(call));
  }
}

absl::StatusOr<OperatorResponse> Master::HandleReadOperatorCall(
    const OperatorCall& call) {
  OperatorResponse response;
  switch (call.type()) {
    case OperatorCall::GET_HEALTH:
      response.set_type(OperatorResponse::GET_HEALTH);
      response.mutable_get_health()->set_healthy(true);
      return response;
    case OperatorCall::GET_FLAGS: {
      response.set_type(OperatorResponse::GET_FLAGS);
      auto* flags = response.mutable_get_flags();
      AddFlag(flags, "agent_ping_timeout",
              FormatMesosDuration(options_.agent_ping_timeout));
      AddFlag(flags, "allocation_interval",
              FormatMesosDuration(options_.allocation_interval));
      AddFlag(flags, "hostname", options_.hostname);
      AddFlag(flags, "ip", options_.ip);
      AddFlag(flags, "max_agent_ping_timeouts",
              std::to_string(options_.max_agent_ping_timeouts));
      AddFlag(flags, "max_completed_frameworks",
              std::to_string(options_.max_completed_frameworks));
      AddFlag(flags, "max_completed_tasks_per_framework",
              std::to_string(options_.max_completed_tasks_per_framework));
      AddFlag(flags, "max_unreachable_tasks_per_framework",
              std::to_string(options_.max_unreachable_tasks_per_framework));
      if (options_.offer_timeout.has_value()) {
        AddFlag(flags, "offer_timeout",
                FormatMesosDuration(*options_.offer_timeout));
      }
      AddFlag(flags, "registry", RegistryKindName(options_.registry));
      AddFlag(flags, "registry_gc_interval",
              FormatMesosDuration(options_.registry_gc_interval));
      AddFlag(flags, "registry_max_agent_age",
              FormatMesosDuration(options_.registry_max_agent_age));
      AddFlag(flags, "registry_max_agent_count",
              std::to_string(options_.registry_max_agent_count));
      AddFlag(flags, "registry_store_timeout",
              FormatMesosDuration(options_.registry_store_timeout));
      AddFlag(flags, "work_dir", options_.work_dir);
      return response;
    }
    case OperatorCall::GET_MASTER: {
      response.set_type(OperatorResponse::GET_MASTER);
      auto* master = response.mutable_get_master();
      *master->mutable_master_info() = info_;
      master->set_start_time(
          absl::ToDoubleSeconds(start_time_ - absl::UnixEpoch()));
      master->set_elected_time(master->start_time());
      return response;
    }
    case OperatorCall::GET_AGENTS:
      response.set_type(OperatorResponse::GET_AGENTS);
      *response.mutable_get_agents() = GetAgents();
      return response;
    case OperatorCall::GET_FRAMEWORKS:
      response.set_type(OperatorResponse::GET_FRAMEWORKS);
      *response.mutable_get_frameworks() = GetFrameworks();
      return response;
    case OperatorCall::GET_TASKS:
      response.set_type(OperatorResponse::GET_TASKS);
      *response.mutable_get_tasks() = GetTasks();
      return response;
    case OperatorCall::GET_STATE: {
      response.set_type(OperatorResponse::GET_STATE);
      auto* state = response.mutable_get_state();
      *state->mutable_get_agents() = GetAgents();
      *state->mutable_get_frameworks() = GetFrameworks();
      *state->mutable_get_tasks() = GetTasks();
      auto* executors = state->mutable_get_executors();
      tasks_.ForEachExecutor([executors](const AgentId& agent,
                                         const FrameworkId&,
                                         const TrackedExecutor& executor) {
        auto* out = executors->add_executors();
        *out->mutable_executor_info() = executor.info;
        out->mutable_agent_id()->set_value(agent.value());
      });
      return response;
    }
    case OperatorCall::UNKNOWN:
      return absl::InvalidArgumentError("call: 'type' is missing or UNKNOWN");
    default:
      return absl::UnimplementedError(
          absl::StrCat("operator call ", OperatorCall::Type_Name(call.type()),
                       " is not implemented by this master"));
  }
}

// Mesos's Master::Http::markAgentGone: idempotent; a registered agent is
// shut down and removed, an unreachable agent's tasks are completed, a
// recovered agent is only recorded.
void Master::MarkAgentGone(const AgentId& id,
                           std::function<void(absl::Status)> done) {
  if (registrar_.GoneSince(id.value()).has_value()) {
    LOG(WARNING) << "Not marking agent " << id
                 << " gone: it has already transitioned to gone";
    return done(absl::OkStatus());
  }
  const bool unreachable = registrar_.UnreachableSince(id.value()).has_value();
  if (agents_.Find(id) == nullptr && !unreachable && !IsRecoveredAgent(id)) {
    return done(absl::NotFoundError(
        absl::StrCat("Agent '", id.value(), "' not found")));
  }
  registrar_.MarkGone(
      id.value(), loop_->Now(),
      [this, id, done = std::move(done)](absl::Status status) {
        if (!status.ok()) {
          LOG(ERROR) << "Failed to mark agent " << id << " gone: " << status;
          return done(absl::UnavailableError(
              absl::StrCat("failed to record agent ", id.value(),
                           " as gone: ", status.message())));
        }
        if (shut_down_) {
          return done(absl::UnavailableError("master is shutting down"));
        }
        LOG(INFO) << "Marked agent " << id << " gone";
        if (Agent* agent = agents_.Find(id)) {
          internal::MasterMessage shutdown;
          shutdown.mutable_shutdown_agent()->set_message(kAgentGoneMessage);
          agent->Send(std::move(shutdown));
          RemoveAgent(agent, kAgentGoneMessage, std::nullopt);
        } else {
          MarkUnreachableTasksGone(id, kAgentGoneMessage);
        }
        done(absl::OkStatus());
      });
}

void Master::MarkUnreachableTasksGone(const AgentId& id,
                                      const std::string& message) {
  for (mesos::v1::Task& task : unreachable_tasks_.TakeOn(id)) {
    FrameworkId framework_id(task.framework_id().value());
    Framework* framework = frameworks_.Find(framework_id);
    if (framework == nullptr) continue;
    const bool aware = framework->partition_aware;
    mesos::v1::TaskStatus status = MasterStatus(
        task.task_id().value(), id.value(),
        aware ? mesos::v1::TASK_GONE_BY_OPERATOR : mesos::v1::TASK_LOST,
        aware ? mesos::v1::TaskStatus::REASON_AGENT_REMOVED_BY_OPERATOR
              : mesos::v1::TaskStatus::REASON_AGENT_REMOVED,
        message);
    if (task.has_executor_id())
      *status.mutable_executor_id() = task.executor_id();
    if (!IsTerminalState(task.state())) {
      task.set_state(status.state());
      CountTerminal(status.state());
    }
    if (framework->connected()) SendUpdate(*framework, status);
    // Completed, unless the framework reused the id meanwhile.
    if (tasks_.Find(framework_id, task.task_id().value()) != nullptr) continue;
    std::string task_id = task.task_id().value();
    TrackedTask* tracked =
        tasks_.Add(framework_id, id, std::move(task), Resources());
    TaskTracker::AddStatus(tracked, std::move(status));
    tasks_.Complete(framework_id, task_id);
  }
}

mesos::v1::master::Response::GetAgents Master::GetAgents() {
  OperatorResponse::GetAgents out;
  for (const auto& [id, agent] : agents_.all()) {
    auto* a = out.add_agents();
    *a->mutable_agent_info() = agent->info;
    a->set_active(agent->active);
    a->set_deactivated(false);
    a->set_version(agent->version);
    a->set_pid(absl::StrCat(
        "slave(1)@", agent->ip.empty() ? agent->info.hostname() : agent->ip,
        ":", agent->info.port()));
    *a->mutable_registered_time() = TimeInfoOf(agent->registered_time);
    if (agent->reregistered_time != absl::Time()) {
      *a->mutable_reregistered_time() = TimeInfoOf(agent->reregistered_time);
    }
    *a->mutable_total_resources() = ToProto(agent->total);
    *a->mutable_allocated_resources() = ToProto(tasks_.UsedOn(id));
    *a->mutable_offered_resources() = ToProto(offers_.OfferedOn(id));
  }
  for (const auto& [id, info] : registrar_.agents()) {
    if (IsRecoveredAgent(AgentId(id))) *out.add_recovered_agents() = info;
  }
  return out;
}

mesos::v1::master::Response::GetFrameworks Master::GetFrameworks() {
  OperatorResponse::GetFrameworks out;
  for (const auto& [id, framework] : frameworks_.all()) {
    auto* f = out.add_frameworks();
    *f->mutable_framework_info() = framework->info;
    f->set_active(framework->connected());
    f->set_connected(framework->connected());
    f->set_recovered(framework->recovered);
    *f->mutable_registered_time() = TimeInfoOf(framework->registered_time);
    if (framework->reregistered_time != absl::Time()) {
      *f->mutable_reregistered_time() =
          TimeInfoOf(framework->reregistered_time);
    }
    if (!framework->connected() &&
        framework->unregistered_time != absl::Time()) {
      *f->mutable_unregistered_time() =
          TimeInfoOf(framework->unregistered_time);
    }
    for (const std::string& offer : offers_.OffersOf(id)) {
      *f->add_offers() = offers_.Find(offer)->offer;
    }
    *f->mutable_allocated_resources() = ToProto(tasks_.UsedBy(id));
    *f->mutable_offered_resources() = ToProto(offers_.OfferedTo(id));
  }
  for (const CompletedFramework& done : frameworks_.completed()) {
    auto* f = out.add_completed_frameworks();
    *f->mutable_framework_info() = done.info;
    f->set_active(false);
    f->set_connected(false);
    f->set_recovered(false);
    *f->mutable_registered_time() = TimeInfoOf(done.registered_time);
    *f->mutable_unregistered_time() = TimeInfoOf(done.unregistered_time);
  }
  return out;
}

mesos::v1::master::Response::GetTasks Master::GetTasks() {
  OperatorResponse::GetTasks out;
  for (const auto& [id, framework] : frameworks_.all()) {
    for (TrackedTask* task : tasks_.TasksOf(id)) *out.add_tasks() = task->task;
    for (const mesos::v1::Task* task : unreachable_tasks_.Of(id)) {
      *out.add_unreachable_tasks() = *task;
    }
    for (const mesos::v1::Task& task : tasks_.CompletedOf(id)) {
      *out.add_completed_tasks() = task;
    }
  }
  for (const CompletedFramework& done : frameworks_.completed()) {
    for (const mesos::v1::Task& task : done.tasks) {
      *out.add_completed_tasks() = task;
    }
  }
  return out;
}

}  // namespace agora
