// The call queue: calls go to the master one at a time, in the order they
// were made, as the Mesos HTTP library pipelines them on one connection, so
// an ACCEPT is never overtaken by the SUPPRESS that follows it. Runs on the
// driver loop.
#include <utility>

#include "glog/logging.h"
#include "scheduler_driver/driver_process.h"

namespace agora {

void AgoraSchedulerDriver::Process::Remember(Call* call) {
  auto all_roles = [this] {
    std::set<std::string> roles(framework_.roles().begin(),
                                framework_.roles().end());
    if (roles.empty()) roles.insert(framework_.role());
    return roles;
  };
  auto named = [&](const google::protobuf::RepeatedPtrField<std::string>& r) {
    return r.empty() ? all_roles() : std::set<std::string>(r.begin(), r.end());
  };
  switch (call->type()) {
    case Call::SUPPRESS:
      for (const std::string& role : named(call->suppress().roles())) {
        suppressed_roles_.insert(role);
      }
      break;
    case Call::REVIVE:
      for (const std::string& role : named(call->revive().roles())) {
        suppressed_roles_.erase(role);
      }
      break;
    case Call::UPDATE_FRAMEWORK: {
      mesos::v1::FrameworkInfo* info =
          call->mutable_update_framework()->mutable_framework_info();
      if (framework_.has_id()) *info->mutable_id() = framework_.id();
      framework_ = *info;
      const auto& suppressed = call->update_framework().suppressed_roles();
      suppressed_roles_ =
          std::set<std::string>(suppressed.begin(), suppressed.end());
      break;
    }
    default:
      break;
  }
}

void AgoraSchedulerDriver::Process::SendOnLoop(Call call) {
  if (closing_) return;
  Remember(&call);
  if (phase_ != Phase::kSubscribed) {
    // As Mesos's driver: calls made while disconnected are dropped; the
    // framework learns of the disconnection through disconnected().
    LOG(WARNING) << "dropping " << Call::Type_Name(call.type())
                 << " call: not subscribed to a master";
    return;
  }
  *call.mutable_framework_id() = framework_.id();
  pending_calls_.push_back(std::move(call));
  PumpCalls();
}

void AgoraSchedulerDriver::Process::PumpCalls() {
  if (call_in_flight_) return;
  if (pending_calls_.empty()) {
    MaybeFinishStop();
    return;
  }
  Call call = std::move(pending_calls_.front());
  pending_calls_.pop_front();
  call_in_flight_ = true;
  uint64_t generation = call_generation_;
  Call::Type type = call.type();
  VLOG(1) << "sending " << Call::Type_Name(type) << " to master at "
          << connection_->address();
  call_context_ = connection_->Call(
      call, stream_id_, options_.call_timeout,
      [this, generation, type](grpc::Status status) {
        absl::Status result = scheduler_driver::ToAbslStatus(status);
        loop_.Post([this, generation, type, result] {
          OnCallDone(generation, type, result);
        });
      });
}

void AgoraSchedulerDriver::Process::OnCallDone(uint64_t generation,
                                               Call::Type type,
                                               const absl::Status& status) {
  if (closing_ || generation != call_generation_) return;
  call_in_flight_ = false;
  call_context_.reset();
  if (!status.ok()) {
    LOG(WARNING) << Call::Type_Name(type) << " call to master at "
                 << connection_->address() << " failed: " << status;
  }
  PumpCalls();
}

// Forgets queued calls and abandons the one in flight.
void AgoraSchedulerDriver::Process::DropCalls() {
  ++call_generation_;
  if (!pending_calls_.empty()) {
    LOG(WARNING) << "dropping " << pending_calls_.size()
                 << " unsent call(s): the subscription ended";
  }
  pending_calls_.clear();
  if (call_context_) call_context_->TryCancel();
  call_context_.reset();
  call_in_flight_ = false;
  stream_id_.clear();
}

}  // namespace agora
