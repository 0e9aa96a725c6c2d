// Master: the coordinator. It owns the framework registry, agent registry,
// offer book, task tracker, registrar and allocator, and implements the
// scheduler and agent protocols of docs/protocol.md over them. The gRPC and
// HTTP edges (scheduler_service.h, agent_service.h, http_endpoints.h) only
// convert and post to the master's loop.
//
// Thread rule: every method runs on the master's EventLoop thread, except
// SetAddress() and the blocking Recover() (before the loop starts) and id().
// Registry writes never block the loop: operations that persist something
// (agent admission, unreachable and gone marking, weights, quotas) finish
// in a completion once the Registrar reports the write durable.
#ifndef AGORA_MASTER_MASTER_H_
#define AGORA_MASTER_MASTER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agora/internal/agent_link.pb.h"
#include "allocator/allocator.h"
#include "common/event_loop.h"
#include "common/metrics.h"
#include "common/resources_proto.h"
#include "master/agent_registry.h"
#include "master/framework_registry.h"
#include "master/master_options.h"
#include "master/offer_book.h"
#include "master/registrar.h"
#include "master/state_snapshot.h"
#include "master/task_tracker.h"
#include "master/task_validation.h"
#include "master/unreachable_tasks.h"
#include "mesos/v1/master/master.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"
#include "nlohmann/json.hpp"

namespace agora {

using SchedulerCall = mesos::v1::scheduler::Call;

class Master {
 public:
  // `loop` must outlive the master.
  Master(MasterOptions options, EventLoop* loop,
         std::unique_ptr<Registry> registry);
  ~Master();

  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Before the loop starts (a standalone master): reads the registry,
  // blocking until the back-end answered. Errors as Registry::Recover() (the
  // master must not start then).
  absl::Status Recover();
  // On the loop (a master that becomes the leader): the same, without
  // blocking; `done` runs on the loop.
  void Recover(std::function<void(absl::Status)> done);
  // Gives the registrar its back-end, when the master was built without one
  // (the ZooKeeper registry exists only once this master is elected: its
  // writes are fenced by the election znode). Before Recover().
  void UseRegistry(std::unique_ptr<Registry> registry);
  // Records the bound address (`ip` as advertised, the gRPC port) in the
  // MasterInfo. Before the loop starts.
  void SetAddress(const std::string& ip, int grpc_port);
  // Once elected (or at once, standalone) and recovered: schedules the
  // allocation, registry GC and agent reregistration timers; metric
  // master/elected becomes 1.
  void Start();
  // Asked before every allocation: false skips it (a leader that cannot
  // confirm its ZooKeeper session within the session timeout, e.g. after
  // being frozen, may already be deposed and must not offer).
  void SetLeaseCheck(std::function<bool()> check) {
    lease_check_ = std::move(check);
  }
  // Closes every framework stream and agent link and cancels all timers.
  void Shutdown();

  // Any thread.
  const std::string& id() const { return master_id_; }
  const mesos::v1::MasterInfo& info() const { return info_; }

  // --- Scheduler edge -------------------------------------------------------
  // SUBSCRIBE on a new stream whose id (already sent to the client as
  // `mesos-stream-id`) is `stream_id`. Errors close the stream with
  // INVALID_ARGUMENT or FAILED_PRECONDITION and a message.
  void Subscribe(const SchedulerCall& call,
                 std::shared_ptr<SchedulerStream> stream,
                 const std::string& stream_id);
  // The stream `stream_id` ended (client gone, cancelled, overflow, closed).
  void OnSubscriptionClosed(const std::string& stream_id);
  // Every call but SUBSCRIBE. INVALID_ARGUMENT (malformed), NOT_FOUND
  // (unknown framework), FAILED_PRECONDITION (not subscribed),
  // PERMISSION_DENIED (stream id mismatch), UNIMPLEMENTED; state is
  // untouched on error.
  absl::Status HandleCall(const SchedulerCall& call,
                          const std::string& stream_id);

  // --- Agent edge -----------------------------------------------------------
  void OnAgentMessage(const std::shared_ptr<AgentConnection>& link,
                      const internal::AgentMessage& message);
  void OnAgentLinkClosed(const std::shared_ptr<AgentConnection>& link);

  // --- Operator edge (master_operator.cc) ------------------------------------
  // One `agora.v1.Operator/Call`. `done` runs on the loop with the
  // Response, at once for reads and once the registry write is durable for
  // MARK_AGENT_GONE, UPDATE_WEIGHTS and UPDATE_QUOTA; or with
  // INVALID_ARGUMENT (malformed), NOT_FOUND (unknown agent), UNAVAILABLE
  // (registry write failed, shutting down), UNIMPLEMENTED (a call type this
  // master does not serve).
  using OperatorDone =
      std::function<void(absl::StatusOr<mesos::v1::master::Response>)>;
  void HandleOperatorCall(const mesos::v1::master::Call& call,
                          OperatorDone done);

  // --- Observability ---------------------------------------------------------
  // A copy of what /state and the other read-only endpoints show, to be
  // rendered off the loop (state_snapshot.h).
  std::shared_ptr<const StateSnapshot> Snapshot();
  std::map<std::string, double> MetricsSnapshot() const;

  // --- Operator (master_roles.cc, master_operations.cc) ----------------------
  // UPDATE_WEIGHTS: valid roles, weights > 0 and finite (InvalidArgument
  // otherwise, nothing changes); persisted first (the registry's error
  // otherwise), then given to the allocator, then `done` runs. Other roles
  // keep theirs.
  void UpdateWeights(const std::map<std::string, double>& weights,
                     std::function<void(absl::Status)> done);
  // GET_WEIGHTS.
  std::map<std::string, double> Weights() const;
  // UPDATE_QUOTA, all or nothing: every config is checked first
  // (top-level roles only, guarantee <= limit, no role twice; unless
  // `force`, the role's consumption without outstanding offers within the
  // new limits and the guarantees within the cluster's capacity), then all
  // are persisted and applied, and offers are rescinded so that roles stay
  // within their new limits and guarantees can be met; then `done` runs. A
  // default Quota removes the role's quota.
  void UpdateQuota(const std::vector<std::pair<std::string, Quota>>& configs,
                   bool force, std::function<void(absl::Status)> done);
  // GET_QUOTA.
  std::map<std::string, Quota> Quotas() const;
  // RESERVE_RESOURCES / UNRESERVE_RESOURCES on `agent`: `resources`
  // without allocation info, as they will be (reserve) or are (unreserve).
  // Offers on the agent are rescinded first; FailedPrecondition when the
  // resources are in use (nothing changes then), NotFound for an unknown
  // agent, InvalidArgument for bad resources.
  absl::Status ReserveResources(const AgentId& agent,
                                const ProtoResources& resources);
  absl::Status UnreserveResources(const AgentId& agent,
                                  const ProtoResources& resources);

 private:
  // master_frameworks.cc
  absl::Status ValidateSubscribe(const SchedulerCall& call) const;
  Framework* AddNewFramework(mesos::v1::FrameworkInfo info,
                             std::set<std::string> roles,
                             const std::set<std::string>& suppressed);
  void Resubscribe(Framework* framework, const mesos::v1::FrameworkInfo& info,
                   const std::set<std::string>& suppressed);
  void ConnectFramework(Framework* framework,
                        std::shared_ptr<SchedulerStream> stream,
                        const std::string& stream_id);
  void DisconnectFramework(Framework* framework);
  void SendHeartbeat(const FrameworkId& id, const std::string& stream_id);
  Framework* EnsureRecoveredFramework(const mesos::v1::FrameworkInfo& info);
  absl::Status Teardown(Framework* framework);
  // Fired FrameworkInfo.failover_timeout after a disconnection.
  void OnFailoverTimeout(const FrameworkId& id, uint64_t epoch);
  // Kills the framework's tasks (TASK_KILLED, REASON_FRAMEWORK_REMOVED),
  // drops its offers, shuts it down on every agent and moves it to the
  // completed frameworks.
  void RemoveFramework(Framework* framework, const std::string& why);
  // UPDATE_FRAMEWORK, and the update part of a resubscription: the new
  // roles, name, failover timeout, capabilities, offer filters and
  // suppressed roles. InvalidArgument when `info` changes the principal,
  // user or checkpoint; state is untouched then.
  absl::Status UpdateFramework(Framework* framework,
                               mesos::v1::FrameworkInfo info,
                               const std::set<std::string>& suppressed);

  // master_calls.cc
  absl::StatusOr<Framework*> AuthorizeCall(const SchedulerCall& call,
                                           const std::string& stream_id);
  absl::Status Dispatch(Framework* framework, const SchedulerCall& call);
  absl::Status Decline(Framework* framework,
                       const SchedulerCall::Decline& decline);
  absl::Status ReviveOrSuppress(
      Framework* framework,
      const google::protobuf::RepeatedPtrField<std::string>& roles,
      bool revive);
  absl::Status Kill(Framework* framework, const SchedulerCall::Kill& kill);
  absl::Status ShutdownExecutor(Framework* framework,
                                const SchedulerCall::Shutdown& shutdown);
  absl::Status Acknowledge(Framework* framework,
                           const SchedulerCall::Acknowledge& ack);
  absl::Status Reconcile(Framework* framework,
                         const SchedulerCall::Reconcile& reconcile);
  absl::Status Message(Framework* framework,
                       const SchedulerCall::Message& message);
  absl::Status UpdateFrameworkCall(
      Framework* framework, const SchedulerCall::UpdateFramework& update);
  // master_reconcile.cc
  mesos::v1::TaskStatus ReconciliationStatus(const TrackedTask& task) const;
  // Mesos's explicit reconciliation table for a task the master does not
  // know; nullopt means no reply (its agent is recovered, not reregistered).
  std::optional<mesos::v1::TaskStatus> UnknownTaskStatus(
      const Framework& framework, const std::string& task_id,
      const std::optional<AgentId>& agent_id) const;
  bool IsRecoveredAgent(const AgentId& id) const;

  // master_accept.cc
  absl::Status Accept(Framework* framework,
                      const SchedulerCall::Accept& accept);
  // An error naming the problem when the offers cannot be used together.
  std::optional<std::string> ValidateOffers(
      const google::protobuf::RepeatedPtrField<mesos::v1::OfferID>& ids);
  // Takes the (validated) offers and describes what they hold.
  TaskLaunchContext TakeOffersForLaunch(Framework* framework,
                                        const SchedulerCall::Accept& accept);
  void DropLaunches(Framework* framework, const SchedulerCall::Accept& accept,
                    const std::string& error);
  void LaunchTasks(Framework* framework, const SchedulerCall::Accept& accept);
  void LaunchTask(Framework* framework, Agent* agent, ValidatedTask launch);

  // master_operations.cc
  // RESERVE or UNRESERVE from an ACCEPT on the offers in `context`:
  // validated as Mesos does, applied to the allocation, the context's
  // available resources and the agent's total, and checkpointed on the
  // agent. An invalid operation is dropped with a warning.
  void ApplyOfferOperation(Framework* framework, Agent* agent,
                           const mesos::v1::Offer::Operation& operation,
                           TaskLaunchContext* context);
  // Applies `conversion` (without allocation roles) to the agent's total
  // and sends the agent its new checkpoint.
  void ConvertAgentTotal(Agent* agent, const ResourceConversion& conversion);
  absl::Status ApplyOperatorConversion(const AgentId& id,
                                       const ResourceConversion& conversion);
  // The agent's total: its info's resources with `checkpointed` applied.
  static absl::StatusOr<Resources> AgentTotal(
      const Resources& info_resources, const ProtoResources& checkpointed);

  // master_operator_roles.cc: GET_WEIGHTS, UPDATE_WEIGHTS, GET_QUOTA,
  // UPDATE_QUOTA, RESERVE_RESOURCES, UNRESERVE_RESOURCES.
  void HandleRoleOperatorCall(const mesos::v1::master::Call& call,
                              OperatorDone done);
  absl::StatusOr<mesos::v1::master::Response> HandleRoleReadCall(
      const mesos::v1::master::Call& call);
  absl::StatusOr<mesos::v1::master::Response> HandleReservationCall(
      const mesos::v1::master::Call& call);

  // master_roles.cc
  // Recover(): weights and quotas from the registry (or --weights).
  absl::Status RecoverRoles();
  // UpdateQuota's checks; InvalidArgument as documented there.
  absl::Status ValidateQuotaUpdate(
      const std::vector<std::pair<std::string, Quota>>& configs,
      bool force) const;
  // Rescinds offers after a quota change (Mesos's best effort).
  void RescindForQuota(const std::string& role, const Quota& quota);

  // master_agents.cc
  // An agent whose admission waits for its registry write. A second
  // register_agent on the same link, or reregister_agent for the same id,
  // joins it: one admission, and every message gets an agent_registered.
  struct PendingAdmission {
    std::shared_ptr<AgentConnection> link;
    bool link_closed = false;
    int answers = 1;
    mesos::v1::AgentInfo info;  // The latest, with the id.
    Resources total;
    std::string version;
    // Set for a reregistration: the latest message, and what the agent was
    // when the first one came.
    std::optional<internal::ReregisterAgent> reregister;
    bool was_unreachable = false;
    bool was_recovered = false;
    bool was_known = false;  // Admitted to this master before.
  };
  void RegisterAgent(const std::shared_ptr<AgentConnection>& link,
                     const internal::RegisterAgent& message);
  void ReregisterAgent(const std::shared_ptr<AgentConnection>& link,
                       const internal::ReregisterAgent& message);
  void RefuseAgent(const std::shared_ptr<AgentConnection>& link,
                   const absl::Status& why);
  // Records `pending` and writes its info to the registry unless the
  // registry holds it already; the admission completes in
  // OnAgentRecordPersisted.
  void StartAdmission(const AgentId& id, PendingAdmission pending);
  void PersistAgentRecord(const AgentId& id);
  void OnAgentRecordPersisted(const AgentId& id, const absl::Status& status);
  // A reregistration joins the pending admission of its agent.
  void JoinAdmission(PendingAdmission* pending,
                     const std::shared_ptr<AgentConnection>& link,
                     const internal::ReregisterAgent& message, Resources total);
  void CompleteRegistration(const AgentId& id, PendingAdmission pending);
  void CompleteReregistration(const AgentId& id, PendingAdmission pending);
  // A known agent comes back on a new link with `info`: its old link,
  // offers and allocator entry go.
  void ResetAgent(Agent* agent, const mesos::v1::AgentInfo& info,
                  Resources total);
  // Adds reported tasks the master does not know and drops ones the agent
  // does not report; returns reported frameworks that were torn down. For
  // an agent this master knew (`kills` not null), a live task it does not
  // know is one it ended meanwhile: not added, a kill for it goes to
  // `kills`.
  std::set<FrameworkId> ReconcileAgentTasks(
      Agent* agent, const internal::ReregisterAgent& message,
      std::vector<internal::MasterMessage>* kills);
  // A new agent registered in place of `previous` (its host rebooted, or
  // it dropped its checkpoint): that agent is gone and is removed now.
  void RemoveReplacedAgent(const mesos::v1::AgentID& previous,
                           const std::string& hostname);
  void DropUnreportedTasks(
      Agent* agent,
      const std::set<std::pair<FrameworkId, std::string>>& reported);
  void ReconcileAgentExecutors(Agent* agent,
                               const internal::ReregisterAgent& message);
  void AdmitAgent(Agent* agent, const std::shared_ptr<AgentConnection>& link);
  void SendAgentRegistered(const Agent& agent);
  void OnStatusUpdate(Agent* agent, const internal::StatusUpdate& update);
  void UpdateTask(TrackedTask* task, const mesos::v1::TaskStatus& status,
                  mesos::v1::TaskState latest);
  void OnExecutorToFramework(Agent* agent,
                             const internal::ExecutorToFramework& message);
  void OnExecutorExited(Agent* agent, const internal::ExecutorExited& message);

  // master_partitions.cc
  void PingAgent(const AgentId& id);
  void OnPong(Agent* agent);
  // The link closed: the agent is deactivated and the tasks of frameworks
  // that do not checkpoint are lost; health checks keep counting.
  void DisconnectAgent(Agent* agent, const std::string& reason);
  void LoseNonCheckpointingTasks(Agent* agent);
  // Health checks failed: records the agent unreachable in the registry and,
  // once durable, removes it. When the write fails the agent is kept and
  // the next health check retries; nothing is written while another write
  // for the agent is pending.
  void MarkAgentUnreachable(Agent* agent, const std::string& message);
  void OnAgentMarkedUnreachable(const AgentId& id, const std::string& message,
                                absl::Time time, const absl::Status& status);
  // Removes a registered agent marked unreachable at `unreachable_time` or,
  // without it, gone: its tasks become UNREACHABLE / GONE_BY_OPERATOR (or
  // LOST for frameworks that are not partition-aware), its executors,
  // offers and allocator entry go, and frameworks get an agent FAILURE.
  void RemoveAgent(Agent* agent, const std::string& message,
                   std::optional<absl::Time> unreachable_time);
  void SendAgentLost(const AgentId& id);
  // --agent_reregister_timeout after Start(): agents recovered from the
  // registry that have not reregistered (and whose reregistration is not
  // being written) are marked unreachable.
  void OnAgentReregisterTimeout();
  // Every --registry_gc_interval: prunes old unreachable and gone agents
  // from the registry, and the unreachable tasks of pruned agents.
  void OnRegistryGc();
  // An unreachable (or unknown) agent came back: tells the frameworks the
  // reported state of each task with REASON_AGENT_REREGISTERED.
  void AnnounceReregisteredTasks(const internal::ReregisterAgent& message,
                                 const std::string& why);

  // master.cc: allocation, offers, shared helpers.
  // Recover(): after the registrar loaded `status`, the roles.
  absl::Status OnRegistryRecovered(absl::Status status);
  void RequestAllocation();
  void OnAllocationTimer();
  void RunAllocation();
  void MakeOffer(const Allocation& allocation,
                 std::map<FrameworkId, SchedulerEvent>* events);
  void OnOfferTimeout(const std::string& offer_id);
  // Removes the offer and returns its resources to the allocator without a
  // filter; with `notify`, sends RESCIND to the framework.
  void RescindOffer(const std::string& offer_id, bool notify);
  // Removes the offer (and its timeout) without returning resources.
  std::optional<OutstandingOffer> TakeOffer(const std::string& offer_id);
  // Moves `task` to a terminal state decided by the master and counts it.
  void OnTaskTerminal(TrackedTask* task);
  void CountTerminal(mesos::v1::TaskState state);
  // A status from the master (no uuid, SOURCE_MASTER).
  mesos::v1::TaskStatus MasterStatus(const std::string& task_id,
                                     const std::string& agent_id,
                                     mesos::v1::TaskState state,
                                     mesos::v1::TaskStatus::Reason reason,
                                     const std::string& message) const;
  void SendUpdate(const Framework& framework, mesos::v1::TaskStatus status);
  void RegisterGauges();
  void RegisterTaskGauges();
  void RegisterClusterGauges();

  // master_operator.cc
  // Every operator call that reads only.
  absl::StatusOr<mesos::v1::master::Response> HandleReadOperatorCall(
      const mesos::v1::master::Call& call);
  // MARK_AGENT_GONE; `done` runs once the gone record is durable.
  void MarkAgentGone(const AgentId& id, std::function<void(absl::Status)> done);
  void MarkUnreachableTasksGone(const AgentId& id, const std::string& message);
  mesos::v1::master::Response::GetAgents GetAgents();
  mesos::v1::master::Response::GetFrameworks GetFrameworks();
  mesos::v1::master::Response::GetTasks GetTasks();

  const MasterOptions options_;
  EventLoop* const loop_;
  const std::string master_id_;
  mesos::v1::MasterInfo info_;
  const absl::Time start_time_;
  std::optional<absl::Time> elected_time_;

  Registrar registrar_;
  // Admissions waiting for their registry write, by agent id, and the
  // links they came on.
  std::map<AgentId, PendingAdmission> admissions_;
  std::map<uint64_t, AgentId> admitting_links_;
  Allocator allocator_;
  FrameworkRegistry frameworks_;
  AgentRegistry agents_;
  OfferBook offers_;
  TaskTracker tasks_;
  UnreachableTasks unreachable_tasks_;
  MetricsRegistry metrics_;

  EventLoop::TimerId allocation_timer_ = 0;
  EventLoop::TimerId allocator_recovery_timer_ = 0;
  EventLoop::TimerId reregister_timer_ = 0;
  EventLoop::TimerId registry_gc_timer_ = 0;
  std::function<bool()> lease_check_;
  bool allocation_pending_ = false;
  bool shut_down_ = false;
};

}  // namespace agora

#endif  // AGORA_MASTER_MASTER_H_
