// How the agent sets up an executor's container: the sandbox layout of
// Mesos (<work_dir>/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<cid>
// with a runs/latest symlink), the ExecutorInfo the agent makes for a
// command task, and the process (argv, environment, streams) it launches.
//
// Thread rule: plain functions.
#ifndef AGORA_AGENT_EXECUTOR_LAUNCH_H_
#define AGORA_AGENT_EXECUTOR_LAUNCH_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "isolation/launcher.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

// The sandbox (run) directory of one container.
std::string SandboxPath(const std::string& work_dir,
                        const std::string& agent_id,
                        const std::string& framework_id,
                        const std::string& executor_id,
                        const std::string& container_id);

// Creates `sandbox` and its parents, and points the `latest` symlink beside
// it (in runs/) at it. Errors carry the path and errno text.
absl::Status CreateSandbox(const std::string& sandbox);

// The ExecutorInfo Mesos makes for a command task: executor id = task id,
// the name "Command Executor (Task: <id>) (Command: sh -c '<value>')",
// `executor_path` as its program, the task's environment, a shutdown grace
// period of kill grace + 1 s when the task has a kill policy, and the
// command executor's 0.1 cpus / 32 MB overhead as its resources.
mesos::v1::ExecutorInfo CommandExecutorInfo(
    const mesos::v1::FrameworkInfo& framework, const mesos::v1::TaskInfo& task,
    const std::string& executor_path);

// Everything the environment of an executor depends on.
struct ExecutorEnvironmentInputs {
  // The agent's own environment to pass on (AGORA_* variables removed).
  std::map<std::string, std::string> base;
  std::string executor_endpoint;  // "unix:/path" of the agent's socket.
  std::string agent_endpoint;     // "ip:port" of the agent.
  std::string sandbox;
  bool checkpoint = false;
  absl::Duration shutdown_grace_period = absl::Seconds(5);
  // With checkpoint: how long the executor waits for a restarting agent
  // (--recovery_timeout) and at most between two attempts to resubscribe
  // (--executor_reregistration_timeout, as Mesos).
  absl::Duration recovery_timeout = absl::Minutes(15);
  absl::Duration subscription_backoff_max = absl::Seconds(2);
};

// The process that runs `executor` in `sandbox`: its command (shell or
// argv), `inputs.base` + the command's environment + Mesos's MESOS_*
// variables (MESOS_RECOVERY_TIMEOUT and MESOS_SUBSCRIPTION_BACKOFF_MAX with
// checkpoint) + AGORA_EXECUTOR_ENDPOINT, cwd and stdout/stderr in the
// sandbox.
LaunchSpec ExecutorLaunchSpec(const mesos::v1::ExecutorInfo& executor,
                              const ExecutorEnvironmentInputs& inputs);

// The environment of the agent process minus AGORA_* flag variables, so a
// task never inherits the agent's configuration.
std::map<std::string, std::string> AgentEnvironmentForExecutors();

}  // namespace agora

#endif  // AGORA_AGENT_EXECUTOR_LAUNCH_H_
