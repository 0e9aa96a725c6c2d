// agora-agent: runs tasks on one host for the master named by --master.
// Flags keep Mesos's names; each may also come from AGORA_<FLAG>.
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent.h"
#include "agent/agent_options.h"
#include "agent/agent_resources.h"
#include "agent/executor_launch.h"
#include "common/flags_util.h"
#include "common/status_macros.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "isolation/cgroup_fs.h"
#include "isolation/isolation_config.h"
#include "isolation/posix_launcher.h"
#include "zookeeper/leader_detector.h"

DEFINE_string(master, "", "Address of the master, host:port (required).");
DEFINE_string(ip, "0.0.0.0", "IP address the agent's servers bind.");
DEFINE_int32(port, 5051, "gRPC port (executor API); 0 picks a free port.");
DEFINE_int32(http_port, 5081, "HTTP port; 0 picks a free port.");
DEFINE_string(port_file, "",
              "If set, write \"grpc=N\\nhttp=N\\n\" here once listening.");
DEFINE_string(work_dir, "./.agora/agent",
              "Directory for sandboxes and checkpoints (meta/).");
DEFINE_string(resources, "",
              "Total resources, Mesos text or JSON form; cpus, mem, disk and "
              "ports not given are detected.");
DEFINE_string(attributes, "", "Attributes of the agent, e.g. rack:2;zone:a.");
DEFINE_string(hostname, "", "Hostname reported to the master.");
DEFINE_string(executor_path, "",
              "The command executor; default: agora-executor beside this "
              "binary.");
DEFINE_string(isolation, "",
              "Comma-separated isolators (Mesos names): cgroups/cpu, "
              "cgroups/mem, cgroups/pids, cgroups/io, cgroups/all, posix/cpu, "
              "posix/mem, filesystem/posix, namespaces/pid, filesystem/linux. "
              "Default: cgroups/cpu,cgroups/mem,cgroups/pids where the "
              "cgroup2 hierarchy offers those controllers, else "
              "posix/cpu,posix/mem.");
DEFINE_string(launcher, "",
              "How containers are held (Mesos's --launcher): 'linux' puts "
              "each in a cgroup of its own under --cgroups_hierarchy "
              "(processes born in it, destroyed by cgroup.kill), with or "
              "without resource controllers; 'posix' tracks process "
              "sessions through /proc. Default: linux where "
              "--cgroups_hierarchy is a writable cgroup2 mount, else posix. "
              "The cgroups isolators need linux.");
DEFINE_string(cgroups_hierarchy, "/sys/fs/cgroup",
              "Where the cgroup2 hierarchy is mounted.");
DEFINE_string(cgroups_root, "agora",
              "The agent's cgroup under --cgroups_hierarchy: the agent runs "
              "in <root>/agent/leaf, containers in <root>/<id>/leaf.");
DEFINE_bool(cgroups_enable_cfs, false,
            "Cap each container's CPU at its cpus request (cpu.max) when the "
            "task gives no cpus limit.");
DEFINE_bool(cgroups_limit_swap, false,
            "Forbid swap to containers (memory.swap.max = 0).");
DEFINE_string(cgroups_max_pids_per_container, "",
              "pids.max of each container without a pids resource; empty "
              "means no limit.");
DEFINE_bool(switch_user, true,
            "Run each container as CommandInfo.user or FrameworkInfo.user.");
DEFINE_string(recover, "reconnect",
              "What to do with the executors of a previous run of the agent "
              "(Mesos's flag): 'reconnect' re-adopts those of checkpointing "
              "frameworks; 'cleanup' kills them all and registers as a new "
              "agent.");
DEFINE_bool(strict, true,
            "Whether a recovery error (a corrupt checkpoint) stops the agent; "
            "false skips what cannot be read and recovers the rest.");
DEFINE_string(recovery_timeout, "15mins",
              "How long an executor of a checkpointing framework waits for "
              "its agent to come back before it kills its tasks and exits.");
DEFINE_string(executor_reregistration_timeout, "2secs",
              "How long a restarted agent waits for its executors to "
              "resubscribe before it destroys those that did not (at most "
              "15secs).");
DEFINE_string(executor_reregistration_retry_interval, "",
              "How often a restarted agent repeats the reconnect signal "
              "(SIGUSR2) to the command executors it adopted until they "
              "resubscribe; empty: half of "
              "--executor_reregistration_timeout.");
DEFINE_string(registration_backoff_factor, "1secs",
              "Window of the first (re)registration delay; doubles per "
              "attempt up to 1mins.");

namespace {

std::string DefaultExecutorPath() {
  std::error_code ec;
  std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "agora-executor";
  return (self.parent_path() / "agora-executor").string();
}

std::string Hostname() {
  if (!FLAGS_hostname.empty()) return FLAGS_hostname;
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

absl::Status CheckPort(const char* flag, int port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", port, ": not a port number"));
  }
  return absl::OkStatus();
}

// Prefixes the error of a flag's value with the flag's name.
template <typename T>
absl::StatusOr<T> WithFlag(const char* flag, absl::StatusOr<T> value) {
  if (value.ok()) return value;
  return absl::Status(value.status().code(),
                      absl::StrCat("--", flag, ": ", value.status().message()));
}

absl::Status IsolationFromFlags(agora::AgentOptions* o);

absl::StatusOr<absl::Duration> PositiveDuration(const char* flag,
                                                const std::string& value) {
  absl::StatusOr<absl::Duration> d = agora::ParseDuration(value);
  if (d.ok() && *d <= absl::ZeroDuration()) {
    d = absl::InvalidArgumentError("must be positive");
  }
  return WithFlag(flag, d);
}

absl::Status RecoveryFromFlags(agora::AgentOptions* o) {
  using Recover = agora::AgentOptions::Recover;
  if (FLAGS_recover == "reconnect") {
    o->recover = Recover::kReconnect;
  } else if (FLAGS_recover == "cleanup") {
    o->recover = Recover::kCleanup;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--recover='", FLAGS_recover, "': must be 'reconnect' or 'cleanup'"));
  }
  o->strict = FLAGS_strict;
  AGORA_ASSIGN_OR_RETURN(
      o->recovery_timeout,
      PositiveDuration("recovery_timeout", FLAGS_recovery_timeout));
  AGORA_ASSIGN_OR_RETURN(
      o->executor_reregistration_timeout,
      PositiveDuration("executor_reregistration_timeout",
                       FLAGS_executor_reregistration_timeout));
  if (o->executor_reregistration_timeout > absl::Seconds(15)) {
    return absl::InvalidArgumentError(
        "--executor_reregistration_timeout: must be at most 15secs");
  }
  if (!FLAGS_executor_reregistration_retry_interval.empty()) {
    AGORA_ASSIGN_OR_RETURN(
        o->executor_reregistration_retry_interval,
        PositiveDuration("executor_reregistration_retry_interval",
                         FLAGS_executor_reregistration_retry_interval));
  }
  return absl::OkStatus();
}

absl::StatusOr<agora::AgentOptions> OptionsFromFlags() {
  agora::AgentOptions o;
  if (FLAGS_master.empty()) {
    return absl::InvalidArgumentError("--master is required (host:port)");
  }
  o.master = FLAGS_master;
  o.ip = FLAGS_ip;
  AGORA_RETURN_IF_ERROR(CheckPort("port", FLAGS_port));
  AGORA_RETURN_IF_ERROR(CheckPort("http_port", FLAGS_http_port));
  o.port = FLAGS_port;
  o.http_port = FLAGS_http_port;
  std::error_code ec;
  std::filesystem::create_directories(FLAGS_work_dir, ec);
  std::filesystem::path work_dir =
      std::filesystem::weakly_canonical(FLAGS_work_dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--work_dir=", FLAGS_work_dir, ": cannot create: ", ec.message()));
  }
  o.work_dir = work_dir.string();
  AGORA_ASSIGN_OR_RETURN(
      o.resources,
      WithFlag("resources",
               agora::AgentResources(FLAGS_resources,
                                     agora::ProbeSystemResources(o.work_dir))));
  AGORA_ASSIGN_OR_RETURN(
      o.attributes,
      WithFlag("attributes", agora::ParseAttributes(FLAGS_attributes)));
  o.hostname = Hostname();
  std::string executor =
      FLAGS_executor_path.empty() ? DefaultExecutorPath() : FLAGS_executor_path;
  o.executor_path = std::filesystem::absolute(executor, ec).string();
  AGORA_ASSIGN_OR_RETURN(
      o.registration_backoff_factor,
      agora::ParseDuration(FLAGS_registration_backoff_factor));
  AGORA_RETURN_IF_ERROR(RecoveryFromFlags(&o));
  o.executor_environment = agora::AgentEnvironmentForExecutors();
  AGORA_RETURN_IF_ERROR(IsolationFromFlags(&o));
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const auto& f : flags) {
    if (f.filename == __FILE__) o.flags[f.name] = f.current_value;
  }
  o.flags["isolation"] = o.isolation.ToString();  // As resolved.
  o.flags["launcher"] = o.cgroups_launcher ? "linux" : "posix";
  return o;
}

// --launcher: true for linux. Explicit linux needs a cgroup2 mount at
// `hierarchy`; the cgroups isolators need linux.
absl::StatusOr<bool> ResolveLauncher(const std::string& flag,
                                     const agora::IsolationConfig& isolation,
                                     bool cgroup2,
                                     const std::string& hierarchy) {
  if (flag == "posix") {
    if (isolation.UsesCgroups()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--launcher=posix cannot hold containers in cgroups, which "
          "--isolation=",
          isolation.ToString(), " needs; use --launcher=linux"));
    }
    return false;
  }
  if (flag == "linux") {
    if (!cgroup2) {
      return absl::FailedPreconditionError(
          absl::StrCat("--launcher=linux: --cgroups_hierarchy=", hierarchy,
                       " is not a cgroup2 mount"));
    }
    return true;
  }
  if (!flag.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--launcher='", flag, "': must be 'linux' or 'posix'"));
  }
  return isolation.UsesCgroups() ||
         (cgroup2 && access(hierarchy.c_str(), W_OK) == 0);
}

absl::Status IsolationFromFlags(agora::AgentOptions* o) {
  std::string root = FLAGS_cgroups_root;
  while (!root.empty() && root.front() == '/') root.erase(0, 1);
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (root.empty() || root.find("..") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cgroups_root='", FLAGS_cgroups_root,
                     "': must name a cgroup below --cgroups_hierarchy"));
  }
  o->cgroups_root = root;
  o->cgroups_hierarchy = FLAGS_cgroups_hierarchy;
  std::unique_ptr<agora::CgroupFs> fs;
  if (agora::IsCgroup2Mount(FLAGS_cgroups_hierarchy)) {
    fs = agora::NewRealCgroupFs(FLAGS_cgroups_hierarchy);
  }
  AGORA_ASSIGN_OR_RETURN(
      o->isolation, agora::ResolveIsolation(FLAGS_isolation, fs.get(),
                                            FLAGS_cgroups_hierarchy, root));
  AGORA_ASSIGN_OR_RETURN(
      o->cgroups_launcher,
      ResolveLauncher(FLAGS_launcher, o->isolation, fs != nullptr,
                      FLAGS_cgroups_hierarchy));
  o->cgroups_limits.enable_cfs = FLAGS_cgroups_enable_cfs;
  o->cgroups_limits.limit_swap = FLAGS_cgroups_limit_swap;
  if (!FLAGS_cgroups_max_pids_per_container.empty()) {
    uint64_t n;
    if (!absl::SimpleAtoi(FLAGS_cgroups_max_pids_per_container, &n) || n == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--cgroups_max_pids_per_container='",
          FLAGS_cgroups_max_pids_per_container, "': not a positive integer"));
    }
    o->cgroups_limits.max_pids = n;
  }
  o->switch_user = FLAGS_switch_user;
  return absl::OkStatus();
}

int Fail(const std::string& message) {
  std::cerr << "agora-agent: " << message << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  agora::InitLogging(argv[0]);
  // Debian's abseil runs the Mutex deadlock detector in every build; it
  // records each lock gRPC's threads take in a graph, a measurable share
  // of the daemon's CPU. The unit tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  gflags::SetUsageMessage("agora-agent --master=host:port [flags]");
  absl::Status env = agora::LoadFlagsFromEnvironment(argc, argv);
  if (!env.ok()) return Fail(std::string(env.message()));
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc > 1)
    return Fail(absl::StrCat("unexpected argument '", argv[1], "'"));
  absl::StatusOr<agora::AgentOptions> options = OptionsFromFlags();
  if (!options.ok()) return Fail(std::string(options.status().message()));
  auto detector = agora::CreateLeaderDetector(options->master);
  if (!detector.ok()) return Fail(std::string(detector.status().message()));

  // SIGINT/SIGTERM are taken by sigwait() below; block them before any
  // thread starts so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  // A shell starts background jobs with SIGINT ignored, and an ignored
  // signal is discarded even while blocked: restore the default first.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::string port_file = FLAGS_port_file;
  agora::Agent agent(*std::move(options), *std::move(detector),
                     std::make_unique<agora::PosixLauncher>());
  agent.set_on_shutdown_requested(
      [](const std::string&) { kill(getpid(), SIGTERM); });
  absl::Status started = agent.Start();
  if (!started.ok()) return Fail(std::string(started.message()));
  if (!port_file.empty()) {
    absl::Status written =
        agora::WritePortFile(port_file, agent.grpc_port(), agent.http_port());
    if (!written.ok()) {
      agent.Stop();
      return Fail(std::string(written.message()));
    }
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  LOG(INFO) << "Received " << strsignal(signal) << "; shutting down";
  agent.Stop();
  LOG(INFO) << "Agent stopped";
  return 0;
}
