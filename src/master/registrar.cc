#include "master/registrar.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agora {
namespace {

absl::Time FromTimeInfo(const mesos::v1::TimeInfo& time) {
  return absl::FromUnixNanos(time.nanoseconds());
}

mesos::v1::TimeInfo ToTimeInfo(absl::Time time) {
  mesos::v1::TimeInfo out;
  out.set_nanoseconds(absl::ToUnixNanos(time));
  return out;
}

// Removes every entry of `list` whose `id_of(entry)` is `agent_id`.
template <typename List, typename IdOf>
void EraseAgent(List* list, const std::string& agent_id, IdOf id_of) {
  for (int i = list->size() - 1; i >= 0; --i) {
    if (id_of(list->Get(i)) == agent_id) list->DeleteSubrange(i, 1);
  }
}

}  // namespace

Registrar::Registrar(std::unique_ptr<Registry> registry)
    : registry_(std::move(registry)) {}

absl::Status Registrar::Recover() {
  AGORA_ASSIGN_OR_RETURN(state_, registry_->Recover());
  Reindex();
  return absl::OkStatus();
}

absl::Status Registrar::Apply(internal::Registry next) {
  AGORA_RETURN_IF_ERROR(registry_->Store(next));
  state_ = std::move(next);
  Reindex();
  return absl::OkStatus();
}

void Registrar::Reindex() {
  admitted_.clear();
  unreachable_.clear();
  gone_.clear();
  for (int i = 0; i < state_.agents_size(); ++i) {
    admitted_[state_.agents(i).info().id().value()] = i;
  }
  for (const auto& agent : state_.unreachable()) {
    unreachable_[agent.id().value()] = FromTimeInfo(agent.timestamp());
  }
  for (const auto& agent : state_.gone()) {
    gone_[agent.id().value()] = FromTimeInfo(agent.timestamp());
  }
}

absl::Status Registrar::AdmitAgent(const mesos::v1::AgentInfo& info) {
  if (!info.has_id() || info.id().value().empty()) {
    return absl::InvalidArgumentError("registrar: agent info has no id");
  }
  internal::Registry next = state_;
  auto it = admitted_.find(info.id().value());
  if (it != admitted_.end()) {
    *next.mutable_agents(it->second)->mutable_info() = info;
  } else {
    *next.add_agents()->mutable_info() = info;
  }
  return Apply(std::move(next));
}

absl::Status Registrar::MarkUnreachable(const std::string& agent_id,
                                        absl::Time time) {
  if (admitted_.count(agent_id) == 0) {
    return absl::NotFoundError(
        absl::StrCat("registrar: agent ", agent_id, " is not admitted"));
  }
  internal::Registry next = state_;
  EraseAgent(next.mutable_agents(), agent_id,
             [](const auto& a) { return a.info().id().value(); });
  EraseAgent(next.mutable_unreachable(), agent_id,
             [](const auto& a) { return a.id().value(); });
  auto* unreachable = next.add_unreachable();
  unreachable->mutable_id()->set_value(agent_id);
  *unreachable->mutable_timestamp() = ToTimeInfo(time);
  return Apply(std::move(next));
}

absl::Status Registrar::MarkReachable(const mesos::v1::AgentInfo& info) {
  if (!info.has_id() || info.id().value().empty()) {
    return absl::InvalidArgumentError("registrar: agent info has no id");
  }
  internal::Registry next = state_;
  EraseAgent(next.mutable_unreachable(), info.id().value(),
             [](const auto& a) { return a.id().value(); });
  EraseAgent(next.mutable_agents(), info.id().value(),
             [](const auto& a) { return a.info().id().value(); });
  *next.add_agents()->mutable_info() = info;
  return Apply(std::move(next));
}

absl::Status Registrar::MarkGone(const std::string& agent_id, absl::Time time) {
  internal::Registry next = state_;
  EraseAgent(next.mutable_agents(), agent_id,
             [](const auto& a) { return a.info().id().value(); });
  EraseAgent(next.mutable_unreachable(), agent_id,
             [](const auto& a) { return a.id().value(); });
  EraseAgent(next.mutable_gone(), agent_id,
             [](const auto& a) { return a.id().value(); });
  auto* gone = next.add_gone();
  gone->mutable_id()->set_value(agent_id);
  *gone->mutable_timestamp() = ToTimeInfo(time);
  return Apply(std::move(next));
}

const mesos::v1::AgentInfo* Registrar::FindAgent(
    const std::string& agent_id) const {
  auto it = admitted_.find(agent_id);
  return it == admitted_.end() ? nullptr : &state_.agents(it->second).info();
}

std::optional<absl::Time> Registrar::UnreachableSince(
    const std::string& agent_id) const {
  auto it = unreachable_.find(agent_id);
  if (it == unreachable_.end()) return std::nullopt;
  return it->second;
}

std::optional<absl::Time> Registrar::GoneSince(
    const std::string& agent_id) const {
  auto it = gone_.find(agent_id);
  if (it == gone_.end()) return std::nullopt;
  return it->second;
}

}  // namespace agora
