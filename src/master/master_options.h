// MasterOptions: everything the master is configured with. main.cc turns
// gflags into one of these (flags exist only there); tests build it directly.
#ifndef AGORA_MASTER_MASTER_OPTIONS_H_
#define AGORA_MASTER_MASTER_OPTIONS_H_

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "allocator/allocator.h"
#include "zookeeper/zookeeper.h"

namespace agora {

// --registry. kZooKeeper needs --zk: the master builds that back-end
// (zookeeper_registry.h) once elected, fenced by its election znode.
enum class RegistryKind { kLocal, kInMemory, kZooKeeper };

// The --registry value naming `kind` ("local", "in_memory", "zookeeper").
const char* RegistryKindName(RegistryKind kind);

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
  // --zk: the ZooKeeper group this master contends in; unset means a
  // standalone master that leads itself (docs/ha.md).
  std::optional<zk::Url> zk;
  // --zk_session_timeout.
  absl::Duration zk_session_timeout = absl::Seconds(10);
  // How long start-up waits for a first ZooKeeper session before giving up
  // with an error (the C client retries the servers meanwhile).
  absl::Duration zk_connect_timeout = absl::Minutes(1);
  // A registry write not done within this is fatal
  // (--registry_store_timeout).
  absl::Duration registry_store_timeout = absl::Seconds(20);
  // Unreachable and gone agents are pruned from the registry every
  // --registry_gc_interval: those older than --registry_max_agent_age, and
  // the oldest beyond --registry_max_agent_count in each list.
  absl::Duration registry_gc_interval = absl::Minutes(15);
  absl::Duration registry_max_agent_age = absl::Hours(14 * 24);
  size_t registry_max_agent_count = 102400;
  // Runs on the master's loop when a registry write missed
  // registry_store_timeout. Null: log the error and exit(1), Mesos's rule
  // (tests inject their own).
  std::function<void(const absl::Status&)> on_registry_store_timeout;

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

  // Allocator flags (master_allocator_flags.cc parses them from text).
  // --weights: role weights set at start.
  std::map<std::string, double> weights;
  // --min_allocatable_resources (default cpus:0.01|mem:32).
  std::vector<Resources> min_allocatable_resources =
      AllocatorOptions::DefaultMinAllocatable();
  // --fair_sharing_excluded_resource_names.
  std::set<std::string> fair_sharing_excluded_resource_names;
  // --filter_gpu_resources.
  bool filter_gpu_resources = true;
  // --allocator_agent_recovery_factor and --allocator_recovery_timeout:
  // after a failover with quotas in the registry, offers wait until this
  // fraction of the registry's agents is back or the timeout passes.
  double allocator_agent_recovery_factor = 0.8;
  absl::Duration allocator_recovery_timeout = absl::Minutes(10);

  // Mesos constants, not flags.
  absl::Duration heartbeat_interval = absl::Seconds(15);
  size_t max_framework_events_queued = 10000;
  size_t max_agent_messages_queued = 10000;
  size_t max_unreachable_tasks_per_framework = 1000;
  // The allocator's agent shuffle (Mesos shuffles each cycle).
  bool shuffle_agents = true;
};

// InvalidArgument naming the first bad field: non-positive intervals or
// timeouts (registry ones included), max_agent_ping_timeouts < 1, a missing
// work_dir with the local registry, ports out of range.
absl::Status ValidateMasterOptions(const MasterOptions& options);

// The allocator flags in their text form, as main.cc gets them.
struct AllocatorFlagValues {
  std::string weights;  // "" = none
  std::string min_allocatable_resources = "cpus:0.01|mem:32";
  std::string fair_sharing_excluded_resource_names;  // "" = none
  bool filter_gpu_resources = true;
  double allocator_agent_recovery_factor = 0.8;
  std::string allocator_recovery_timeout = "10mins";
};

// Parses `values` into `options`. InvalidArgument naming the flag
// ("--weights=x: ...") for a malformed value: bad roles or non-positive
// weights, a bad resource set, an empty or invalid resource name, a
// recovery factor outside [0, 1], a non-positive timeout. `options` is
// untouched on error.
absl::Status ApplyAllocatorFlags(const AllocatorFlagValues& values,
                                 MasterOptions* options);

}  // namespace agora

#endif  // AGORA_MASTER_MASTER_OPTIONS_H_
