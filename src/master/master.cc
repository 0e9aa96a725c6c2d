#include "master/master.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/resources_proto.h"
#include "glog/logging.h"
#include "master/grpc_status.h"

namespace agora {
namespace {

constexpr char kVersion[] = "0.1.0";

AllocatorOptions MakeAllocatorOptions(const MasterOptions& options) {
  AllocatorOptions out;
  out.allocation_interval = options.allocation_interval;
  out.shuffle_agents = options.shuffle_agents;
  out.min_allocatable_resources = options.min_allocatable_resources;
  out.fair_sharing_excluded_resource_names =
      options.fair_sharing_excluded_resource_names;
  out.filter_gpu_resources = options.filter_gpu_resources;
  out.agent_recovery_factor = options.allocator_agent_recovery_factor;
  return out;
}

// Mesos's rule: a registry that does not answer in time ends the master (a
// supervisor restarts it, and it recovers from what is durable).
void ExitOnRegistryTimeout(const absl::Status& status) {
  LOG(ERROR) << "Exiting: " << status;
  std::_Exit(EXIT_FAILURE);
}

Registrar::Options MakeRegistrarOptions(const MasterOptions& options) {
  Registrar::Options out;
  out.store_timeout = options.registry_store_timeout;
  out.on_store_timeout = options.on_registry_store_timeout != nullptr
                             ? options.on_registry_store_timeout
                             : ExitOnRegistryTimeout;
  return out;
}

}  // namespace

Master::Master(MasterOptions options, EventLoop* loop,
               std::unique_ptr<Registry> registry)
    : options_(std::move(options)),
      loop_(loop),
      master_id_(RandomUuid()),
      start_time_(loop->Now()),
      registrar_(loop, std::move(registry), MakeRegistrarOptions(options_)),
      allocator_(MakeAllocatorOptions(options_)),
      frameworks_(master_id_, options_.max_completed_frameworks),
      agents_(master_id_),
      offers_(master_id_),
      tasks_(options_.max_completed_tasks_per_framework),
      unreachable_tasks_(options_.max_unreachable_tasks_per_framework) {
  RegisterGauges();
}

Master::~Master() = default;

absl::Status Master::Recover() {
  return OnRegistryRecovered(registrar_.RecoverNow());
}

void Master::Recover(std::function<void(absl::Status)> done) {
  DCHECK(loop_->IsLoopThread());
  registrar_.Recover([this, done = std::move(done)](absl::Status status) {
    done(OnRegistryRecovered(status));
  });
}

absl::Status Master::OnRegistryRecovered(absl::Status status) {
  if (status.ok()) status = RecoverRoles();
  if (!status.ok()) return status;
  LOG(INFO) << "Master " << master_id_ << " recovered registry ("
            << registrar_.Describe() << ") with " << registrar_.agents().size()
            << " admitted, " << registrar_.unreachable().size()
            << " unreachable and " << registrar_.gone().size()
            << " gone agents";
  return status;
}

void Master::UseRegistry(std::unique_ptr<Registry> registry) {
  registrar_.UseRegistry(std::move(registry));
}

void Master::SetAddress(const std::string& ip, int grpc_port) {
  info_.set_id(master_id_);
  in_addr addr{};
  info_.set_ip(::inet_pton(AF_INET, ip.c_str(), &addr) == 1 ? addr.s_addr : 0);
  info_.set_port(static_cast<uint32_t>(grpc_port));
  info_.set_pid(absl::StrCat("master@", ip, ":", grpc_port));
  info_.set_hostname(options_.hostname.empty() ? ip : options_.hostname);
  info_.set_version(kVersion);
  mesos::v1::Address* address = info_.mutable_address();
  address->set_hostname(info_.hostname());
  address->set_ip(ip);
  address->set_port(grpc_port);
}

void Master::Start() {
  elected_time_ = loop_->Now();
  allocation_timer_ = loop_->PostAfter(options_.allocation_interval,
                                       [this] { OnAllocationTimer(); });
  if (allocator_.paused()) {
    // Recovered quotas: offers wait for the agents, at most this long.
    allocator_recovery_timer_ =
        loop_->PostAfter(options_.allocator_recovery_timeout, [this] {
          allocator_recovery_timer_ = 0;
          if (allocator_.paused()) {
            LOG(INFO) << "Allocator recovery timed out; making offers";
            allocator_.Resume();
          }
        });
  }
  registry_gc_timer_ = loop_->PostAfter(options_.registry_gc_interval,
                                        [this] { OnRegistryGc(); });
  if (!registrar_.agents().empty()) {
    reregister_timer_ =
        loop_->PostAfter(options_.agent_reregister_timeout,
                         [this] { OnAgentReregisterTimeout(); });
  }
}

void Master::Shutdown() {
  DCHECK(loop_->IsLoopThread());
  if (shut_down_) return;
  shut_down_ = true;
  LOG(INFO) << "Master " << master_id_ << " shutting down";
  loop_->Cancel(allocation_timer_);
  if (allocator_recovery_timer_ != 0) loop_->Cancel(allocator_recovery_timer_);
  loop_->Cancel(reregister_timer_);
  loop_->Cancel(registry_gc_timer_);
  const absl::Status bye = absl::UnavailableError("master is shutting down");
  for (const auto& [id, framework] : frameworks_.all()) {
    loop_->Cancel(framework->heartbeat_timer);
    if (framework->connected()) framework->stream->Close(ToGrpcStatus(bye));
  }
  for (const auto& [id, agent] : agents_.all()) {
    loop_->Cancel(agent->ping_timer);
    if (agent->connected()) agent->link->Close(bye);
  }
  for (const auto& [id, offer] : offers_.all()) {
    loop_->Cancel(offer.timeout_timer);
  }
}

// --- Allocation
// ---------------------------------------------------------------

void Master::RequestAllocation() {
  if (allocation_pending_ || shut_down_) return;
  allocation_pending_ = true;
  loop_->Post([this] {
    allocation_pending_ = false;
    RunAllocation();
  });
}

void Master::OnAllocationTimer() {
  if (shut_down_) return;
  allocation_timer_ = loop_->PostAfter(options_.allocation_interval,
                                       [this] { OnAllocationTimer(); });
  RunAllocation();
}

void Master::RunAllocation() {
  if (shut_down_) return;
  if (lease_check_ != nullptr && !lease_check_()) {
    LOG(WARNING) << "No allocation: the ZooKeeper session is not confirmed "
                    "within its timeout";
    return;
  }
  std::vector<Allocation> allocations = allocator_.Allocate(loop_->Now());
  std::map<FrameworkId, SchedulerEvent> events;
  for (const Allocation& allocation : allocations) {
    MakeOffer(allocation, &events);
  }
  for (auto& [id, event] : events) {
    VLOG(1) << "Sending " << event.offers().offers_size()
            << " offers to framework " << id;
    frameworks_.Find(id)->Send(std::move(event));
  }
  VLOG(2) << "Allocation run made " << allocations.size() << " offers";
}

void Master::MakeOffer(const Allocation& allocation,
                       std::map<FrameworkId, SchedulerEvent>* events) {
  Framework* framework = frameworks_.Find(allocation.framework);
  Agent* agent = agents_.Find(allocation.agent);
  Resources resources = allocation.resources.AllocatedTo(allocation.role);
  if (framework == nullptr || !framework->connected() || agent == nullptr ||
      !agent->connected()) {
    allocator_.RecoverResources(allocation.framework, allocation.agent,
                                resources, std::nullopt, loop_->Now());
    return;
  }
  OutstandingOffer* offer = offers_.Create(
      allocation.framework, allocation.agent, allocation.role, resources);
  mesos::v1::Offer& proto = offer->offer;
  proto.set_hostname(agent->info.hostname());
  mesos::v1::URL* url = proto.mutable_url();
  url->set_scheme("http");
  url->mutable_address()->set_hostname(agent->info.hostname());
  if (!agent->ip.empty()) url->mutable_address()->set_ip(agent->ip);
  url->mutable_address()->set_port(agent->info.port());
  *proto.mutable_resources() = ToProto(resources);
  *proto.mutable_attributes() = agent->info.attributes();
  for (const std::string& id : tasks_.ExecutorIds(agent->id, framework->id)) {
    proto.add_executor_ids()->set_value(id);
  }
  proto.mutable_allocation_info()->set_role(allocation.role);
  if (options_.offer_timeout.has_value()) {
    std::string id = offer->id;
    offer->timeout_timer = loop_->PostAfter(*options_.offer_timeout,
                                            [this, id] { OnOfferTimeout(id); });
  }
  SchedulerEvent& event = (*events)[framework->id];
  event.set_type(SchedulerEvent::OFFERS);
  *event.mutable_offers()->add_offers() = proto;
}

// --- Offers
// -------------------------------------------------------------------

void Master::OnOfferTimeout(const std::string& offer_id) {
  OutstandingOffer* offer = offers_.Find(offer_id);
  if (offer == nullptr) return;
  offer->timeout_timer = 0;
  VLOG(1) << "Offer " << offer_id << " timed out";
  RescindOffer(offer_id, /*notify=*/true);
}

std::optional<OutstandingOffer> Master::TakeOffer(const std::string& offer_id) {
  std::optional<OutstandingOffer> offer = offers_.Remove(offer_id);
  if (offer.has_value() && offer->timeout_timer != 0) {
    loop_->Cancel(offer->timeout_timer);
  }
  return offer;
}

void Master::RescindOffer(const std::string& offer_id, bool notify) {
  std::optional<OutstandingOffer> offer = TakeOffer(offer_id);
  if (!offer.has_value()) return;
  Framework* framework = frameworks_.Find(offer->framework);
  if (notify && framework != nullptr && framework->connected()) {
    SchedulerEvent event;
    event.set_type(SchedulerEvent::RESCIND);
    event.mutable_rescind()->mutable_offer_id()->set_value(offer_id);
    framework->Send(std::move(event));
  }
  allocator_.RecoverResources(offer->framework, offer->agent, offer->resources,
                              std::nullopt, loop_->Now());
}

// --- Tasks and updates -------------------------------------------------------

void Master::OnTaskTerminal(TrackedTask* task) {
  LOG(INFO) << "Task " << task->task_id() << " of framework " << task->framework
            << " on agent " << task->agent << " is "
            << mesos::v1::TaskState_Name(task->task.state()) << "; releasing "
            << task->resources;
  allocator_.RecoverResources(task->framework, task->agent, task->resources,
                              std::nullopt, loop_->Now());
  CountTerminal(task->task.state());
}

void Master::CountTerminal(mesos::v1::TaskState state) {
  std::string name = mesos::v1::TaskState_Name(state);  // "TASK_FINISHED"
  metrics_.Increment("master/tasks_" + absl::AsciiStrToLower(name.substr(5)));
}

mesos::v1::TaskStatus Master::MasterStatus(const std::string& task_id,
                                           const std::string& agent_id,
                                           mesos::v1::TaskState state,
                                           mesos::v1::TaskStatus::Reason reason,
                                           const std::string& message) const {
  mesos::v1::TaskStatus status;
  status.mutable_task_id()->set_value(task_id);
  status.set_state(state);
  status.set_source(mesos::v1::TaskStatus::SOURCE_MASTER);
  status.set_reason(reason);
  status.set_message(message);
  if (!agent_id.empty()) status.mutable_agent_id()->set_value(agent_id);
  status.set_timestamp(absl::ToDoubleSeconds(loop_->Now() - absl::UnixEpoch()));
  return status;
}

void Master::SendUpdate(const Framework& framework,
                        mesos::v1::TaskStatus status) {
  SchedulerEvent event;
  event.set_type(SchedulerEvent::UPDATE);
  *event.mutable_update()->mutable_status() = std::move(status);
  framework.Send(std::move(event));
}

// --- Metrics
// ------------------------------------------------------------------

void Master::RegisterGauges() {
  for (const char* name : {"master/tasks_finished",
                           "master/tasks_failed",
                           "master/tasks_killed",
                           "master/tasks_lost",
                           "master/tasks_error",
                           "master/tasks_dropped",
                           "master/tasks_gone",
                           "master/tasks_gone_by_operator",
                           "master/slave_registrations",
                           "master/slave_reregistrations",
                           "master/slave_removals",
                           "master/slave_removals/reason_registered",
                           "master/slave_removals/reason_unhealthy",
                           "master/slave_removals/reason_unregistered",
                           "master/slave_unreachable_scheduled",
                           "master/slave_unreachable_completed",
                           "master/slave_unreachable_canceled",
                           "master/recovery_slave_removals",
                           "master/invalid_status_update_acknowledgements",
                           "master/valid_status_update_acknowledgements",
                           "master/invalid_status_updates",
                           "master/valid_status_updates",
                           "master/messages_kill_task",
                           "master/invalid_framework_to_executor_messages",
                           "master/valid_framework_to_executor_messages"}) {
    metrics_.Increment(name, 0);
  }
  RegisterTaskGauges();
  RegisterClusterGauges();
  metrics_.AddGauge("master/outstanding_offers",
                    [this] { return static_cast<double>(offers_.size()); });
  metrics_.AddGauge("master/elected",
                    [this] { return elected_time_.has_value() ? 1.0 : 0.0; });
  metrics_.AddGauge("master/uptime_secs", [this] {
    return absl::ToDoubleSeconds(loop_->Now() - start_time_);
  });
}

// Non-terminal states are gauges over the active tasks; terminal ones are
// counters (CountTerminal), as in Mesos.
void Master::RegisterTaskGauges() {
  using mesos::v1::TaskState;
  for (TaskState state : {mesos::v1::TASK_STAGING, mesos::v1::TASK_STARTING,
                          mesos::v1::TASK_RUNNING, mesos::v1::TASK_KILLING,
                          mesos::v1::TASK_UNREACHABLE}) {
    std::string name = absl::AsciiStrToLower(TaskState_Name(state).substr(5));
    metrics_.AddGauge("master/tasks_" + name, [this, state] {
      auto counts = tasks_.CountByState();
      auto it = counts.find(state);
      double n = it == counts.end() ? 0.0 : static_cast<double>(it->second);
      // Tasks of agents marked unreachable are kept apart.
      if (state == mesos::v1::TASK_UNREACHABLE) {
        n += static_cast<double>(unreachable_tasks_.CountInState(state));
      }
      return n;
    });
  }
}

void Master::RegisterClusterGauges() {
  auto count_agents = [this](bool (*pred)(const Agent&)) {
    return [this, pred] {
      double n = 0;
      for (const auto& [id, agent] : agents_.all()) n += pred(*agent) ? 1 : 0;
      return n;
    };
  };
  metrics_.AddGauge("master/slaves_active",
                    count_agents([](const Agent& a) { return a.active; }));
  metrics_.AddGauge("master/slaves_inactive",
                    count_agents([](const Agent& a) { return !a.active; }));
  metrics_.AddGauge("master/slaves_connected",
                    count_agents([](const Agent& a) { return a.connected(); }));
  metrics_.AddGauge(
      "master/slaves_disconnected",
      count_agents([](const Agent& a) { return !a.connected(); }));
  metrics_.AddGauge("master/slaves_unreachable", [this] {
    return static_cast<double>(registrar_.unreachable().size());
  });
  auto count_frameworks = [this](bool connected) {
    return [this, connected] {
      double n = 0;
      for (const auto& [id, f] : frameworks_.all()) {
        n += f->connected() == connected ? 1 : 0;
      }
      return n;
    };
  };
  metrics_.AddGauge("master/frameworks_active", count_frameworks(true));
  metrics_.AddGauge("master/frameworks_connected", count_frameworks(true));
  metrics_.AddGauge("master/frameworks_inactive", count_frameworks(false));
  metrics_.AddGauge("master/frameworks_disconnected", count_frameworks(false));
  for (const std::string name : {"cpus", "mem", "disk"}) {
    metrics_.AddGauge("master/" + name + "_total", [this, name] {
      Scalar total;
      for (const auto& [id, agent] : agents_.all()) {
        total += agent->total.GetScalar(name);
      }
      return total.ToDouble();
    });
    metrics_.AddGauge("master/" + name + "_used", [this, name] {
      Scalar used;
      for (const auto& [id, agent] : agents_.all()) {
        used += tasks_.UsedOn(id).GetScalar(name);
      }
      return used.ToDouble();
    });
  }
}

std::map<std::string, double> Master::MetricsSnapshot() const {
  std::map<std::string, double> out = metrics_.Snapshot();
  // allocator/mesos/...: runs, cycle times, shares, filters, quota.
  for (auto& [name, value] : allocator_.Metrics()) out[name] = value;
  return out;
}

}  // namespace agora
