#include "master/framework_registry.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/resources.h"
#include "glog/logging.h"

namespace agora {

bool Framework::Send(SchedulerEvent event) const {
  return stream != nullptr && stream->Send(std::move(event));
}

absl::StatusOr<std::set<std::string>> FrameworkRoles(
    const mesos::v1::FrameworkInfo& info) {
  std::set<std::string> roles;
  if (info.roles_size() > 0) {
    roles.insert(info.roles().begin(), info.roles().end());
  } else {
    roles.insert(info.role());  // "*" unless set.
  }
  for (const std::string& role : roles) {
    if (absl::Status valid = ValidateRole(role); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "framework info: invalid role '", role, "': ", valid.message()));
    }
  }
  return roles;
}

bool HasCapability(const mesos::v1::FrameworkInfo& info,
                   mesos::v1::FrameworkInfo::Capability::Type type) {
  for (const auto& capability : info.capabilities()) {
    if (capability.type() == type) return true;
  }
  return false;
}

absl::Status ValidateFrameworkInfo(const mesos::v1::FrameworkInfo& info) {
  absl::StatusOr<std::set<std::string>> roles = FrameworkRoles(info);
  if (!roles.ok()) return roles.status();
  // Mesos rejects what its Duration cannot hold (about 292 years).
  constexpr double kMaxSeconds = 9.2e9;
  double timeout = info.failover_timeout();
  if (!std::isfinite(timeout) || std::fabs(timeout) > kMaxSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        "framework info: 'failover_timeout' (", timeout, ") is invalid"));
  }
  for (const auto& [role, filters] : info.offer_filters()) {
    if (roles->count(role) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("framework info: 'offer_filters' names role '", role,
                       "', which is not one of the framework's roles"));
    }
    for (const auto& set : filters.min_allocatable_resources().quantities()) {
      for (const auto& [name, scalar] : set.quantities()) {
        if (!std::isfinite(scalar.value()) || scalar.value() < 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "framework info: 'offer_filters' of role '", role,
              "': quantity of '", name, "' must be a non-negative number"));
        }
      }
    }
  }
  return absl::OkStatus();
}

std::map<std::string, std::vector<Resources>> MinAllocatableOf(
    const mesos::v1::FrameworkInfo& info) {
  std::map<std::string, std::vector<Resources>> out;
  for (const auto& [role, filters] : info.offer_filters()) {
    if (!filters.has_min_allocatable_resources()) continue;
    std::vector<Resources>& sets = out[role];
    for (const auto& set : filters.min_allocatable_resources().quantities()) {
      Resources quantities;
      for (const auto& [name, scalar] : set.quantities()) {
        Resource r;
        r.name = name;
        r.scalar = Scalar::FromDouble(scalar.value());
        quantities += r;
      }
      sets.push_back(std::move(quantities));
    }
  }
  return out;
}

FrameworkRegistry::FrameworkRegistry(std::string master_id,
                                     size_t max_completed)
    : master_id_(std::move(master_id)), max_completed_(max_completed) {}

FrameworkId FrameworkRegistry::NextId() {
  while (true) {
    FrameworkId id(FormatFrameworkId(master_id_, next_id_++));
    if (frameworks_.count(id) == 0 && completed_ids_.count(id) == 0) {
      return id;
    }
  }
}

Framework* FrameworkRegistry::Add(const FrameworkId& id,
                                  mesos::v1::FrameworkInfo info,
                                  std::set<std::string> roles) {
  CHECK(frameworks_.count(id) == 0) << "framework " << id << " added twice";
  auto framework = std::make_unique<Framework>();
  framework->id = id;
  info.mutable_id()->set_value(id.value());
  framework->partition_aware = HasCapability(
      info, mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE);
  framework->info = std::move(info);
  framework->roles = std::move(roles);
  Framework* raw = framework.get();
  frameworks_.emplace(id, std::move(framework));
  return raw;
}

Framework* FrameworkRegistry::Find(const FrameworkId& id) const {
  auto it = frameworks_.find(id);
  return it == frameworks_.end() ? nullptr : it->second.get();
}

Framework* FrameworkRegistry::FindByStream(const std::string& stream_id) const {
  if (stream_id.empty()) return nullptr;
  for (const auto& [id, framework] : frameworks_) {
    if (framework->connected() && framework->stream_id == stream_id) {
      return framework.get();
    }
  }
  return nullptr;
}

void FrameworkRegistry::Complete(const FrameworkId& id,
                                 std::vector<mesos::v1::Task> tasks,
                                 absl::Time now) {
  auto it = frameworks_.find(id);
  if (it == frameworks_.end()) return;
  CompletedFramework done;
  done.info = it->second->info;
  done.registered_time = it->second->registered_time;
  done.unregistered_time = now;
  done.tasks = std::move(tasks);
  frameworks_.erase(it);
  completed_ids_.insert(id);
  completed_.push_back(std::move(done));
  while (completed_.size() > max_completed_) completed_.pop_front();
}

bool FrameworkRegistry::IsCompleted(const FrameworkId& id) const {
  return completed_ids_.count(id) > 0;
}

}  // namespace agora
