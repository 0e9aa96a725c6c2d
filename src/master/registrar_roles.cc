// Registrar: role weights and quotas.
#include <utility>

#include "common/status_macros.h"
#include "master/registrar.h"

namespace agora {

absl::Status Registrar::UpdateWeights(
    const std::map<std::string, double>& weights) {
  std::map<std::string, double> merged = Weights();
  for (const auto& [role, weight] : weights) merged[role] = weight;
  internal::Registry next = state_;
  next.clear_weights();
  for (const auto& [role, weight] : merged) {
    internal::Registry::Weight* w = next.add_weights();
    w->set_role(role);
    w->set_weight(weight);
  }
  AGORA_RETURN_IF_ERROR(registry_->Store(next));
  state_ = std::move(next);
  return absl::OkStatus();
}

absl::Status Registrar::UpdateQuotas(
    const std::map<std::string, Quota>& quotas) {
  std::map<std::string, Quota> merged = Quotas();
  for (const auto& [role, quota] : quotas) {
    if (quota.IsDefault()) {
      merged.erase(role);
    } else {
      merged[role] = quota;
    }
  }
  internal::Registry next = state_;
  next.clear_quota_configs();
  for (const auto& [role, quota] : merged) {
    internal::Registry::QuotaConfig* config = next.add_quota_configs();
    config->set_role(role);
    for (const auto& [name, value] : quota.guarantees) {
      (*config->mutable_guarantees())[name] = value.ToDouble();
    }
    for (const auto& [name, value] : quota.limits) {
      (*config->mutable_limits())[name] = value.ToDouble();
    }
  }
  AGORA_RETURN_IF_ERROR(registry_->Store(next));
  state_ = std::move(next);
  return absl::OkStatus();
}

std::map<std::string, double> Registrar::Weights() const {
  std::map<std::string, double> out;
  for (const auto& w : state_.weights()) out[w.role()] = w.weight();
  return out;
}

std::map<std::string, Quota> Registrar::Quotas() const {
  std::map<std::string, Quota> out;
  for (const auto& config : state_.quota_configs()) {
    Quota& quota = out[config.role()];
    for (const auto& [name, value] : config.guarantees()) {
      quota.guarantees[name] = Scalar::FromDouble(value);
    }
    for (const auto& [name, value] : config.limits()) {
      quota.limits[name] = Scalar::FromDouble(value);
    }
  }
  return out;
}

}  // namespace agora
