#include "master/registrar_batch.h"

#include <initializer_list>
#include <utility>

namespace agora {
namespace {

template <typename T>
void MergeMap(std::map<std::string, std::optional<T>>* into,
              std::map<std::string, std::optional<T>> later) {
  for (auto& [id, value] : later) (*into)[id] = std::move(value);
}

// `id` in `overlay`: nullopt when the overlay does not touch it, else the
// record (null when removed).
template <typename T>
std::optional<const T*> Lookup(
    const std::map<std::string, std::optional<T>>& overlay,
    const std::string& id) {
  auto it = overlay.find(id);
  if (it == overlay.end()) return std::nullopt;
  return it->second.has_value() ? &*it->second : nullptr;
}

template <typename T>
std::optional<T> TimeLookup(
    const Registrar::Overlay& staged, const Registrar::Overlay& batch,
    const std::map<std::string, T>& committed,
    std::map<std::string, std::optional<T>> Registrar::Overlay::*list,
    const std::string& id) {
  for (const Registrar::Overlay* overlay :
       std::initializer_list<const Registrar::Overlay*>{&staged, &batch}) {
    if (std::optional<const T*> found = Lookup(overlay->*list, id)) {
      if (*found == nullptr) return std::nullopt;
      return **found;
    }
  }
  auto it = committed.find(id);
  if (it == committed.end()) return std::nullopt;
  return it->second;
}

mesos::v1::TimeInfo ToTimeInfo(absl::Time time) {
  mesos::v1::TimeInfo out;
  out.set_nanoseconds(absl::ToUnixNanos(time));
  return out;
}

// The change for agent record `id` of `kind` at `time` (nullopt removes).
template <typename Record>
RegistryChange TimeChange(RecordKind kind, const std::string& id,
                          const std::optional<absl::Time>& time) {
  RegistryChange change{kind, id, std::nullopt};
  if (time.has_value()) {
    Record record;
    record.mutable_id()->set_value(id);
    *record.mutable_timestamp() = ToTimeInfo(*time);
    change.record = record.SerializeAsString();
  }
  return change;
}

std::vector<RegistryChange> ToChanges(const Registrar::Overlay& overlay) {
  std::vector<RegistryChange> out;
  for (const auto& [id, info] : overlay.agents) {
    RegistryChange change{RecordKind::kAgent, id, std::nullopt};
    if (info.has_value()) {
      internal::Registry::Agent record;
      *record.mutable_info() = *info;
      change.record = record.SerializeAsString();
    }
    out.push_back(std::move(change));
  }
  for (const auto& [id, time] : overlay.unreachable) {
    out.push_back(TimeChange<internal::Registry::UnreachableAgent>(
        RecordKind::kUnreachable, id, time));
  }
  for (const auto& [id, time] : overlay.gone) {
    out.push_back(
        TimeChange<internal::Registry::GoneAgent>(RecordKind::kGone, id, time));
  }
  if (overlay.roles.has_value()) {
    out.push_back({RecordKind::kRoles, "", overlay.roles->SerializeAsString()});
  }
  return out;
}

}  // namespace

void Registrar::Overlay::MergeFrom(Overlay later) {
  MergeMap(&agents, std::move(later.agents));
  MergeMap(&unreachable, std::move(later.unreachable));
  MergeMap(&gone, std::move(later.gone));
  if (later.roles.has_value()) roles = std::move(later.roles);
}

const mesos::v1::AgentInfo* Registrar::Batch::FindAgent(
    const std::string& id) const {
  for (const Overlay* overlay :
       std::initializer_list<const Overlay*>{&staged_, overlay_.get()}) {
    if (std::optional<const mesos::v1::AgentInfo*> found =
            Lookup(overlay->agents, id)) {
      return *found;
    }
  }
  return registrar_.FindAgent(id);
}

std::optional<absl::Time> Registrar::Batch::UnreachableSince(
    const std::string& id) const {
  return TimeLookup(staged_, *overlay_, registrar_.unreachable_,
                    &Overlay::unreachable, id);
}

std::optional<absl::Time> Registrar::Batch::GoneSince(
    const std::string& id) const {
  return TimeLookup(staged_, *overlay_, registrar_.gone_, &Overlay::gone, id);
}

internal::Registry::Roles Registrar::Batch::Roles() const {
  if (staged_.roles.has_value()) return *staged_.roles;
  if (overlay_->roles.has_value()) return *overlay_->roles;
  return registrar_.roles_;
}

size_t Registrar::Batch::StagedBytes(const Registry& registry) const {
  size_t bytes = 0;
  for (const RegistryChange& change : Changes(staged_)) {
    bytes += registry.ChangeBytes(change);
  }
  return bytes;
}

void Registrar::Batch::MergeStaged() {
  overlay_->MergeFrom(std::move(staged_));
  staged_ = Overlay();
}

std::vector<RegistryChange> Registrar::Batch::Changes(
    const Overlay& overlay) const {
  std::vector<RegistryChange> out;
  for (RegistryChange& change : ToChanges(overlay)) {
    if (!change.record.has_value()) {
      const bool held = (change.kind == RecordKind::kAgent &&
                         registrar_.agents_.count(change.agent_id) > 0) ||
                        (change.kind == RecordKind::kUnreachable &&
                         registrar_.unreachable_.count(change.agent_id) > 0) ||
                        (change.kind == RecordKind::kGone &&
                         registrar_.gone_.count(change.agent_id) > 0);
      if (!held) continue;
    }
    out.push_back(std::move(change));
  }
  return out;
}

}  // namespace agora
