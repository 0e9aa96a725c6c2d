// MasterOptions: everything the master is configured with. main.cc turns
// gflags into one of these (flags exist only there); tests build it directly.
#ifndef AGORA_MASTER_MASTER_OPTIONS_H_
#define AGORA_MASTER_MASTER_OPTIONS_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace agora {

enum class RegistryKind { kLocal, kInMemory };

struct MasterOptions {
  // Where the gRPC (`port`) and HTTP (`http_port`) servers listen; port 0
  // picks a free port.
  std::string ip = "0.0.0.0";
  int port = 5050;
  int http_port = 5080;
  // Advertised hostname; empty means the machine's hostname.
  std::string hostname;
  // --registry and --work_dir: `local` keeps <work_dir>/registry.bin.
  RegistryKind registry = RegistryKind::kLocal;
  std::string work_dir;

  absl::Duration allocation_interval = absl::Seconds(1);
  absl::Duration agent_ping_timeout = absl::Seconds(15);
  int max_agent_ping_timeouts = 5;
  // Agents in the registry must reregister this long after the master
  // starts, or they are marked unreachable (--agent_reregister_timeout).
  absl::Duration agent_reregister_timeout = absl::Minutes(10);
  // Unset: offers never time out (Mesos's default).
  std::optional<absl::Duration> offer_timeout;

  // --max_completed_frameworks, --max_completed_tasks_per_framework.
  size_t max_completed_tasks_per_framework = 1000;
  size_t max_completed_frameworks = 50;

  // Mesos constants, not flags.
  absl::Duration heartbeat_interval = absl::Seconds(15);
  size_t max_framework_events_queued = 10000;
  size_t max_agent_messages_queued = 10000;
  size_t max_unreachable_tasks_per_framework = 1000;
  // The allocator's agent shuffle (Mesos shuffles each cycle).
  bool shuffle_agents = true;
};

// InvalidArgument naming the first bad field: non-positive intervals or
// timeouts, max_agent_ping_timeouts < 1, a missing work_dir with the local
// registry, ports out of range.
absl::Status ValidateMasterOptions(const MasterOptions& options);

}  // namespace agora

#endif  // AGORA_MASTER_MASTER_OPTIONS_H_
