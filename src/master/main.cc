// agora-master: the Agora master daemon.
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <iostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/flags_util.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "master/master_options.h"
#include "master/master_server.h"
#include "zookeeper/zookeeper.h"

DEFINE_string(ip, "0.0.0.0", "IP address to listen on");
DEFINE_int32(port, 5050, "gRPC port to listen on (0 picks a free port)");
DEFINE_int32(http_port, 5080, "HTTP port to listen on (0 picks a free port)");
DEFINE_string(
    port_file, "",
    "If set, the bound ports are written here (\"grpc=N\\nhttp=N\\n\") "
    "once both servers listen");
DEFINE_string(work_dir, "",
              "Directory for the master's persistent state (the registry), "
              "created if missing; required with --registry=local");
DEFINE_string(registry, "",
              "Where the registry lives: 'zookeeper' (under --zk; the "
              "default when --zk is set), 'local' (<work_dir>/registry.bin; "
              "the default otherwise) or 'in_memory'");
DEFINE_string(zk, "",
              "ZooKeeper URL for leader election and the registry, "
              "'zk://[user:pass@]host1:port1,host2:port2/path', or "
              "'file:///path' of a file holding it; unset means a standalone "
              "master");
DEFINE_string(zk_session_timeout, "10secs", "ZooKeeper session timeout");
DEFINE_string(quorum, "",
              "Accepted for Mesos compatibility and ignored (Agora's "
              "registry lives in ZooKeeper, not a replicated log)");
DEFINE_string(registry_store_timeout, "20secs",
              "Time a registry write may take; a write that takes longer "
              "makes the master exit");
DEFINE_string(registry_gc_interval, "15mins",
              "How often unreachable and gone agents are pruned from the "
              "registry");
DEFINE_string(registry_max_agent_age, "2weeks",
              "Longest time an unreachable or gone agent is kept in the "
              "registry");
DEFINE_int64(registry_max_agent_count, 102400,
             "Most unreachable (and, separately, gone) agents kept in the "
             "registry; the oldest go first");
DEFINE_string(allocation_interval, "1secs",
              "Time between allocation runs, e.g. 1secs or 500ms");
DEFINE_string(agent_ping_timeout, "15secs",
              "Time to wait for an agent's pong to a ping (1secs to 15mins)");
DEFINE_int32(max_agent_ping_timeouts, 5,
             "Missed pongs after which an agent is dropped");
DEFINE_string(agent_reregister_timeout, "10mins",
              "Time within which agents in the registry must reregister "
              "after this master starts before they are marked unreachable "
              "(at least 10mins)");
DEFINE_string(offer_timeout, "",
              "Time after which an unanswered offer is rescinded; unset means "
              "never");
DEFINE_int32(max_completed_frameworks, 50,
             "Completed (torn down or timed out) frameworks kept for /state "
             "and /frameworks");
DEFINE_int32(max_completed_tasks_per_framework, 1000,
             "Completed tasks kept per framework for /state and /frameworks");
DEFINE_string(hostname, "",
              "Hostname to advertise; defaults to the machine's hostname");
DEFINE_string(weights, "",
              "Role weights, 'role=weight,role=weight' (used when the "
              "registry holds no weights)");
DEFINE_string(min_allocatable_resources, "cpus:0.01|mem:32",
              "Sets of resource quantities, 'cpus:1;mem:32|disk:1': an offer "
              "must hold at least one whole set");
DEFINE_string(fair_sharing_excluded_resource_names, "",
              "Comma-separated resource names (e.g. gpus) left out of DRF "
              "shares");
DEFINE_bool(filter_gpu_resources, true,
            "Offer agents with GPUs only to frameworks with the "
            "GPU_RESOURCES capability");
DEFINE_double(allocator_agent_recovery_factor, 0.8,
              "After a failover with quotas, the fraction of known agents "
              "that must reregister before offers are made");
DEFINE_string(allocator_recovery_timeout, "10mins",
              "After a failover with quotas, the longest offers wait for "
              "agents to reregister");

namespace {

absl::StatusOr<absl::Duration> DurationFlag(const char* name,
                                            const std::string& value) {
  absl::StatusOr<absl::Duration> d = agora::ParseDuration(value);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, "=", value, ": ", d.status().message()));
  }
  return d;
}

absl::Status ApplyRegistryFlags(agora::MasterOptions* options) {
  auto store =
      DurationFlag("registry_store_timeout", FLAGS_registry_store_timeout);
  if (!store.ok()) return store.status();
  auto gc = DurationFlag("registry_gc_interval", FLAGS_registry_gc_interval);
  if (!gc.ok()) return gc.status();
  auto age =
      DurationFlag("registry_max_agent_age", FLAGS_registry_max_agent_age);
  if (!age.ok()) return age.status();
  if (FLAGS_registry_max_agent_count < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--registry_max_agent_count=", FLAGS_registry_max_agent_count,
        ": must not be negative"));
  }
  options->registry_store_timeout = *store;
  options->registry_gc_interval = *gc;
  options->registry_max_agent_age = *age;
  options->registry_max_agent_count =
      static_cast<size_t>(FLAGS_registry_max_agent_count);
  return absl::OkStatus();
}

absl::StatusOr<agora::MasterOptions> OptionsFromFlags() {
  agora::MasterOptions options;
  options.ip = FLAGS_ip;
  options.port = FLAGS_port;
  options.http_port = FLAGS_http_port;
  options.hostname = FLAGS_hostname;
  options.work_dir = FLAGS_work_dir;
  if (!FLAGS_zk.empty()) {
    absl::StatusOr<agora::zk::Url> url = agora::zk::ParseUrl(FLAGS_zk);
    if (!url.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--zk: ", url.status().message()));
    }
    options.zk = *std::move(url);
    auto session = DurationFlag("zk_session_timeout", FLAGS_zk_session_timeout);
    if (!session.ok()) return session.status();
    options.zk_session_timeout = *session;
  }
  const std::string registry = !FLAGS_registry.empty()
                                   ? FLAGS_registry
                                   : (FLAGS_zk.empty() ? "local" : "zookeeper");
  if (registry == "local") {
    options.registry = agora::RegistryKind::kLocal;
  } else if (registry == "in_memory") {
    options.registry = agora::RegistryKind::kInMemory;
  } else if (registry == "zookeeper") {
    options.registry = agora::RegistryKind::kZooKeeper;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--registry=", FLAGS_registry,
                     ": must be 'zookeeper', 'local' or 'in_memory'"));
  }
  if (absl::Status s = ApplyRegistryFlags(&options); !s.ok()) return s;
  auto interval =
      DurationFlag("allocation_interval", FLAGS_allocation_interval);
  if (!interval.ok()) return interval.status();
  options.allocation_interval = *interval;
  auto ping = DurationFlag("agent_ping_timeout", FLAGS_agent_ping_timeout);
  if (!ping.ok()) return ping.status();
  if (*ping < absl::Seconds(1) || *ping > absl::Minutes(15)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--agent_ping_timeout=", FLAGS_agent_ping_timeout,
                     ": must be between 1secs and 15mins"));
  }
  options.agent_ping_timeout = *ping;
  options.max_agent_ping_timeouts = FLAGS_max_agent_ping_timeouts;
  auto reregister =
      DurationFlag("agent_reregister_timeout", FLAGS_agent_reregister_timeout);
  if (!reregister.ok()) return reregister.status();
  if (*reregister < absl::Minutes(10)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--agent_reregister_timeout=", FLAGS_agent_reregister_timeout,
        ": must be at least 10mins"));
  }
  options.agent_reregister_timeout = *reregister;
  if (!FLAGS_offer_timeout.empty()) {
    auto timeout = DurationFlag("offer_timeout", FLAGS_offer_timeout);
    if (!timeout.ok()) return timeout.status();
    options.offer_timeout = *timeout;
  }
  if (FLAGS_max_completed_frameworks < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_completed_frameworks=", FLAGS_max_completed_frameworks,
        ": must not be negative"));
  }
  if (FLAGS_max_completed_tasks_per_framework < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_completed_tasks_per_framework=",
        FLAGS_max_completed_tasks_per_framework, ": must not be negative"));
  }
  options.max_completed_frameworks =
      static_cast<size_t>(FLAGS_max_completed_frameworks);
  options.max_completed_tasks_per_framework =
      static_cast<size_t>(FLAGS_max_completed_tasks_per_framework);
  agora::AllocatorFlagValues allocator;
  allocator.weights = FLAGS_weights;
  allocator.min_allocatable_resources = FLAGS_min_allocatable_resources;
  allocator.fair_sharing_excluded_resource_names =
      FLAGS_fair_sharing_excluded_resource_names;
  allocator.filter_gpu_resources = FLAGS_filter_gpu_resources;
  allocator.allocator_agent_recovery_factor =
      FLAGS_allocator_agent_recovery_factor;
  allocator.allocator_recovery_timeout = FLAGS_allocator_recovery_timeout;
  if (absl::Status s = agora::ApplyAllocatorFlags(allocator, &options);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = agora::ValidateMasterOptions(options); !s.ok()) {
    return s;
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  agora::InitLogging(argv[0]);
  // Debian's abseil runs the Mutex deadlock detector in every build; it
  // records each lock gRPC's threads take in a graph, a measurable share
  // of the daemon's CPU. The unit tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  gflags::SetUsageMessage("agora-master: the Agora master daemon");
  if (absl::Status s = agora::LoadFlagsFromEnvironment(argc, argv); !s.ok()) {
    std::cerr << "agora-master: " << s.message() << std::endl;
    return 1;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (!FLAGS_quorum.empty()) {
    LOG(WARNING) << "--quorum=" << FLAGS_quorum
                 << " is ignored: Agora keeps its registry in ZooKeeper (with "
                    "--zk) or a local file, not in a replicated log";
  }
  absl::StatusOr<agora::MasterOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    std::cerr << "agora-master: " << options.status().message() << std::endl;
    return 1;
  }

  // Signals are taken by sigwait below; block them before threads start.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = agora::MasterServer::Start(*options);
  if (!server.ok()) {
    std::cerr << "agora-master: " << server.status().message() << std::endl;
    return 1;
  }
  if (!FLAGS_port_file.empty()) {
    absl::Status s = agora::WritePortFile(
        FLAGS_port_file, (*server)->grpc_port(), (*server)->http_port());
    if (!s.ok()) {
      std::cerr << "agora-master: " << s.message() << std::endl;
      return 1;
    }
  }
  LOG(INFO) << "Master " << (*server)->master_id()
            << ((*server)->leadership().leading() ? " (leading)"
                                                  : " (standby, contending)")
            << " listening on grpc " << options->ip << ":"
            << (*server)->grpc_port() << ", http " << options->ip << ":"
            << (*server)->http_port();

  int signal = 0;
  sigwait(&signals, &signal);
  LOG(INFO) << "Received " << strsignal(signal) << "; shutting down";
  (*server)->Stop();
  return 0;
}
