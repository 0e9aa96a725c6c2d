#include "cli/execute_options.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agora/scheduler.h"
#include "common/flags_util.h"
#include "common/resources_proto.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace agora::cli {

namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view value,
                       absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "='", value, "': ", why));
}

// The task needs plain amounts: reservations and allocation are decided by
// the offer the task is launched on.
Resources Plain(const Resources& parsed) {
  Resources out;
  for (Resource r : parsed.items()) {
    r.reservations.clear();
    r.allocation_role.clear();
    out += r;
  }
  return out;
}

absl::StatusOr<Resources> ParseTaskResources(const std::string& text) {
  absl::StatusOr<Resources> parsed = Resources::Parse(text);
  if (!parsed.ok()) {
    return FlagError("resources", text, parsed.status().message());
  }
  Resources plain = Plain(*parsed);
  if (plain.empty()) return FlagError("resources", text, "no resources");
  return plain;
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseEnvironment(
    absl::string_view text) {
  std::string json(text);
  if (absl::StartsWith(text, "file://")) {
    std::string path(text.substr(7));
    std::ifstream in(path);
    if (!in) return FlagError("env", text, "cannot read " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    json = buffer.str();
  }
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return FlagError("env", text,
                     "expected a JSON object of strings such as "
                     "{\"NAME\":\"value\"}");
  }
  std::map<std::string, std::string> env;
  for (const auto& [key, value] : parsed.items()) {
    if (!value.is_string()) {
      return FlagError("env", text,
                       "the value of '" + key + "' is not a JSON string");
    }
    env[key] = value.get<std::string>();
  }
  return env;
}

absl::StatusOr<ExecuteOptions> ValidateExecuteFlags(const ExecuteFlags& flags) {
  ExecuteOptions options;
  if (flags.master.empty()) {
    return absl::InvalidArgumentError(
        "--master is required (the master's host:port)");
  }
  AGORA_RETURN_IF_ERROR(ValidateMasterAddress(flags.master));
  if (flags.name.empty()) {
    return absl::InvalidArgumentError(
        "--name is required (it is also the task id)");
  }
  if (flags.command.empty()) {
    return absl::InvalidArgumentError("--command is required");
  }
  if (flags.instances < 1) {
    return FlagError("instances", std::to_string(flags.instances),
                     "must be at least 1");
  }
  absl::Status role = ValidateRole(flags.role);
  if (!role.ok()) return FlagError("role", flags.role, role.message());
  AGORA_ASSIGN_OR_RETURN(options.resources,
                         ParseTaskResources(flags.resources));
  if (!flags.env.empty()) {
    AGORA_ASSIGN_OR_RETURN(options.env, ParseEnvironment(flags.env));
  }
  if (!flags.kill_after.empty()) {
    absl::StatusOr<absl::Duration> d = ParseDuration(flags.kill_after);
    if (!d.ok())
      return FlagError("kill_after", flags.kill_after, d.status().message());
    options.kill_after = *d;
  }
  options.master = flags.master;
  options.name = flags.name;
  options.command = flags.command;
  options.shell = flags.shell;
  options.role = flags.role;
  options.checkpoint = flags.checkpoint;
  options.partition_aware = flags.partition_aware;
  options.instances = flags.instances;
  return options;
}

mesos::v1::FrameworkInfo BuildFrameworkInfo(const ExecuteOptions& options,
                                            const std::string& user) {
  using Capability = mesos::v1::FrameworkInfo::Capability;
  mesos::v1::FrameworkInfo info;
  info.set_user(user);
  info.set_name(kFrameworkName);
  info.set_role(options.role);  // The single-role field, as mesos-execute.
  info.set_checkpoint(options.checkpoint);
  for (Capability::Type type :
       {Capability::RESERVATION_REFINEMENT, Capability::TASK_KILLING_STATE,
        Capability::REVOCABLE_RESOURCES}) {
    info.add_capabilities()->set_type(type);
  }
  if (options.partition_aware) {
    info.add_capabilities()->set_type(Capability::PARTITION_AWARE);
  }
  return info;
}

std::string TaskIdFor(const std::string& name, int index, int instances) {
  return instances == 1 ? name : absl::StrCat(name, "-", index);
}

std::vector<mesos::v1::TaskInfo> BuildTasks(const ExecuteOptions& options) {
  mesos::v1::TaskInfo base;
  *base.mutable_resources() = ToProto(options.resources);
  mesos::v1::CommandInfo* command = base.mutable_command();
  command->set_shell(options.shell);
  if (options.shell) {
    command->set_value(options.command);
  } else {
    std::vector<std::string> argv = absl::StrSplit(
        options.command, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (!argv.empty()) command->set_value(argv[0]);
    for (const std::string& arg : argv) command->add_arguments(arg);
  }
  for (const auto& [name, value] : options.env) {
    mesos::v1::Environment::Variable* var =
        command->mutable_environment()->add_variables();
    var->set_name(name);
    var->set_value(value);
  }
  std::vector<mesos::v1::TaskInfo> tasks;
  for (int i = 0; i < options.instances; ++i) {
    mesos::v1::TaskInfo& task = tasks.emplace_back(base);
    std::string id = TaskIdFor(options.name, i, options.instances);
    task.set_name(id);
    task.mutable_task_id()->set_value(id);
  }
  return tasks;
}

}  // namespace agora::cli
