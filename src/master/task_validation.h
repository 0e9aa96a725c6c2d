// Task validation for ACCEPT/LAUNCH, as Mesos's master does it: pure
// functions over a TaskInfo and what the offers still hold. A task that
// fails gets TASK_ERROR with REASON_TASK_INVALID and the returned message.
//
// Thread rule: none (no shared state).
#ifndef AGORA_MASTER_TASK_VALIDATION_H_
#define AGORA_MASTER_TASK_VALIDATION_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/resources.h"
#include "common/strong_id.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

// Mesos's rules for ids (task, executor): not empty, not "." or "..", no
// '/', no whitespace or control characters. InvalidArgument with the reason.
absl::Status ValidateObjectId(absl::string_view kind, const std::string& id);

struct TaskLaunchContext {
  FrameworkId framework;
  AgentId agent;
  // The role of the offers; task resources without an allocation role get
  // it, ones with another role are invalid.
  std::string role;
  // What is left of the offers after the tasks before this one.
  Resources available;
  // True when `task_id` is taken by an active task of the framework (or an
  // earlier task of the same call).
  std::function<bool(const std::string& task_id)> task_id_in_use;
  // The framework's executor with that id on the agent, or null.
  std::function<const mesos::v1::ExecutorInfo*(const std::string&)>
      find_executor;
};

struct ValidatedTask {
  // The task as the agent gets it: allocation roles filled in, the
  // executor's framework_id set.
  mesos::v1::TaskInfo task;
  Resources task_resources;      // With allocation roles.
  Resources executor_resources;  // Only for an executor new on the agent.
  bool new_executor = false;
};

// InvalidArgument with a message naming the task and the problem: bad or
// duplicate task id, wrong agent, no or invalid resources, resources not
// contained in `available`, neither or both of command and executor, an
// empty command, a bad executor, a negative kill grace period.
absl::StatusOr<ValidatedTask> ValidateTask(const mesos::v1::TaskInfo& task,
                                           const TaskLaunchContext& context);

}  // namespace agora

#endif  // AGORA_MASTER_TASK_VALIDATION_H_
