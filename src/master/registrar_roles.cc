// Registrar: role weights and quotas, kept in one `roles` record.
#include <utility>

#include "absl/strings/str_cat.h"
#include "master/registrar.h"
#include "master/registrar_batch.h"

namespace agora {
namespace {

using Roles = internal::Registry::Roles;

void SetWeights(const std::map<std::string, double>& weights, Roles* roles) {
  roles->clear_weights();
  for (const auto& [role, weight] : weights) {
    internal::Registry::Weight* w = roles->add_weights();
    w->set_role(role);
    w->set_weight(weight);
  }
}

std::map<std::string, double> WeightsOf(const Roles& roles) {
  std::map<std::string, double> out;
  for (const auto& w : roles.weights()) out[w.role()] = w.weight();
  return out;
}

void SetQuotas(const std::map<std::string, Quota>& quotas, Roles* roles) {
  roles->clear_quota_configs();
  for (const auto& [role, quota] : quotas) {
    internal::Registry::QuotaConfig* config = roles->add_quota_configs();
    config->set_role(role);
    for (const auto& [name, value] : quota.guarantees) {
      (*config->mutable_guarantees())[name] = value.ToDouble();
    }
    for (const auto& [name, value] : quota.limits) {
      (*config->mutable_limits())[name] = value.ToDouble();
    }
  }
}

std::map<std::string, Quota> QuotasOf(const Roles& roles) {
  std::map<std::string, Quota> out;
  for (const auto& config : roles.quota_configs()) {
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

}  // namespace

void Registrar::UpdateWeights(const std::map<std::string, double>& weights,
                              Done done) {
  Enqueue({absl::StrCat("update the weights of ", weights.size(), " roles"), "",
           [weights](Batch* batch) {
             Roles roles = batch->Roles();
             std::map<std::string, double> merged = WeightsOf(roles);
             for (const auto& [role, weight] : weights) merged[role] = weight;
             SetWeights(merged, &roles);
             batch->PutRoles(std::move(roles));
             return absl::OkStatus();
           },
           std::move(done)});
}

void Registrar::UpdateQuotas(const std::map<std::string, Quota>& quotas,
                             Done done) {
  Enqueue({absl::StrCat("update the quotas of ", quotas.size(), " roles"), "",
           [quotas](Batch* batch) {
             Roles roles = batch->Roles();
             std::map<std::string, Quota> merged = QuotasOf(roles);
             for (const auto& [role, quota] : quotas) {
               if (quota.IsDefault()) {
                 merged.erase(role);
               } else {
                 merged[role] = quota;
               }
             }
             SetQuotas(merged, &roles);
             batch->PutRoles(std::move(roles));
             return absl::OkStatus();
           },
           std::move(done)});
}

std::map<std::string, double> Registrar::Weights() const {
  return WeightsOf(roles_);
}

std::map<std::string, Quota> Registrar::Quotas() const {
  return QuotasOf(roles_);
}

}  // namespace agora
