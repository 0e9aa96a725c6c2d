// Agent: the agora-agent daemon as a library. It registers with the leading
// master over the agent link (master_link.h), answers pings, runs and
// kills tasks through the ContainerManager, serves the executor API on a
// Unix socket and its gRPC port, forwards status updates reliably through
// the StatusUpdateManager, serves /health, /state, /flags,
// /monitor/statistics and /metrics/snapshot over HTTP, and the v1 operator
// API (agent_operator.h) over gRPC and HTTP POST /api/v1.
//
// Checkpointing and recovery (docs/recovery.md): the executors and tasks of
// frameworks that checkpoint are recorded under <work_dir>/meta; Start()
// reads that record, re-adopts the executors still running (or, with
// --recover=cleanup or after a reboot, kills them and registers anew),
// waits up to --executor_reregistration_timeout for them to resubscribe,
// and only then reregisters with the master under the same agent id.
//
// Lifecycle: Start() once, Stop() once (both from a thread other than the
// agent's loop). Stop() kills the executors of frameworks that do not
// checkpoint; those of frameworks that do stay for the next agent, as in
// Mesos, unless the master asked the agent to shut down.
//
// Thread rule: one EventLoop, owned here, holds all state; gRPC, HTTP,
// detector and reaper callbacks only post to it.
#ifndef AGORA_AGENT_AGENT_H_
#define AGORA_AGENT_AGENT_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "agent/agent_operator.h"
#include "agent/agent_operator_service.h"
#include "agent/agent_options.h"
#include "agent/checkpoint_state.h"
#include "agent/checkpoint_writer.h"
#include "agent/checkpointer.h"
#include "agent/container_manager.h"
#include "agent/executor_service.h"
#include "agent/master_link.h"
#include "agent/status_update_manager.h"
#include "common/event_loop.h"
#include "common/http_server.h"
#include "common/metrics.h"
#include "isolation/cgroup_fs.h"
#include "isolation/cgroups2_isolator.h"
#include "isolation/launcher.h"
#include "zookeeper/leader_detector.h"

namespace grpc {
class Server;
}

namespace agora {

class Agent {
 public:
  Agent(AgentOptions options, std::unique_ptr<LeaderDetector> detector,
        std::unique_ptr<Launcher> launcher);
  ~Agent();  // Stop()s if needed.

  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Called on the loop when the master sends ShutdownAgent, with its
  // message. Set before Start(); main() then calls Stop().
  void set_on_shutdown_requested(std::function<void(const std::string&)> fn) {
    on_shutdown_requested_ = std::move(fn);
  }

  // Binds the gRPC server (TCP --port and the executor Unix socket) and the
  // HTTP server, starts the loop and begins detecting the master.
  // Unavailable when a server cannot bind.
  absl::Status Start();
  // Stops talking to the master, kills every executor (waiting up to 5 s
  // for them to be reaped), stops the servers and the loop, and removes the
  // socket. Idempotent.
  void Stop();

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  // The executor API's Unix socket path.
  const std::string& executor_socket() const { return socket_path_; }

 private:
  // Loop thread.
  void OnLinkConnected();
  void OnLinkDisconnected(const std::string& reason);
  void OnMasterMessage(const agora::internal::MasterMessage& message);
  void OnRegistered(const agora::internal::AgentRegistered& registered);
  void OnPing(const agora::internal::Ping& ping);
  void OnAcknowledgement(
      const agora::internal::StatusUpdateAcknowledgement& ack);
  void OnRunTask(const agora::internal::RunTask& run);
  void ArmPingTimer();
  void OnPingTimeout();
  absl::StatusOr<bool> OnStatusUpdate(
      const mesos::v1::FrameworkID& framework,
      const mesos::v1::TaskStatus& status, const std::string& checkpoint_path,
      std::function<void(const absl::Status&)> on_checkpointed);
  void ForwardStatusUpdate(const agora::internal::StatusUpdate& update);
  void SendToMaster(agora::internal::AgentMessage message);
  agora::internal::ReregisterAgent ReregistrationMessage() const;
  void CreateAgentDirectories();
  // agent_checkpoint.cc: loads the checkpointed resources (before Start()
  // binds anything); FailedPrecondition when they do not fit --resources.
  absl::Status RecoverCheckpointedResources();
  // agent_recovery.cc. Start(): reads the checkpoint and decides what to do
  // with it (FailedPrecondition/DataLoss naming the file under --strict).
  absl::StatusOr<CheckpointState> ReadCheckpointForStart();
  // Loop: re-adopts or destroys the earlier agent's executors.
  void ApplyRecovery(const CheckpointState& state);
  // The tasks' status-update streams; returns the tasks whose stream had
  // ended (terminal update acknowledged).
  std::vector<std::pair<mesos::v1::FrameworkID, mesos::v1::TaskID>>
  RecoverStreams(const CheckpointState& state);
  // Start(): the layout version and this boot's id, once recovery has done
  // what the old ones asked for.
  absl::Status WriteCheckpointHeader();
  // Loop: the executors resubscribed (or the timeout passed): detect the
  // master and (re)register.
  void OnRecoveryComplete();
  // Loop: the servers listen; a recovering agent starts waiting for its
  // executors (--executor_reregistration_timeout) and signals them.
  void OnExecutorSocketListening();
  // Loop: a recovered executor resubscribed; `awaiting` still have not.
  // The wait for the others starts again (see docs/recovery.md).
  void OnExecutorReregistered(size_t awaiting);
  void ArmReregistrationTimer();
  // Loop, once the executor socket listens: tells the adopted executors
  // that have not resubscribed yet that the agent is back (SIGUSR2, Agora's
  // ReconnectExecutorMessage), again every
  // --executor_reregistration_retry_interval while recovering.
  void NudgeRecoveredExecutors();
  // Loop: once the servers listen and recovery is done, starts following
  // the leading master (and so registering).
  void MaybeStartDetectingMaster();
  void OnCheckpointResources(
      const agora::internal::CheckpointResources& message);

  absl::Status StartGrpc();
  absl::Status StartHttp();
  void AddOperatorApiRoutes();
  void RegisterMetrics();
  void RegisterStateGauges();
  void RegisterResourceGauges();
  // /state and /monitor/statistics: a copy of what they show is taken on
  // the loop (Take*), the rendering, and the cgroup and /proc reads of the
  // statistics, happen on the HTTP thread (Render*).
  struct StateCopy;
  struct ContainerCopy;
  std::shared_ptr<const StateCopy> TakeStateCopy() const;
  std::string RenderState(const StateCopy& copy) const;
  std::vector<ContainerCopy> TakeContainerCopies() const;
  std::string RenderStatistics(const std::vector<ContainerCopy>& copies) const;
  // One line: what the agent enforces.
  std::string IsolationSummary() const;
  std::string MetricsJson() const;

  const AgentOptions options_;
  EventLoop loop_;
  std::unique_ptr<LeaderDetector> detector_;
  std::unique_ptr<Launcher> launcher_;
  std::unique_ptr<CgroupFs> cgroup_fs_;  // Null without cgroups isolators.
  std::unique_ptr<Cgroups2Isolator> isolator_;
  MetricsRegistry metrics_;
  CheckpointWriter checkpoint_writer_;
  Checkpointer checkpointer_;
  StatusUpdateManager updates_;
  ContainerManager containers_;
  MasterLink link_;
  ExecutorService executor_service_;
  AgentOperator operator_api_;  // The v1 operator API (both transports).
  AgentOperatorService operator_service_;
  // The agent's cgroup before it moved into <root>/agent/leaf ("" for the
  // hierarchy's root), where it returns at Stop().
  std::string origin_cgroup_;
  std::unique_ptr<grpc::Server> grpc_server_;
  HttpServer http_;
  std::function<void(const std::string&)> on_shutdown_requested_;

  int grpc_port_ = 0;
  int http_port_ = 0;
  std::string socket_path_;
  bool started_ = false;
  bool loop_running_ = false;
  bool stopped_ = false;

  // Loop state.
  mesos::v1::AgentInfo info_;  // Has an id once registered.
  // Dynamically reserved resources (checkpointed), and --resources with
  // them applied.
  Resources checkpointed_;
  Resources total_;
  std::optional<mesos::v1::MasterInfo> master_info_;
  bool registered_ = false;
  // Recovery: what Start() decided, and the state until it completes.
  enum class Recovery { kNone, kReconnect, kDiscard };
  Recovery recovery_ = Recovery::kNone;
  std::string discard_reason_;
  // The id of the agent whose checkpoint was discarded, for the master.
  std::optional<std::string> previous_agent_id_;
  bool recovering_ = false;
  bool recovery_done_ = false;
  bool servers_ready_ = false;
  bool detecting_ = false;
  absl::Time recovery_started_;
  absl::Duration recovery_duration_;
  EventLoop::TimerId reregistration_timer_ = 0;
  EventLoop::TimerId nudge_timer_ = 0;
  bool shutdown_requested_ = false;  // By the master: kill everything.
  absl::Duration ping_timeout_;
  EventLoop::TimerId ping_timer_ = 0;
  absl::Time start_time_;
  // Container usage sums for the containerizer/* gauges (loop thread).
  std::map<std::string, double> usage_sums_;
  absl::Time usage_sums_time_ = absl::InfinitePast();
};

}  // namespace agora

#endif  // AGORA_AGENT_AGENT_H_
