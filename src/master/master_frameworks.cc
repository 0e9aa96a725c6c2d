// Master: framework subscription, disconnection, heartbeats and teardown.
#include <algorithm>
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
  out.min_allocatable_resources = MinAllocatableOf(info);
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
  return ValidateFrameworkInfo(info);
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
  if (framework != nullptr && !framework->recovered &&
      (info.principal() != framework->info.principal() ||
       info.has_principal() != framework->info.has_principal())) {
    const std::string message =
        "framework info: changing the framework's principal is not allowed";
    LOG(WARNING) << "Refusing resubscription of framework " << framework->id
                 << ": " << message;
    SchedulerEvent error;
    error.set_type(SchedulerEvent::ERROR);
    error.mutable_error()->set_message(message);
    stream->Send(std::move(error));
    stream->Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message));
    return;
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
  for (const std::string& role : suppressed) {
    if (roles.count(role) > 0) framework->suppressed_roles.insert(role);
  }
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
  loop_->Cancel(framework->failover_timer);
  framework->failover_timer = 0;
  // Offers made to the old subscription are void (Mesos drops them without
  // RESCIND: the new subscription never saw them).
  for (const std::string& offer : offers_.OffersOf(framework->id)) {
    RescindOffer(offer, /*notify=*/false);
  }
  // Mesos keeps user and checkpoint of a framework this master saw
  // subscribe (MESOS-703); a recovered framework takes them, as what the
  // agent reported may be partial. Everything else is updated, roles
  // included.
  FrameworkInfo updated = info;
  if (!framework->recovered) {
    updated.set_user(framework->info.user());
    updated.set_checkpoint(framework->info.checkpoint());
  } else {
    framework->info.set_user(info.user());
    framework->info.set_checkpoint(info.checkpoint());
    framework->info.set_principal(info.principal());
    if (!info.has_principal()) framework->info.clear_principal();
  }
  absl::Status status = UpdateFramework(framework, updated, suppressed);
  if (!status.ok()) {
    // Only a principal change gets here; Subscribe checked it already.
    LOG(WARNING) << "Framework " << framework->id
                 << " resubscribed with an invalid update: " << status;
  }
  framework->recovered = false;
  framework->reregistered_time = loop_->Now();
}

absl::Status Master::UpdateFramework(Framework* framework, FrameworkInfo info,
                                     const std::set<std::string>& suppressed) {
  const FrameworkInfo& old = framework->info;
  if (info.principal() != old.principal() ||
      info.has_principal() != old.has_principal()) {
    return absl::InvalidArgumentError(
        "framework info: changing the framework's principal is not allowed");
  }
  if (info.user() != old.user()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "framework info: updating 'user' is unsupported; attempted to update "
        "from '",
        old.user(), "' to '", info.user(), "'"));
  }
  if (info.checkpoint() != old.checkpoint()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "framework info: updating 'checkpoint' is unsupported; attempted to "
        "update from '",
        old.checkpoint() ? "true" : "false", "' to '",
        info.checkpoint() ? "true" : "false", "'"));
  }
  std::set<std::string> roles = *FrameworkRoles(info);
  allocator_.UpdateFramework(
      framework->id, AllocatorFrameworkOptions(info, roles, suppressed));
  // Offers in roles the framework left are no longer valid.
  for (const std::string& id : offers_.OffersOf(framework->id)) {
    if (roles.count(offers_.Find(id)->role) == 0) {
      RescindOffer(id, /*notify=*/true);
    }
  }
  if (roles != framework->roles) {
    LOG(INFO) << "Framework " << framework->id << " now has roles "
              << absl::StrJoin(roles, ",");
  }
  info.mutable_id()->set_value(framework->id.value());
  framework->partition_aware = HasCapability(
      info, mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE);
  framework->suppressed_roles.clear();
  for (const std::string& role : suppressed) {
    if (roles.count(role) > 0) framework->suppressed_roles.insert(role);
  }
  framework->roles = std::move(roles);
  framework->info = std::move(info);
  return absl::OkStatus();
}

void Master::ConnectFramework(Framework* framework,
                              std::shared_ptr<SchedulerStream> stream,
                              const std::string& stream_id) {
  framework->stream = std::move(stream);
  framework->stream_id = stream_id;
  ++framework->epoch;
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
  absl::Duration failover =
      absl::Seconds(std::max(0.0, framework->info.failover_timeout()));
  LOG(INFO) << "Framework " << framework->id << " (" << framework->info.name()
            << ") disconnected (stream " << framework->stream_id
            << " ended); giving it " << absl::FormatDuration(failover)
            << " to fail over";
  loop_->Cancel(framework->heartbeat_timer);
  framework->heartbeat_timer = 0;
  framework->stream->Close(grpc::Status::CANCELLED);
  framework->stream = nullptr;
  framework->stream_id.clear();
  framework->unregistered_time = loop_->Now();
  allocator_.DeactivateFramework(framework->id);
  // RESCIND goes out on a closed stream, i.e. nowhere; the point is that
  // the offers are void and their resources go back without a filter.
  for (const std::string& offer : offers_.OffersOf(framework->id)) {
    RescindOffer(offer, /*notify=*/true);
  }
  FrameworkId id = framework->id;
  uint64_t epoch = framework->epoch;
  loop_->Cancel(framework->failover_timer);
  framework->failover_timer = loop_->PostAfter(
      failover, [this, id, epoch] { OnFailoverTimeout(id, epoch); });
}

void Master::OnFailoverTimeout(const FrameworkId& id, uint64_t epoch) {
  Framework* framework = frameworks_.Find(id);
  if (framework == nullptr || framework->connected() ||
      framework->epoch != epoch || shut_down_) {
    return;
  }
  framework->failover_timer = 0;
  LOG(INFO) << "Framework " << id << " did not resubscribe within its "
            << "failover timeout of " << framework->info.failover_timeout()
            << " secs; removing it";
  RemoveFramework(framework, "framework failover timeout");
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
  LOG(INFO) << "Tearing down framework " << framework->id << " ("
            << framework->info.name() << ")";
  RemoveFramework(framework, "framework torn down");
  return absl::OkStatus();
}

void Master::RemoveFramework(Framework* framework, const std::string& why) {
  const FrameworkId id = framework->id;
  LOG(INFO) << "Removing framework " << id << " (" << framework->info.name()
            << "): " << why;
  for (const std::string& offer : offers_.OffersOf(id)) {
    RescindOffer(offer, /*notify=*/false);
  }
  for (TrackedTask* task : tasks_.TasksOf(id)) {
    if (task->terminal()) continue;
    mesos::v1::TaskStatus status = MasterStatus(
        task->task_id(), task->agent.value(), mesos::v1::TASK_KILLED,
        mesos::v1::TaskStatus::REASON_FRAMEWORK_REMOVED,
        absl::StrCat("Framework ", id.value(), " removed: ", why));
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
  loop_->Cancel(framework->failover_timer);
  if (framework->connected()) framework->stream->Close(grpc::Status::OK);
  // Its tasks on unreachable agents are forgotten; if such an agent comes
  // back, it is told to shut the framework down.
  unreachable_tasks_.RemoveFramework(id);
  frameworks_.Complete(id, tasks_.RemoveFramework(id), loop_->Now());
}

}  // namespace agora
