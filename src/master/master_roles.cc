// Master: role weights and quotas (operator UPDATE_WEIGHTS / GET_WEIGHTS,
// UPDATE_QUOTA / GET_QUOTA), persisted in the registry and recovered on
// start.
#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "master/master.h"

namespace agora {
namespace {

std::string QuantitiesString(const std::map<std::string, Scalar>& q) {
  return absl::StrJoin(q, "; ", [](std::string* out, const auto& entry) {
    absl::StrAppend(out, entry.first, ":", entry.second.ToString());
  });
}

// Unreserved non-revocable scalars of `resources`, by name (what an
// outstanding offer adds to a role's quota consumption).
std::map<std::string, Scalar> UnreservedQuantities(const Resources& resources) {
  std::map<std::string, Scalar> out;
  for (const Resource& r : resources.items()) {
    if (r.kind == Resource::Kind::kScalar && r.IsUnreserved() && !r.revocable) {
      out[r.name] += r.scalar;
    }
  }
  return out;
}

// Scalar quantities by name.
std::map<std::string, Scalar> Quantities(const Resources& resources) {
  std::map<std::string, Scalar> out;
  for (const Resource& r : resources.items()) {
    if (r.kind == Resource::Kind::kScalar) out[r.name] += r.scalar;
  }
  return out;
}

// True when every limit holds `amounts` (names without a limit are
// unlimited).
bool WithinLimits(const std::map<std::string, Scalar>& limits,
                  const std::map<std::string, Scalar>& amounts) {
  for (const auto& [name, limit] : limits) {
    auto it = amounts.find(name);
    if (it != amounts.end() && it->second > limit) return false;
  }
  return true;
}

// True when `amounts` holds every quantity of `needed`.
bool Covers(const std::map<std::string, Scalar>& amounts,
            const std::map<std::string, Scalar>& needed) {
  for (const auto& [name, value] : needed) {
    auto it = amounts.find(name);
    if (value > Scalar() && (it == amounts.end() || it->second < value)) {
      return false;
    }
  }
  return true;
}

void Subtract(std::map<std::string, Scalar>* from,
              const std::map<std::string, Scalar>& what) {
  for (const auto& [name, value] : what) (*from)[name] -= value;
}

void Add(std::map<std::string, Scalar>* to,
         const std::map<std::string, Scalar>& what) {
  for (const auto& [name, value] : what) (*to)[name] += value;
}

}  // namespace

absl::Status Master::RecoverRoles() {
  std::map<std::string, double> weights = registrar_.Weights();
  if (!weights.empty()) {
    if (!options_.weights.empty()) {
      LOG(WARNING) << "Ignoring --weights: the registry holds weights, which "
                   << "are changed with UPDATE_WEIGHTS";
    }
  } else if (!options_.weights.empty()) {
    // First start with --weights: they go to the registry (Mesos does so on
    // cluster bootstrap) and, as in Mesos, take effect without waiting for
    // the write; the write is posted since the loop may not run yet.
    weights = options_.weights;
    loop_->Post([this] {
      registrar_.UpdateWeights(options_.weights, [](absl::Status status) {
        if (!status.ok()) {
          LOG(ERROR) << "Failed to store --weights in the registry (they "
                        "apply until the master restarts): "
                     << status;
        }
      });
    });
  }
  allocator_.UpdateWeights(weights);
  std::map<std::string, Quota> quotas = registrar_.Quotas();
  if (!quotas.empty()) {
    for (const auto& [role, quota] : quotas) {
      if (absl::Status s = Allocator::ValidateQuota(role, quota); !s.ok()) {
        return absl::DataLossError(
            absl::StrCat("registry holds an invalid quota for role '", role,
                         "': ", s.message()));
      }
    }
    allocator_.Recover(static_cast<int>(registrar_.agents().size()), quotas);
    LOG(INFO) << "Recovered " << weights.size() << " weights and "
              << quotas.size() << " quotas; offers "
              << (allocator_.paused() ? "wait for agents to reregister"
                                      : "start at once");
  }
  return absl::OkStatus();
}

void Master::UpdateWeights(const std::map<std::string, double>& weights,
                           std::function<void(absl::Status)> done) {
  for (const auto& [role, weight] : weights) {
    if (absl::Status s = ValidateRole(role); !s.ok()) {
      return done(absl::InvalidArgumentError(
          absl::StrCat("weights: invalid role '", role, "': ", s.message())));
    }
    if (!std::isfinite(weight) || weight <= 0) {
      return done(absl::InvalidArgumentError(
          absl::StrCat("weights: weight of role '", role,
                       "' must be positive, not ", weight)));
    }
  }
  registrar_.UpdateWeights(
      weights, [this, weights, done = std::move(done)](absl::Status status) {
        if (!status.ok()) return done(status);
        allocator_.UpdateWeights(weights);
        LOG(INFO) << "Updated the weights of " << weights.size() << " roles";
        done(absl::OkStatus());
      });
}

std::map<std::string, double> Master::Weights() const {
  return allocator_.Weights();
}

std::map<std::string, Quota> Master::Quotas() const {
  return allocator_.Quotas();
}

void Master::UpdateQuota(
    const std::vector<std::pair<std::string, Quota>>& configs, bool force,
    std::function<void(absl::Status)> done) {
  absl::Status valid = ValidateQuotaUpdate(configs, force);
  if (!valid.ok()) return done(valid);
  std::map<std::string, Quota> update(configs.begin(), configs.end());
  registrar_.UpdateQuotas(
      update, [this, configs, done = std::move(done)](absl::Status status) {
        if (!status.ok()) return done(status);
        for (const auto& [role, quota] : configs) {
          absl::Status s = allocator_.UpdateQuota(role, quota);
          CHECK(s.ok()) << "validated quota refused: " << s;
        }
        LOG(INFO) << "Updated the quotas of " << configs.size() << " roles";
        for (const auto& [role, quota] : configs) RescindForQuota(role, quota);
        done(absl::OkStatus());
      });
}

absl::Status Master::ValidateQuotaUpdate(
    const std::vector<std::pair<std::string, Quota>>& configs,
    bool force) const {
  std::set<std::string> seen;
  for (const auto& [role, quota] : configs) {
    if (!seen.insert(role).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Invalid QuotaConfig: role '", role, "' appears more than once"));
    }
    if (role.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Updating quota on nested role '", role, "' is not supported yet"));
    }
    if (absl::Status s = Allocator::ValidateQuota(role, quota); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Invalid QuotaConfig: ", s.message()));
    }
  }
  // A new limit below what the role consumes (without its outstanding
  // offers, which are rescinded instead) needs `force`.
  for (const auto& [role, quota] : configs) {
    std::map<std::string, Scalar> consumed = allocator_.QuotaConsumed(role);
    for (const auto& [id, offer] : offers_.all()) {
      if (IsRoleOrDescendant(offer.role, role)) {
        Subtract(&consumed, UnreservedQuantities(offer.resources));
      }
    }
    if (!WithinLimits(quota.limits, consumed)) {
      if (!force) {
        return absl::InvalidArgumentError(
            absl::StrCat("Invalid QuotaConfig: Role '", role,
                         "' is already consuming '", QuantitiesString(consumed),
                         "'; this is more than the requested limits '",
                         QuantitiesString(quota.limits),
                         "' (use 'force' flag to bypass this check)"));
      }
      LOG(INFO) << "Lowering the quota limit of role '" << role
                << "' below its consumption, as forced";
    }
  }
  // The guarantees of all roles must fit in the cluster's capacity.
  std::map<std::string, Quota> next = allocator_.Quotas();
  for (const auto& [role, quota] : configs) next[role] = quota;
  std::map<std::string, Scalar> guarantees;
  for (const auto& [role, quota] : next) Add(&guarantees, quota.guarantees);
  std::map<std::string, Scalar> capacity;
  for (const auto& [id, agent] : agents_.all()) {
    Add(&capacity, Quantities(agent->total.NonRevocable()));
  }
  if (!Covers(capacity, guarantees)) {
    if (!force) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Invalid QuotaConfig: total quota guarantees '",
          QuantitiesString(guarantees), "' exceed cluster capacity '",
          QuantitiesString(capacity),
          "' (use 'force' flag to bypass this check)"));
    }
    LOG(INFO) << "Using force flag to override quota overcommit check";
  }
  return absl::OkStatus();
}

void Master::RescindForQuota(const std::string& role, const Quota& quota) {
  // Mesos's best effort: first rescind offers of the role's subtree until
  // its consumption plus offers is within the limits, then offers of other
  // roles until what was rescinded plus that amount covers the guarantees.
  // (QuotaConsumed counts the offers' unreserved resources already.)
  std::map<std::string, Scalar> consumed_and_offered =
      allocator_.QuotaConsumed(role);
  std::vector<std::string> ids;
  for (const auto& [id, offer] : offers_.all()) ids.push_back(id);
  for (const std::string& id : ids) {
    if (WithinLimits(quota.limits, consumed_and_offered)) break;
    const OutstandingOffer* offer = offers_.Find(id);
    if (offer == nullptr || !IsRoleOrDescendant(offer->role, role)) continue;
    Subtract(&consumed_and_offered, UnreservedQuantities(offer->resources));
    VLOG(1) << "Rescinding offer " << id << " to respect the quota of role '"
            << role << "'";
    RescindOffer(id, /*notify=*/true);
  }
  std::map<std::string, Scalar> rescinded;
  for (const std::string& id : ids) {
    std::map<std::string, Scalar> sum = rescinded;
    Add(&sum, consumed_and_offered);
    if (Covers(sum, quota.guarantees)) break;
    const OutstandingOffer* offer = offers_.Find(id);
    if (offer == nullptr || IsRoleOrDescendant(offer->role, role)) continue;
    Add(&rescinded, Quantities(offer->resources));
    VLOG(1) << "Rescinding offer " << id << " to meet the guarantee of role '"
            << role << "'";
    RescindOffer(id, /*notify=*/true);
  }
}

}  // namespace agora
