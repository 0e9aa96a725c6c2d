// agora-execute's flags, validated into ExecuteOptions, and the FrameworkInfo
// and TaskInfos built from them. Pure functions; main.cc defines the gflags.
#ifndef AGORA_CLI_EXECUTE_OPTIONS_H_
#define AGORA_CLI_EXECUTE_OPTIONS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/resources.h"
#include "mesos/v1/mesos.pb.h"

namespace agora::cli {

// The flag values as given (Mesos's mesos-execute flags plus --instances).
struct ExecuteFlags {
  std::string master;
  std::string name;
  std::string command;
  bool shell = true;
  std::string resources = "cpus:1;mem:128";
  std::string env;
  std::string role = "*";
  std::string kill_after;
  bool checkpoint = false;
  bool partition_aware = true;
  int instances = 1;
};

struct ExecuteOptions {
  std::string master;
  std::string name;
  std::string command;
  bool shell = true;
  // What one task needs: unreserved, no allocation role.
  Resources resources;
  std::map<std::string, std::string> env;
  std::string role = "*";
  std::optional<absl::Duration> kill_after;
  bool checkpoint = false;
  bool partition_aware = true;
  int instances = 1;
};

// The framework name, as Mesos's is "mesos-execute instance".
inline constexpr char kFrameworkName[] = "agora-execute instance";

// InvalidArgument with one line naming the flag: a missing --master, --name
// or --command, a malformed --master, --resources, --env, --role or
// --kill_after, or --instances below 1.
absl::StatusOr<ExecuteOptions> ValidateExecuteFlags(const ExecuteFlags& flags);

// --env: a JSON object of strings, {"K":"V"}, or "file://<path>" of a file
// holding one (as Mesos accepts). InvalidArgument saying what is wrong.
absl::StatusOr<std::map<std::string, std::string>> ParseEnvironment(
    absl::string_view text);

// user = `user`, name kFrameworkName, failover_timeout 0 (a lost connection
// ends the tasks), the role and checkpoint flags, and the capabilities
// mesos-execute sets: RESERVATION_REFINEMENT, TASK_KILLING_STATE,
// REVOCABLE_RESOURCES, and PARTITION_AWARE unless disabled.
mesos::v1::FrameworkInfo BuildFrameworkInfo(const ExecuteOptions& options,
                                            const std::string& user);

// "<name>" for one instance, "<name>-<i>" for instance i of several.
std::string TaskIdFor(const std::string& name, int index, int instances);

// One TaskInfo per instance, without agent id, with the required resources
// (replaced at launch by the ones picked from the offer). With --shell the
// command runs under /bin/sh -c; without, it is split at whitespace into
// the program and its argv.
std::vector<mesos::v1::TaskInfo> BuildTasks(const ExecuteOptions& options);

}  // namespace agora::cli

#endif  // AGORA_CLI_EXECUTE_OPTIONS_H_
