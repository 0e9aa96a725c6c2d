#include "agent/executor_launch.h"

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/flags_util.h"

extern char** environ;

namespace agora {
namespace {

std::string CommandDescription(const mesos::v1::CommandInfo& command) {
  if (command.shell()) {
    if (!command.has_value()) return "(Command: NO COMMAND)";
    const std::string& v = command.value();
    return absl::StrCat("(Command: sh -c '",
                        v.size() > 15 ? v.substr(0, 12) + "..." : v, "')");
  }
  if (!command.has_value()) return "(Command: NO EXECUTABLE)";
  std::string args = absl::StrCat(command.value(), ", ",
                                  absl::StrJoin(command.arguments(), ", "));
  return absl::StrCat("(Command: [",
                      args.size() > 15 ? args.substr(0, 12) + "..." : args,
                      "])");
}

void AddScalar(mesos::v1::ExecutorInfo* info, const char* name, double v) {
  mesos::v1::Resource* r = info->add_resources();
  r->set_name(name);
  r->set_type(mesos::v1::Value::SCALAR);
  r->mutable_scalar()->set_value(v);
}

}  // namespace

std::string SandboxPath(const std::string& work_dir,
                        const std::string& agent_id,
                        const std::string& framework_id,
                        const std::string& executor_id,
                        const std::string& container_id) {
  return absl::StrCat(work_dir, "/slaves/", agent_id, "/frameworks/",
                      framework_id, "/executors/", executor_id, "/runs/",
                      container_id);
}

absl::Status CreateSandbox(const std::string& sandbox) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(sandbox, ec);
  if (ec) {
    return absl::ErrnoToStatus(
        ec.value(), absl::StrCat("failed to create sandbox '", sandbox, "'"));
  }
  fs::path run(sandbox);
  fs::path latest = run.parent_path() / "latest";
  fs::path temp = run.parent_path() / absl::StrCat(".latest.", getpid());
  fs::remove(temp, ec);
  fs::create_directory_symlink(run.filename(), temp, ec);
  if (!ec) fs::rename(temp, latest, ec);
  if (ec) {
    return absl::ErrnoToStatus(
        ec.value(), absl::StrCat("failed to link '", latest.string(), "'"));
  }
  return absl::OkStatus();
}

mesos::v1::ExecutorInfo CommandExecutorInfo(
    const mesos::v1::FrameworkInfo& framework, const mesos::v1::TaskInfo& task,
    const std::string& executor_path) {
  mesos::v1::ExecutorInfo info;
  info.mutable_executor_id()->set_value(task.task_id().value());
  *info.mutable_framework_id() = framework.id();
  info.set_name(absl::StrCat("Command Executor (Task: ", task.task_id().value(),
                             ") ", CommandDescription(task.command())));
  mesos::v1::CommandInfo* command = info.mutable_command();
  command->set_shell(false);
  command->set_value(executor_path);
  command->add_arguments("agora-executor");
  if (task.command().has_environment()) {
    *command->mutable_environment() = task.command().environment();
  }
  if (task.command().has_user()) command->set_user(task.command().user());
  if (task.has_labels()) *info.mutable_labels() = task.labels();
  if (task.kill_policy().has_grace_period()) {
    // A little more than the kill grace, so TASK_KILLED gets out before
    // the container is destroyed.
    info.mutable_shutdown_grace_period()->set_nanoseconds(
        task.kill_policy().grace_period().nanoseconds() + 1000000000LL);
  }
  AddScalar(&info, "cpus", 0.1);
  AddScalar(&info, "mem", 32);
  return info;
}

LaunchSpec ExecutorLaunchSpec(const mesos::v1::ExecutorInfo& executor,
                              const ExecutorEnvironmentInputs& inputs) {
  LaunchSpec spec;
  const mesos::v1::CommandInfo& command = executor.command();
  if (command.shell()) {
    spec.program = "/bin/sh";
    spec.argv = {"sh", "-c", command.value()};
  } else {
    spec.program = command.value();
    spec.argv.assign(command.arguments().begin(), command.arguments().end());
    if (spec.argv.empty()) spec.argv.push_back(command.value());
  }
  spec.env = inputs.base;
  if (!spec.env.count("PATH")) {
    spec.env["PATH"] =
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  }
  for (const auto& var : command.environment().variables()) {
    if (var.type() == mesos::v1::Environment::Variable::SECRET) continue;
    spec.env[var.name()] = var.value();
  }
  spec.env["MESOS_FRAMEWORK_ID"] = executor.framework_id().value();
  spec.env["MESOS_EXECUTOR_ID"] = executor.executor_id().value();
  spec.env["MESOS_DIRECTORY"] = inputs.sandbox;
  spec.env["MESOS_SANDBOX"] = inputs.sandbox;
  spec.env["MESOS_AGENT_ENDPOINT"] = inputs.agent_endpoint;
  spec.env["MESOS_CHECKPOINT"] = inputs.checkpoint ? "1" : "0";
  if (inputs.checkpoint) {
    spec.env["MESOS_RECOVERY_TIMEOUT"] =
        FormatMesosDuration(inputs.recovery_timeout);
    spec.env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] =
        FormatMesosDuration(inputs.subscription_backoff_max);
  }
  absl::Duration grace = inputs.shutdown_grace_period;
  if (executor.has_shutdown_grace_period()) {
    grace = absl::Nanoseconds(executor.shutdown_grace_period().nanoseconds());
  }
  spec.env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] = FormatMesosDuration(grace);
  spec.env["AGORA_EXECUTOR_ENDPOINT"] = inputs.executor_endpoint;
  spec.cwd = inputs.sandbox;
  spec.stdout_path = inputs.sandbox + "/stdout";
  spec.stderr_path = inputs.sandbox + "/stderr";
  return spec;
}

std::map<std::string, std::string> AgentEnvironmentForExecutors() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == absl::string_view::npos) continue;
    std::string name(entry.substr(0, eq));
    if (absl::StartsWith(name, "AGORA_")) continue;
    env[name] = std::string(entry.substr(eq + 1));
  }
  return env;
}

}  // namespace agora
