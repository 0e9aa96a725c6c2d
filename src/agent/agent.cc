#include "agent/agent.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/flags_util.h"
#include "common/ids.h"
#include "common/resources_proto.h"
#include "glog/logging.h"
#include "grpcpp/grpcpp.h"

namespace agora {
namespace {

using agora::internal::AgentMessage;
using agora::internal::MasterMessage;

// Mesos's agent_ping_timeout x max_agent_ping_timeouts default, used until
// the master says otherwise.
constexpr absl::Duration kDefaultPingTimeout = absl::Seconds(75);
constexpr char kVersion[] = "0.1.0";
// MESOS_SUBSCRIPTION_BACKOFF_MAX given to command executors.
constexpr absl::Duration kExecutorBackoffMax = absl::Seconds(30);

ContainerManager::Options ContainerOptions(const AgentOptions& o) {
  ContainerManager::Options c;
  c.work_dir = o.work_dir;
  c.executor_path = o.executor_path;
  c.executor_environment = o.executor_environment;
  c.executor_registration_timeout = o.executor_registration_timeout;
  c.executor_shutdown_grace_period = o.executor_shutdown_grace_period;
  c.switch_user = o.switch_user;
  c.pid_namespace = o.isolation.Has("namespaces/pid");
  c.private_tmp = o.isolation.Has("filesystem/linux");
  c.total_cpus = o.resources.GetScalar("cpus").ToDouble();
  c.total_mem_mb = o.resources.GetScalar("mem").ToDouble();
  c.recovery_timeout = o.recovery_timeout;
  // Mesos passes --executor_reregistration_timeout, so that an executor
  // tries at least once while a restarted agent waits for it. Agora's
  // agent signals its command executors when it is back (and again while
  // it waits), so their own attempts can be rare: a thousand executors
  // trying every 2 s are 500 connections a second, more than this agent
  // admits, and the lot of them never get in (docs/recovery.md).
  c.subscription_backoff_max =
      std::max(o.executor_reregistration_timeout, kExecutorBackoffMax);
  return c;
}

// The executors' socket. The same work_dir always gets the same path: the
// executors of an earlier agent know it from their environment and find
// the restarted agent there.
std::string ChooseSocketPath(const std::string& work_dir) {
  std::string path = work_dir + "/executor.sock";
  // sun_path holds 108 bytes; stay well below.
  if (path.size() < 100) return path;
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a: stable everywhere.
  for (char c : work_dir) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  return absl::StrCat("/tmp/agora-agent-", absl::Hex(hash, absl::kZeroPad16),
                      ".sock");
}

std::string StatusLabel(const mesos::v1::TaskStatus& s) {
  return absl::StrCat(mesos::v1::TaskState_Name(s.state()), " (",
                      UuidBytesToString(s.uuid()), ") for task '",
                      s.task_id().value(), "'");
}

}  // namespace

Agent::Agent(AgentOptions options, std::unique_ptr<LeaderDetector> detector,
             std::unique_ptr<Launcher> launcher)
    : options_(std::move(options)),
      loop_("agent"),
      detector_(std::move(detector)),
      launcher_(std::move(launcher)),
      checkpoint_writer_(&loop_, options_.work_dir),
      checkpointer_(options_.work_dir, &checkpoint_writer_),
      updates_(
          &loop_,
          [this](const agora::internal::StatusUpdate& update) {
            ForwardStatusUpdate(update);
          },
          &checkpoint_writer_),
      containers_(
          ContainerOptions(options_), &loop_, launcher_.get(), &metrics_,
          ContainerManager::Callbacks{
              [this](const mesos::v1::FrameworkID& f,
                     const mesos::v1::TaskStatus& s, const std::string& path,
                     std::function<void(const absl::Status&)> on_checkpointed) {
                return OnStatusUpdate(f, s, path, std::move(on_checkpointed));
              },
              [this](const agora::internal::ExecutorExited& exited) {
                AgentMessage m;
                *m.mutable_executor_exited() = exited;
                SendToMaster(std::move(m));
              },
              [this](const agora::internal::ExecutorToFramework& message) {
                AgentMessage m;
                *m.mutable_executor_to_framework() = message;
                SendToMaster(std::move(m));
              },
              [this](size_t awaiting) { OnExecutorReregistered(awaiting); }}),
      link_(&loop_, options_.registration_backoff_factor,
            MasterLink::Handlers{
                [this] { OnLinkConnected(); },
                [this](const MasterMessage& m) { OnMasterMessage(m); },
                [this](const std::string& r) { OnLinkDisconnected(r); }}),
      executor_service_(&loop_, &containers_),
      operator_api_(AgentOperator::Sources{&loop_, kVersion, &options_.flags,
                                           &info_, &containers_, &metrics_}),
      operator_service_(&loop_, &operator_api_),
      ping_timeout_(kDefaultPingTimeout) {}

Agent::~Agent() { Stop(); }

absl::Status Agent::Start() {
  CHECK(!started_) << "Agent::Start called twice";
  started_ = true;
  start_time_ = absl::Now();
  total_ = options_.resources;
  if (absl::Status s = RecoverCheckpointedResources(); !s.ok()) return s;
  if (options_.isolation.Has("filesystem/linux") &&
      (options_.work_dir == "/tmp" ||
       absl::StartsWith(options_.work_dir, "/tmp/"))) {
    // The container's private /tmp would hide its own sandbox.
    return absl::InvalidArgumentError(absl::StrCat(
        "--isolation=filesystem/linux mounts a private /tmp in each "
        "container, so --work_dir must not be under /tmp (it is ",
        options_.work_dir, ")"));
  }
  if (options_.isolation.UsesCgroups() || options_.cgroups_launcher) {
    cgroup_fs_ = NewRealCgroupFs(options_.cgroups_hierarchy);
    Cgroups2Isolator::Options iso;
    iso.root = options_.cgroups_root;
    iso.isolation = options_.isolation;
    iso.limits = options_.cgroups_limits;
    isolator_ = std::make_unique<Cgroups2Isolator>(cgroup_fs_.get(), iso);
    // Where the agent goes back to at stop, so that its cgroups can go.
    origin_cgroup_ = OwnCgroup2Path().value_or("");
    if (origin_cgroup_ == options_.cgroups_root ||
        absl::StartsWith(origin_cgroup_, options_.cgroups_root + "/")) {
      origin_cgroup_.clear();  // An earlier agent's leaf: the root instead.
    }
    absl::Status prepared = isolator_->Prepare(getpid());
    if (!prepared.ok()) {
      return absl::Status(
          prepared.code(),
          absl::StrCat(options_.isolation.UsesCgroups()
                           ? "cgroups isolation"
                           : "--launcher=linux (or --launcher=posix)",
                       " (--cgroups_hierarchy=", options_.cgroups_hierarchy,
                       " --cgroups_root=", options_.cgroups_root,
                       "): ", prepared.message()));
    }
    containers_.set_isolator(isolator_.get());
  }
  LOG(INFO) << "Isolation: " << IsolationSummary();
  absl::StatusOr<CheckpointState> checkpoint = ReadCheckpointForStart();
  if (!checkpoint.ok()) return checkpoint.status();
  info_.set_hostname(options_.hostname);
  *info_.mutable_resources() = ToProto(options_.resources);
  for (const auto& a : options_.attributes) *info_.add_attributes() = a;
  containers_.set_checkpointer(&checkpointer_);
  RegisterMetrics();
  loop_.Start();
  loop_running_ = true;
  // Before the executor socket listens: a resubscribing executor must find
  // its record.
  if (!RunOnLoop<bool>(
          &loop_,
          [this, &checkpoint] {
            ApplyRecovery(*checkpoint);
            return true;
          },
          absl::Minutes(5))) {
    return absl::DeadlineExceededError("agent recovery did not finish");
  }
  if (absl::Status s = WriteCheckpointHeader(); !s.ok()) return s;
  socket_path_ = ChooseSocketPath(options_.work_dir);
  absl::Status st = StartGrpc();
  if (st.ok()) st = StartHttp();
  if (!st.ok()) return st;
  std::string ip = options_.ip == "0.0.0.0" ? "127.0.0.1" : options_.ip;
  RunOnLoop<bool>(&loop_, [this, ip] {
    containers_.set_endpoints(absl::StrCat(ip, ":", grpc_port_),
                              "unix:" + socket_path_);
    info_.set_port(grpc_port_);
    containers_.set_agent_info(info_);
    OnExecutorSocketListening();
    return true;
  });
  LOG(INFO) << "Agent started on " << options_.hostname << ": gRPC port "
            << grpc_port_ << ", HTTP port " << http_port_
            << ", executor socket " << socket_path_ << ", resources "
            << options_.resources << ", work_dir " << options_.work_dir
            << ", master " << detector_->Describe();
  return absl::OkStatus();
}

void Agent::MaybeStartDetectingMaster() {
  if (!servers_ready_ || !recovery_done_ || detecting_) return;
  detecting_ = true;
  detector_->Watch([this](std::optional<std::string> leader) {
    loop_.Post([this, leader] { link_.SetMaster(leader); });
  });
}

absl::Status Agent::StartGrpc() {
  unlink(socket_path_.c_str());  // A stale socket of an earlier run.
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(options_.ip, ":", options_.port),
                           grpc::InsecureServerCredentials(), &grpc_port_);
  builder.AddListeningPort("unix:" + socket_path_,
                           grpc::InsecureServerCredentials());
  builder.RegisterService(&executor_service_);
  builder.RegisterService(&operator_service_);
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || grpc_port_ == 0) {
    return absl::UnavailableError(absl::StrCat("failed to bind gRPC on ",
                                               options_.ip, ":", options_.port,
                                               " and unix:", socket_path_));
  }
  // Executors switched to another user (--switch_user) must reach it too.
  chmod(socket_path_.c_str(), 0666);
  return absl::OkStatus();
}

void Agent::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  if (loop_.IsLoopThread()) {
    LOG(ERROR) << "Agent::Stop called on the agent loop; ignored";
    return;
  }
  if (loop_running_) {
    // The loop runs: tell it to stop talking and kill the executors.
    std::optional<int> killed = RunOnLoop<int>(&loop_, [this] {
      link_.Shutdown();
      updates_.Pause();
      if (ping_timer_) loop_.Cancel(ping_timer_);
      ping_timer_ = 0;
      if (reregistration_timer_) loop_.Cancel(reregistration_timer_);
      reregistration_timer_ = 0;
      return containers_.KillAllExecutors(
          /*keep_checkpointing=*/!shutdown_requested_);
    });
    LOG(INFO) << "Agent terminating; killed " << killed.value_or(0)
              << " executor(s)";
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      std::optional<int> live = RunOnLoop<int>(
          &loop_, [this] { return containers_.KilledExecutorsLeft(); });
      if (!live || *live == 0) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    link_.WaitClosed(absl::Seconds(5));
  }
  if (grpc_server_ != nullptr) {
    grpc_server_->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::seconds(2));
  }
  http_.Stop();
  loop_.Stop();
  checkpoint_writer_.Flush();
  if (!socket_path_.empty()) unlink(socket_path_.c_str());
  if (!loop_running_) return;  // Start() failed before touching anything.
  // The loop is stopped: the container manager is safe to use here.
  int errors = containers_.containerizer().DestroyStopped();
  if (errors > 0) {
    LOG(ERROR) << errors << " container cgroup(s) could not be removed";
  }
  if (isolator_ != nullptr && errors == 0) {
    absl::Status released = isolator_->Release(getpid(), origin_cgroup_);
    if (!released.ok()) {
      LOG(WARNING) << "The agent's own cgroup under "
                   << cgroup_fs_->Path(options_.cgroups_root)
                   << " was not removed: " << released;
    }
  }
}

void Agent::SendToMaster(AgentMessage message) {
  if (!registered_ || !link_.Send(std::move(message))) {
    VLOG(1) << "Not registered; dropping a message for the master";
  }
}

void Agent::OnLinkConnected() {
  AgentMessage m;
  if (!info_.has_id()) {
    auto* r = m.mutable_register_agent();
    *r->mutable_agent_info() = info_;
    r->set_version(kVersion);
    for (auto type : {mesos::v1::AgentInfo::Capability::MULTI_ROLE,
                      mesos::v1::AgentInfo::Capability::HIERARCHICAL_ROLE}) {
      r->add_capabilities()->set_type(type);
    }
    *r->mutable_checkpointed_resources() = ToProto(checkpointed_);
    if (previous_agent_id_) {
      r->mutable_previous_agent_id()->set_value(*previous_agent_id_);
    }
    LOG(INFO) << "Registering with the master at " << *link_.master()
              << (previous_agent_id_
                      ? absl::StrCat(" (as a new agent; agent ",
                                     *previous_agent_id_, " is gone)")
                      : std::string());
  } else {
    *m.mutable_reregister_agent() = ReregistrationMessage();
    LOG(INFO) << "Reregistering agent " << info_.id().value()
              << " with the master at " << *link_.master() << " ("
              << m.reregister_agent().tasks_size() << " tasks)";
  }
  link_.Send(std::move(m));
  // Without an answer or a ping in time, try again.
  ArmPingTimer();
}

agora::internal::ReregisterAgent Agent::ReregistrationMessage() const {
  agora::internal::ReregisterAgent r;
  *r.mutable_agent_info() = info_;
  r.set_version(kVersion);
  for (auto type : {mesos::v1::AgentInfo::Capability::MULTI_ROLE,
                    mesos::v1::AgentInfo::Capability::HIERARCHICAL_ROLE}) {
    r.add_capabilities()->set_type(type);
  }
  *r.mutable_checkpointed_resources() = ToProto(checkpointed_);
  for (const auto& [fid, framework] : containers_.frameworks()) {
    *r.add_frameworks() = framework.info;
    for (const auto& [eid, executor] : framework.executors) {
      // The master does not keep the agent-made command executors.
      if (!executor.command_executor) *r.add_executor_infos() = executor.info;
      for (const auto& [tid, task] : executor.tasks) {
        mesos::v1::Task* t = r.add_tasks();
        *t = task;
        *t->mutable_agent_id() = info_.id();
        const mesos::v1::TaskStatus* head =
            updates_.Head(framework.info.id(), task.task_id());
        if (head != nullptr) {
          t->set_status_update_state(head->state());
          t->set_status_update_uuid(head->uuid());
        }
      }
    }
  }
  return r;
}

void Agent::OnLinkDisconnected(const std::string& reason) {
  if (registered_) {
    LOG(INFO) << "Disconnected from the master: " << reason;
  } else {
    LOG(INFO) << "No connection to the master: " << reason;
  }
  registered_ = false;
  updates_.Pause();
  if (ping_timer_) loop_.Cancel(ping_timer_);
  ping_timer_ = 0;
}

void Agent::OnMasterMessage(const MasterMessage& message) {
  DCHECK(loop_.IsLoopThread());
  using M = MasterMessage;
  if (message.message_case() != M::kAgentRegistered &&
      message.message_case() != M::kPing && !registered_) {
    LOG(WARNING) << "Ignoring a message from the master before registration";
    return;
  }
  switch (message.message_case()) {
    case M::kAgentRegistered:
      return OnRegistered(message.agent_registered());
    case M::kPing:
      return OnPing(message.ping());
    case M::kRunTask:
      return OnRunTask(message.run_task());
    case M::kKillTask: {
      const auto& kill = message.kill_task();
      std::optional<mesos::v1::KillPolicy> policy;
      if (kill.has_kill_policy()) policy = kill.kill_policy();
      return containers_.KillTask(kill.framework_id(), kill.task_id(), policy);
    }
    case M::kAcknowledgement:
      return OnAcknowledgement(message.acknowledgement());
    case M::kFrameworkToExecutor:
      return containers_.FrameworkMessage(message.framework_to_executor());
    case M::kShutdownFramework:
      updates_.RemoveFramework(message.shutdown_framework().framework_id());
      return containers_.ShutdownFramework(
          message.shutdown_framework().framework_id());
    case M::kShutdownExecutor:
      return containers_.ShutdownExecutor(
          message.shutdown_executor().framework_id(),
          message.shutdown_executor().executor_id());
    case M::kCheckpointResources:
      return OnCheckpointResources(message.checkpoint_resources());
    case M::kShutdownAgent:
      LOG(INFO) << "Asked to shut down by the master: "
                << message.shutdown_agent().message();
      // Everything goes, and the next agent on this work_dir must not try
      // to come back as this one.
      shutdown_requested_ = true;
      checkpoint_writer_.Remove(LatestAgentPath(options_.work_dir));
      if (on_shutdown_requested_) {
        on_shutdown_requested_(message.shutdown_agent().message());
      }
      return;
    default:
      LOG(WARNING) << "Ignoring an unknown message from the master";
  }
}

void Agent::OnRegistered(const agora::internal::AgentRegistered& registered) {
  bool first = !info_.has_id();
  if (!first && info_.id().value() != registered.agent_id().value()) {
    LOG(ERROR) << "The master answered reregistration of agent "
               << info_.id().value() << " with agent ID "
               << registered.agent_id().value() << "; adopting it";
  }
  bool id_changed = info_.id().value() != registered.agent_id().value();
  *info_.mutable_id() = registered.agent_id();
  containers_.set_agent_info(info_);
  if (id_changed) {
    checkpointer_.set_agent_id(info_.id().value());
    checkpointer_.AgentInfo(info_);
    previous_agent_id_.reset();
  }
  master_info_ = registered.master_info();
  registered_ = true;
  ping_timeout_ = registered.ping_timeout_seconds() > 0
                      ? absl::Seconds(registered.ping_timeout_seconds())
                      : kDefaultPingTimeout;
  ArmPingTimer();
  link_.ResetBackoff();
  if (first) CreateAgentDirectories();
  LOG(INFO) << (first ? "Registered" : "Reregistered") << " with master "
            << registered.master_info().id() << " at " << *link_.master()
            << "; agent ID " << info_.id().value() << ", ping timeout "
            << ping_timeout_;
  updates_.Resume();
}

void Agent::CreateAgentDirectories() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path slaves = fs::path(options_.work_dir) / "slaves";
  fs::create_directories(slaves / info_.id().value(), ec);
  fs::remove(slaves / "latest", ec);
  fs::create_directory_symlink(info_.id().value(), slaves / "latest", ec);
  if (ec)
    LOG(WARNING) << "Failed to link " << slaves / "latest"
                 << ": " << ec;
}

void Agent::OnPing(const agora::internal::Ping& ping) {
  VLOG(2) << "Ping " << ping.sequence() << " from the master";
  AgentMessage m;
  m.mutable_pong()->set_sequence(ping.sequence());
  link_.Send(std::move(m));
  ArmPingTimer();
}

void Agent::ArmPingTimer() {
  if (ping_timer_) loop_.Cancel(ping_timer_);
  ping_timer_ = loop_.PostAfter(ping_timeout_, [this] { OnPingTimeout(); });
}

void Agent::OnPingTimeout() {
  ping_timer_ = 0;
  LOG(INFO) << "No ping from the master within " << ping_timeout_
            << "; re-detecting the master";
  registered_ = false;
  updates_.Pause();
  link_.Reconnect("master ping timeout");
}

void Agent::OnRunTask(const agora::internal::RunTask& run) {
  const mesos::v1::TaskInfo& task = run.task();
  if (!run.framework().has_id()) {
    LOG(WARNING) << "Ignoring task '" << task.task_id().value()
                 << "': the framework has no id";
    return;
  }
  if (task.agent_id().value() != info_.id().value()) {
    LOG(WARNING) << "Ignoring task '" << task.task_id().value()
                 << "' meant for agent " << task.agent_id().value();
    return;
  }
  LOG(INFO) << "Got assigned task '" << task.task_id().value()
            << "' for framework " << run.framework().id().value();
  containers_.RunTask(run.framework(), task);
}

absl::StatusOr<bool> Agent::OnStatusUpdate(
    const mesos::v1::FrameworkID& framework,
    const mesos::v1::TaskStatus& status, const std::string& checkpoint_path,
    std::function<void(const absl::Status&)> on_checkpointed) {
  LOG(INFO) << "Handling status update " << StatusLabel(status)
            << " of framework " << framework.value() << " from "
            << mesos::v1::TaskStatus::Source_Name(status.source());
  absl::StatusOr<StatusUpdateManager::UpdateResult> result = updates_.Update(
      framework, status, checkpoint_path, std::move(on_checkpointed));
  if (!result.ok()) return result.status();
  if (*result == StatusUpdateManager::UpdateResult::kDuplicate) {
    LOG(INFO) << "Status update " << StatusLabel(status)
              << " is a duplicate; ignored";
    return false;
  }
  if (IsTerminalState(status.state())) {
    std::string state = mesos::v1::TaskState_Name(status.state()).substr(5);
    for (char& c : state) c = static_cast<char>(tolower(c));
    metrics_.Increment("slave/tasks_" + state);
  }
  return true;
}

void Agent::ForwardStatusUpdate(const agora::internal::StatusUpdate& update) {
  LOG(INFO) << "Forwarding status update " << StatusLabel(update.status())
            << " of framework " << update.framework_id().value()
            << " to the master (latest state "
            << mesos::v1::TaskState_Name(update.latest_state()) << ")";
  AgentMessage m;
  *m.mutable_status_update() = update;
  link_.Send(std::move(m));
}

void Agent::OnAcknowledgement(
    const agora::internal::StatusUpdateAcknowledgement& ack) {
  auto result =
      updates_.Acknowledge(ack.framework_id(), ack.task_id(), ack.uuid());
  if (!result.ok()) {
    LOG(WARNING) << "Ignoring status update acknowledgement: "
                 << result.status();
    return;
  }
  LOG(INFO) << "Status update " << UuidBytesToString(ack.uuid())
            << " for task '" << ack.task_id().value() << "' of framework "
            << ack.framework_id().value() << " acknowledged";
  if (*result == StatusUpdateManager::AckResult::kStreamDone) {
    containers_.OnTaskStreamDone(ack.framework_id(), ack.task_id());
  }
}

std::string Agent::IsolationSummary() const {
  const IsolationConfig& iso = options_.isolation;
  std::vector<std::string> enforced;
  if (isolator_ != nullptr) {
    if (iso.Has("cgroups/cpu")) enforced.push_back("cpu.weight, cpu.max");
    if (iso.Has("cgroups/mem")) {
      enforced.push_back(options_.cgroups_limits.limit_swap
                             ? "memory.low, memory.max, memory.swap.max=0"
                             : "memory.low, memory.max");
    }
    if (iso.Has("cgroups/pids")) enforced.push_back("pids.max");
    if (iso.Has("cgroups/io")) enforced.push_back("io.weight");
  }
  if (iso.Has("namespaces/pid")) enforced.push_back("pid namespace");
  if (iso.Has("filesystem/linux")) enforced.push_back("private /tmp");
  std::string where =
      isolator_ != nullptr
          ? absl::StrCat("; containers in cgroup2 ",
                         cgroup_fs_->Path(options_.cgroups_root),
                         " (launcher linux)")
          : std::string("; launcher posix");
  return absl::StrCat(
      iso.ToString(), " -> ",
      enforced.empty()
          ? "no limits enforced (usage monitoring only)"
          : absl::StrCat("enforcing ", absl::StrJoin(enforced, "; ")),
      where);
}

}  // namespace agora
