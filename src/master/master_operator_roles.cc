// Master: the operator calls on roles and reservations, converted between
// mesos.v1.master messages and the master's UpdateWeights / UpdateQuota /
// ReserveResources / UnreserveResources (master_roles.cc,
// master_operations.cc).
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "master/master.h"

namespace agora {
namespace {

using OperatorCall = mesos::v1::master::Call;
using OperatorResponse = mesos::v1::master::Response;
using ScalarMap = google::protobuf::Map<std::string, mesos::v1::Value::Scalar>;

absl::Status ToQuantities(const std::string& role, const char* field,
                          const ScalarMap& in,
                          std::map<std::string, Scalar>* out) {
  for (const auto& [name, value] : in) {
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Invalid QuotaConfig: role '", role, "' has an empty resource name"));
    }
    if (!std::isfinite(value.value()) || value.value() < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Invalid QuotaConfig: ", field, " of '", name, "' for role '", role,
          "' must be a non-negative number"));
    }
    (*out)[name] = Scalar::FromDouble(value.value());
  }
  return absl::OkStatus();
}

void FromQuantities(const std::map<std::string, Scalar>& in, ScalarMap* out) {
  for (const auto& [name, value] : in) {
    (*out)[name].set_value(value.ToDouble());
  }
}

absl::StatusOr<std::map<std::string, double>> WeightsOfCall(
    const OperatorCall& call) {
  if (!call.has_update_weights()) {
    return absl::InvalidArgumentError(
        "update_weights: 'update_weights' is missing");
  }
  std::map<std::string, double> weights;
  for (const mesos::v1::WeightInfo& info :
       call.update_weights().weight_infos()) {
    if (!info.has_role()) {
      return absl::InvalidArgumentError(
          "update_weights: a weight info has no role");
    }
    if (!weights.emplace(info.role(), info.weight()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_weights: role '", info.role(), "' appears twice"));
    }
  }
  return weights;
}

absl::StatusOr<std::vector<std::pair<std::string, Quota>>> QuotaConfigsOfCall(
    const OperatorCall& call) {
  if (!call.has_update_quota()) {
    return absl::InvalidArgumentError(
        "update_quota: 'update_quota' is missing");
  }
  std::vector<std::pair<std::string, Quota>> configs;
  for (const mesos::v1::quota::QuotaConfig& config :
       call.update_quota().quota_configs()) {
    Quota quota;
    absl::Status status = ToQuantities(config.role(), "guarantee",
                                       config.guarantees(), &quota.guarantees);
    if (status.ok()) {
      status =
          ToQuantities(config.role(), "limit", config.limits(), &quota.limits);
    }
    if (!status.ok()) return status;
    configs.emplace_back(config.role(), std::move(quota));
  }
  return configs;
}

// The OperatorDone for a call answered with an empty Response.
std::function<void(absl::Status)> EmptyAnswer(Master::OperatorDone done) {
  return [done = std::move(done)](absl::Status status) {
    if (!status.ok()) return done(status);
    done(OperatorResponse());
  };
}

}  // namespace

void Master::HandleRoleOperatorCall(const OperatorCall& call,
                                    OperatorDone done) {
  switch (call.type()) {
    case OperatorCall::UPDATE_WEIGHTS: {
      absl::StatusOr<std::map<std::string, double>> weights =
          WeightsOfCall(call);
      if (!weights.ok()) return done(weights.status());
      return UpdateWeights(*weights, EmptyAnswer(std::move(done)));
    }
    case OperatorCall::UPDATE_QUOTA: {
      absl::StatusOr<std::vector<std::pair<std::string, Quota>>> configs =
          QuotaConfigsOfCall(call);
      if (!configs.ok()) return done(configs.status());
      return UpdateQuota(*configs, call.update_quota().force(),
                         EmptyAnswer(std::move(done)));
    }
    case OperatorCall::RESERVE_RESOURCES:
    case OperatorCall::UNRESERVE_RESOURCES:
      return done(HandleReservationCall(call));
    default:
      return done(HandleRoleReadCall(call));
  }
}

absl::StatusOr<OperatorResponse> Master::HandleRoleReadCall(
    const OperatorCall& call) {
  OperatorResponse response;
  switch (call.type()) {
    case OperatorCall::GET_WEIGHTS: {
      response.set_type(OperatorResponse::GET_WEIGHTS);
      for (const auto& [role, weight] : Weights()) {
        mesos::v1::WeightInfo* info =
            response.mutable_get_weights()->add_weight_infos();
        info->set_role(role);
        info->set_weight(weight);
      }
      return response;
    }
    case OperatorCall::GET_QUOTA: {
      response.set_type(OperatorResponse::GET_QUOTA);
      mesos::v1::quota::QuotaStatus* status =
          response.mutable_get_quota()->mutable_status();
      for (const auto& [role, quota] : Quotas()) {
        mesos::v1::quota::QuotaConfig* config = status->add_configs();
        config->set_role(role);
        FromQuantities(quota.guarantees, config->mutable_guarantees());
        FromQuantities(quota.limits, config->mutable_limits());
        if (!quota.guarantees.empty()) {
          mesos::v1::quota::QuotaInfo* info = status->add_infos();
          info->set_role(role);
          for (const auto& [name, value] : quota.guarantees) {
            mesos::v1::Resource* r = info->add_guarantee();
            r->set_name(name);
            r->set_type(mesos::v1::Value::SCALAR);
            r->mutable_scalar()->set_value(value.ToDouble());
          }
        }
      }
      return response;
    }
    default:
      return absl::InternalError("not a role read call");
  }
}

absl::StatusOr<OperatorResponse> Master::HandleReservationCall(
    const OperatorCall& call) {
  OperatorResponse response;
  switch (call.type()) {
    case OperatorCall::RESERVE_RESOURCES: {
      if (!call.has_reserve_resources() ||
          call.reserve_resources().agent_id().value().empty()) {
        return absl::InvalidArgumentError(
            "reserve_resources: 'reserve_resources.agent_id' is missing");
      }
      if (!call.reserve_resources().source().empty()) {
        return absl::UnimplementedError(
            "reserve_resources: 'source' (re-reservation) is not supported "
            "by this master");
      }
      absl::Status status =
          ReserveResources(AgentId(call.reserve_resources().agent_id().value()),
                           call.reserve_resources().resources());
      if (!status.ok()) return status;
      return response;
    }
    case OperatorCall::UNRESERVE_RESOURCES: {
      if (!call.has_unreserve_resources() ||
          call.unreserve_resources().agent_id().value().empty()) {
        return absl::InvalidArgumentError(
            "unreserve_resources: 'unreserve_resources.agent_id' is missing");
      }
      absl::Status status = UnreserveResources(
          AgentId(call.unreserve_resources().agent_id().value()),
          call.unreserve_resources().resources());
      if (!status.ok()) return status;
      return response;
    }
    default:
      return absl::InternalError("not a reservation call");
  }
}

}  // namespace agora
