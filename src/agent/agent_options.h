// AgentOptions: everything an agent is configured with, validated by
// main.cc from its flags (or built directly by tests).
#ifndef AGORA_AGENT_AGENT_OPTIONS_H_
#define AGORA_AGENT_AGENT_OPTIONS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/resources.h"
#include "isolation/cgroups2_isolator.h"
#include "isolation/isolation_config.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

struct AgentOptions {
  std::string master;          // "host:port" of the master (--master).
  std::string ip = "0.0.0.0";  // Address the gRPC and HTTP servers bind.
  int port = 5051;             // gRPC; 0 picks a free port.
  int http_port = 5081;        // HTTP; 0 picks a free port.
  std::string work_dir;        // Absolute; sandboxes live below it.
  Resources resources;         // Complete (auto-detection already applied).
  std::vector<mesos::v1::Attribute> attributes;
  std::string hostname;       // Reported to the master.
  std::string executor_path;  // The command executor binary (absolute).
  absl::Duration registration_backoff_factor = absl::Seconds(1);
  // Mesos defaults; not flags yet.
  absl::Duration executor_registration_timeout = absl::Minutes(1);
  absl::Duration executor_shutdown_grace_period = absl::Seconds(5);
  // Recovery (docs/recovery.md), with Mesos's flags and defaults:
  // --recover=reconnect re-adopts the executors of checkpointing
  // frameworks; cleanup kills them and registers a new agent.
  enum class Recover { kReconnect, kCleanup };
  Recover recover = Recover::kReconnect;
  bool strict = true;  // --strict: a corrupt checkpoint stops the start.
  // How long executors wait for a restarting agent (--recovery_timeout).
  absl::Duration recovery_timeout = absl::Minutes(15);
  // How long a restarted agent waits for its executors to resubscribe.
  absl::Duration executor_reregistration_timeout = absl::Seconds(2);
  // How often a restarted agent repeats its reconnect signal to the
  // executors it adopted until they resubscribe; unset: half of
  // executor_reregistration_timeout.
  std::optional<absl::Duration> executor_reregistration_retry_interval;
  // Resolved --isolation (isolation_config.h) and the cgroups flags.
  IsolationConfig isolation{{"posix/cpu", "posix/mem"}};
  std::string cgroups_hierarchy = "/sys/fs/cgroup";
  std::string cgroups_root = "agora";
  // Resolved --launcher: true for "linux" (each container in a cgroup of
  // its own under <hierarchy>/<root>, with or without controllers), false
  // for "posix" (process sessions found through /proc).
  bool cgroups_launcher = false;
  CgroupsLimitOptions cgroups_limits;
  bool switch_user = true;
  // Environment passed on to executors (the agent's, minus AGORA_*).
  std::map<std::string, std::string> executor_environment;
  // Flag name -> value, for /flags.
  std::map<std::string, std::string> flags;
};

}  // namespace agora

#endif  // AGORA_AGENT_AGENT_OPTIONS_H_
