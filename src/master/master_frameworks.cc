// Master: framework subscription, disconnection, heartbeats and teardown.
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "master/grpc_status.h"
#include "master/master.h"

namespace agora {

using mesos::v1::FrameworkInfo;

namespace {

// What the allocator needs from a FrameworkInfo: roles, capabilities and
// the per-role minimum offer sizes (offer_filters).
FrameworkOptions AllocatorFrameworkOptions(
    const FrameworkInfo& info, const std::set<std::string>& roles,
    const std::set<std::string>& suppressed) {
  using Capability = FrameworkInfo::Capability;
  FrameworkOptions out;
  out.roles = roles;
  out.suppressed_roles = suppressed;
  out.capabilities.multi_role = HasCapability(info, Capability::MULTI_ROLE);
  out.capabilities.revocable_resources =
      HasCapability(info, Capability::REVOCABLE_RESOURCES);
  out.capabilities.gpu_resources =
      HasCapability(info, Capability::GPU_RESOURCES);
  out.capabilities.reservation_refinement =
      HasCapability(info, Capability::RESERVATION_REFINEMENT);
  for (const auto& [role, filters] : info.offer_filters()) {
    if (!filters.has_min_allocatable_resources()) continue;
    std::vector<Resources>& sets = out.min_allocatable_resources[role];
    for (const auto& quantities :
         filters.min_allocatable_resources().quantities()) {
      Resources set;
      for (const auto& [name, scalar] : quantities.quantities()) {
        Resource r;
        r.name = name;
        r.scalar = Scalar::FromDouble(scalar.value());
        set += r;
      }
      sets.push_back(std::move(set));
    }
  }
  return out;
}

}  // namespace

absl::Status Master::ValidateSubscribe(const SchedulerCall& call) const {
  if (shut_down_) return absl::UnavailableError("master is shutting down");
  if (call.type() != SchedulerCall::SUBSCRIBE) {
    return absl::InvalidArgumentError(
        "subscribe: the Subscribe rpc takes only SUBSCRIBE calls");
  }
  if (!call.has_subscribe() || !call.subscribe().has_framework_info()) {
    return absl::InvalidArgumentError(
        "subscribe: 'subscribe.framework_info' is missing");
  }
  const FrameworkInfo& info = call.subscribe().framework_info();
  if (call.has_framework_id() &&
      call.framework_id().value() != info.id().value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "subscribe: 'framework_id' (", call.framework_id().value(),
        ") differs from 'framework_info.id' (", info.id().value(), ")"));
  }
  if (info.has_id() && info.id().value().empty()) {
    return absl::InvalidArgumentError(
        "subscribe: 'framework_info.id' is empty");
  }
  return FrameworkRoles(info).status();
}

void Master::Subscribe(const SchedulerCall& call,
                       std::shared_ptr<SchedulerStream> stream,
                       const std::string& stream_id) {
  DCHECK(loop_->IsLoopThread());
  if (absl::Status valid = ValidateSubscribe(call); !valid.ok()) {
    LOG(WARNING) << "Refusing subscription on stream " << stream_id << ": "
                 << valid;
    stream->Close(ToGrpcStatus(valid));
    return;
  }
  const FrameworkInfo& info = call.subscribe().framework_info();
  std::set<std::string> suppressed(call.subscribe().suppressed_roles().begin(),
                                   call.subscribe().suppressed_roles().end());
  Framework* framework = nullptr;
  if (info.has_id()) {
    FrameworkId id(info.id().value());
    if (frameworks_.IsCompleted(id)) {
      std::string message = absl::StrCat("framework ", id.value(),
                                         " has been removed (torn down)");
      SchedulerEvent error;
      error.set_type(SchedulerEvent::ERROR);
      error.mutable_error()->set_message(message);
      stream->Send(std::move(error));
      stream->Close(
          grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message));
      return;
    }
    framework = frameworks_.Find(id);
  }
  if (framework != nullptr) {
    Resubscribe(framework, info, suppressed);
  } else {
    framework = AddNewFramework(info, *FrameworkRoles(info), suppressed);
  }
  ConnectFramework(framework, std::move(stream), stream_id);
  RequestAllocation();
}

Framework* Master::AddNewFramework(FrameworkInfo info,
                                   std::set<std::string> roles,
                                   const std::set<std::string>& suppressed) {
  FrameworkId id =
      info.has_id() ? FrameworkId(info.id().value()) : frameworks_.NextId();
  Framework* framework = frameworks_.Add(id, std::move(info), roles);
  framework->registered_time = loop_->Now();
  allocator_.AddFramework(
      id, AllocatorFrameworkOptions(framework->info, roles, suppressed), {},
      /*active=*/false);
  LOG(INFO) << "Added framework " << id << " (" << framework->info.name()
            << ") with roles " << absl::StrJoin(roles, ",");
  return framework;
}

void Master::Resubscribe(Framework* framework, const FrameworkInfo& info,
                         const std::set<std::string>& suppressed) {
  if (framework->connected()) {
    LOG(INFO) << "Framework " << framework->id << " failed over from stream "
              << framework->stream_id;
    SchedulerEvent error;
    error.set_type(SchedulerEvent::ERROR);
    error.mutable_error()->set_message("Framework failed over");
    framework->Send(std::move(error));
    framework->stream->Close(grpc::Status(
        grpc::StatusCode::ABORTED, "framework failed over to a new stream"));
    framework->stream = nullptr;
    loop_->Cancel(framework->heartbeat_timer);
  }
  // Offers made to the old subscription are void (Mesos rescinds them).
  for (const std::string& offer : offers_.OffersOf(framework->id)) {
    RescindOffer(offer, /*notify=*/false);
  }
  // Mesos ignores changes of user and checkpoint (a recovered framework
  // takes them: what the agent reported may be partial); role changes need
  // UPDATE_FRAMEWORK, which this master does not implement yet.
  FrameworkInfo updated = info;
  if (!framework->recovered) {
    updated.set_user(framework->info.user());
    updated.set_checkpoint(framework->info.checkpoint());
  }
  updated.clear_roles();
  *updated.mutable_roles() = framework->info.roles();
  updated.set_role(framework->info.role());
  if (*FrameworkRoles(info) != framework->roles) {
    LOG(WARNING) << "Framework " << framework->id
                 << " resubscribed with other roles; keeping "
                 << absl::StrJoin(framework->roles, ",");
  }
  updated.mutable_id()->set_value(framework->id.value());
  framework->info = std::move(updated);
  framework->recovered = false;
  framework->reregistered_time = loop_->Now();
  std::set<std::string> unsuppressed;
  for (const std::string& role : framework->roles) {
    if (suppressed.count(role) == 0) unsuppressed.insert(role);
  }
  if (!unsuppressed.empty())
    allocator_.ReviveOffers(framework->id, unsuppressed);
  if (!suppressed.empty()) allocator_.SuppressOffers(framework->id, suppressed);
}

void Master::ConnectFramework(Framework* framework,
                              std::shared_ptr<SchedulerStream> stream,
                              const std::string& stream_id) {
  framework->stream = std::move(stream);
  framework->stream_id = stream_id;
  allocator_.ActivateFramework(framework->id);

  SchedulerEvent event;
  event.set_type(SchedulerEvent::SUBSCRIBED);
  auto* subscribed = event.mutable_subscribed();
  subscribed->mutable_framework_id()->set_value(framework->id.value());
  subscribed->set_heartbeat_interval_seconds(
      absl::ToDoubleSeconds(options_.heartbeat_interval));
  *subscribed->mutable_master_info() = info_;
  framework->Send(std::move(event));

  FrameworkId id = framework->id;
  framework->heartbeat_timer =
      loop_->PostAfter(options_.heartbeat_interval,
                       [this, id, stream_id] { SendHeartbeat(id, stream_id); });
  LOG(INFO) << "Framework " << id << " (" << framework->info.name()
            << ") subscribed on stream " << stream_id;
}

void Master::SendHeartbeat(const FrameworkId& id,
                           const std::string& stream_id) {
  Framework* framework = frameworks_.Find(id);
  if (framework == nullptr || !framework->connected() ||
      framework->stream_id != stream_id || shut_down_) {
    return;
  }
  SchedulerEvent event;
  event.set_type(SchedulerEvent::HEARTBEAT);
  framework->Send(std::move(event));
  framework->heartbeat_timer =
      loop_->PostAfter(options_.heartbeat_interval,
                       [this, id, stream_id] { SendHeartbeat(id, stream_id); });
}

void Master::OnSubscriptionClosed(const std::string& stream_id) {
  DCHECK(loop_->IsLoopThread());
  Framework* framework = frameworks_.FindByStream(stream_id);
  if (framework != nullptr) DisconnectFramework(framework);
}

void Master::DisconnectFramework(Framework* framework) {
  LOG(INFO) << "Framework " << framework->id << " (" << framework->info.name()
            << ") disconnected (stream " << framework->stream_id
            << " ended); keeping its tasks";
  loop_->Cancel(framework->heartbeat_timer);
  framework->heartbeat_timer = 0;
  framework->stream->Close(grpc::Status::CANCELLED);
  framework->stream = nullptr;
  framework->stream_id.clear();
  framework->unregistered_time = loop_->Now();
  allocator_.DeactivateFramework(framework->id);
  for (const std::string& offer : offers_.OffersOf(framework->id)) {
    RescindOffer(offer, /*notify=*/false);
  }
}

Framework* Master::EnsureRecoveredFramework(const FrameworkInfo& info) {
  FrameworkId id(info.id().value());
  if (id.empty() || frameworks_.IsCompleted(id)) return nullptr;
  if (Framework* known = frameworks_.Find(id)) return known;
  absl::StatusOr<std::set<std::string>> roles = FrameworkRoles(info);
  if (!roles.ok()) roles = std::set<std::string>{"*"};
  Framework* framework = frameworks_.Add(id, info, *roles);
  framework->recovered = true;
  framework->registered_time = loop_->Now();
  allocator_.AddFramework(id, AllocatorFrameworkOptions(info, *roles, {}), {},
                          /*active=*/false);
  LOG(INFO) << "Recovered framework " << id << " (" << info.name()
            << ") from an agent's report";
  return framework;
}

absl::Status Master::Teardown(Framework* framework) {
  const FrameworkId id = framework->id;
  LOG(INFO) << "Tearing down framework " << id << " (" << framework->info.name()
            << ")";
  for (const std::string& offer : offers_.OffersOf(id)) {
    RescindOffer(offer, /*notify=*/false);
  }
  for (TrackedTask* task : tasks_.TasksOf(id)) {
    if (task->terminal()) continue;
    mesos::v1::TaskStatus status = MasterStatus(
        task->task_id(), task->agent.value(), mesos::v1::TASK_KILLED,
        mesos::v1::TaskStatus::REASON_FRAMEWORK_REMOVED, "framework removed");
    task->task.set_state(mesos::v1::TASK_KILLED);
    TaskTracker::AddStatus(task, std::move(status));
    CountTerminal(mesos::v1::TASK_KILLED);
  }
  internal::MasterMessage shutdown;
  shutdown.mutable_shutdown_framework()->mutable_framework_id()->set_value(
      id.value());
  for (const auto& [agent_id, agent] : agents_.all()) agent->Send(shutdown);
  allocator_.RemoveFramework(id);
  loop_->Cancel(framework->heartbeat_timer);
  if (framework->connected()) framework->stream->Close(grpc::Status::OK);
  frameworks_.Complete(id, tasks_.RemoveFramework(id), loop_->Now());
  return absl::OkStatus();
}

}  // namespace agora
