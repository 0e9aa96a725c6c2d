#include "master/task_validation.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "common/resources_proto.h"
#include "common/status_macros.h"

namespace agora {
namespace {

using mesos::v1::CommandInfo;
using mesos::v1::ExecutorInfo;
using mesos::v1::TaskInfo;

absl::Status TaskError(const TaskInfo& task, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("task '", task.task_id().value(), "': ", what));
}

// Fills in the allocation role of `resources` and parses them.
absl::StatusOr<Resources> AllocatedResources(
    google::protobuf::RepeatedPtrField<mesos::v1::Resource>* resources,
    const std::string& role) {
  for (mesos::v1::Resource& r : *resources) {
    if (!r.has_allocation_info() || !r.allocation_info().has_role()) {
      r.mutable_allocation_info()->set_role(role);
    } else if (r.allocation_info().role() != role) {
      return absl::InvalidArgumentError(
          absl::StrCat("resource '", r.name(), "' is allocated to role '",
                       r.allocation_info().role(),
                       "' but the offers are for role '", role, "'"));
    }
  }
  return FromProto(*resources);
}

absl::Status ValidateCommand(const CommandInfo& command) {
  if (command.shell()) {
    if (command.value().empty()) {
      return absl::InvalidArgumentError("shell command is empty");
    }
  } else if (command.value().empty()) {
    return absl::InvalidArgumentError(
        "command without shell needs the executable path in 'value'");
  }
  return absl::OkStatus();
}

absl::Status ValidateKillPolicy(const TaskInfo& task) {
  if (task.has_kill_policy() && task.kill_policy().has_grace_period() &&
      task.kill_policy().grace_period().nanoseconds() < 0) {
    return TaskError(task, "kill policy grace period must not be negative");
  }
  if (task.has_max_completion_time() &&
      task.max_completion_time().nanoseconds() < 0) {
    return TaskError(task, "max_completion_time must not be negative");
  }
  return absl::OkStatus();
}

// Same executor id, different definition: Mesos refuses the launch.
bool SameExecutor(ExecutorInfo a, ExecutorInfo b) {
  a.clear_resources();
  b.clear_resources();
  a.clear_framework_id();
  b.clear_framework_id();
  return a.SerializeAsString() == b.SerializeAsString();
}

absl::Status ValidateExecutor(ValidatedTask* out,
                              const TaskLaunchContext& context) {
  ExecutorInfo* executor = out->task.mutable_executor();
  const TaskInfo& task = out->task;
  const std::string& id = executor->executor_id().value();
  if (absl::Status s = ValidateObjectId("executor id", id); !s.ok()) {
    return TaskError(task, s.message());
  }
  if (executor->has_framework_id() &&
      executor->framework_id().value() != context.framework.value()) {
    return TaskError(
        task, absl::StrCat("executor '", id, "' names another framework '",
                           executor->framework_id().value(), "'"));
  }
  executor->mutable_framework_id()->set_value(context.framework.value());
  if (const ExecutorInfo* known = context.find_executor(id)) {
    if (!SameExecutor(*known, *executor)) {
      return TaskError(task, absl::StrCat("executor '", id,
                                          "' is already running on the agent "
                                          "with a different ExecutorInfo"));
    }
    return absl::OkStatus();
  }
  if (!executor->has_command()) {
    return TaskError(task, absl::StrCat("executor '", id, "' has no command"));
  }
  if (absl::Status s = ValidateCommand(executor->command()); !s.ok()) {
    return TaskError(task, absl::StrCat("executor '", id, "': ", s.message()));
  }
  absl::StatusOr<Resources> resources =
      AllocatedResources(executor->mutable_resources(), context.role);
  if (!resources.ok()) {
    return TaskError(task, absl::StrCat("executor '", id,
                                        "' uses invalid "
                                        "resources: ",
                                        resources.status().message()));
  }
  out->executor_resources = *std::move(resources);
  out->new_executor = true;
  return absl::OkStatus();
}

absl::Status ValidateRunnable(ValidatedTask* out,
                              const TaskLaunchContext& context) {
  const TaskInfo& task = out->task;
  if (task.has_command() == task.has_executor()) {
    return TaskError(task,
                     "exactly one of 'command' and 'executor' must be set");
  }
  if (task.has_command()) {
    if (absl::Status s = ValidateCommand(task.command()); !s.ok()) {
      return TaskError(task, s.message());
    }
    return absl::OkStatus();
  }
  return ValidateExecutor(out, context);
}

absl::Status ValidateResources(ValidatedTask* out,
                               const TaskLaunchContext& context) {
  const TaskInfo& task = out->task;
  if (task.resources().empty()) return TaskError(task, "uses no resources");
  absl::StatusOr<Resources> resources =
      AllocatedResources(out->task.mutable_resources(), context.role);
  if (!resources.ok()) {
    return TaskError(task, absl::StrCat("uses invalid resources: ",
                                        resources.status().message()));
  }
  if (resources->empty()) return TaskError(task, "uses no resources");
  out->task_resources = *std::move(resources);
  Resources needed = out->task_resources + out->executor_resources;
  if (!context.available.Contains(needed)) {
    return TaskError(task,
                     absl::StrCat("uses more resources (", needed.ToString(),
                                  ") than the offers have left (",
                                  context.available.ToString(), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateObjectId(absl::string_view kind, const std::string& id) {
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(kind, " is empty"));
  }
  if (id == "." || id == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " '", id, "' is not allowed"));
  }
  for (char c : id) {
    if (c == '/' || std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          kind, " '", id, "' contains '/', whitespace or a control character"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ValidatedTask> ValidateTask(const TaskInfo& task,
                                           const TaskLaunchContext& context) {
  ValidatedTask out;
  out.task = task;
  if (absl::Status s = ValidateObjectId("task id", task.task_id().value());
      !s.ok()) {
    return TaskError(task, s.message());
  }
  if (context.task_id_in_use(task.task_id().value())) {
    return TaskError(task,
                     "duplicate task id: a task with this id is "
                     "already known to the framework");
  }
  if (task.agent_id().value() != context.agent.value()) {
    return TaskError(task,
                     absl::StrCat("names agent '", task.agent_id().value(),
                                  "' but the offers are on agent '",
                                  context.agent.value(), "'"));
  }
  AGORA_RETURN_IF_ERROR(ValidateKillPolicy(task));
  AGORA_RETURN_IF_ERROR(ValidateRunnable(&out, context));
  AGORA_RETURN_IF_ERROR(ValidateResources(&out, context));
  return out;
}

}  // namespace agora
