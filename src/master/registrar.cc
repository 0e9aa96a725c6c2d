#include "master/registrar.h"

#include <utility>

#include "common/status_macros.h"

namespace agora {

Registrar::Registrar(std::unique_ptr<Registry> registry)
    : registry_(std::move(registry)) {}

absl::Status Registrar::Recover() {
  AGORA_ASSIGN_OR_RETURN(state_, registry_->Recover());
  return absl::OkStatus();
}

absl::Status Registrar::AdmitAgent(const mesos::v1::AgentInfo& info) {
  if (!info.has_id() || info.id().value().empty()) {
    return absl::InvalidArgumentError("registrar: agent info has no id");
  }
  internal::Registry next = state_;
  bool replaced = false;
  for (auto& agent : *next.mutable_agents()) {
    if (agent.info().id().value() == info.id().value()) {
      *agent.mutable_info() = info;
      replaced = true;
    }
  }
  if (!replaced) *next.add_agents()->mutable_info() = info;
  AGORA_RETURN_IF_ERROR(registry_->Store(next));
  state_ = std::move(next);
  return absl::OkStatus();
}

const mesos::v1::AgentInfo* Registrar::FindAgent(
    const std::string& agent_id) const {
  for (const auto& agent : state_.agents()) {
    if (agent.info().id().value() == agent_id) return &agent.info();
  }
  return nullptr;
}

}  // namespace agora
