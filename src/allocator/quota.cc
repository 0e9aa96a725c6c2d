// Quota (Mesos 1.11's guarantees and limits on top-level roles), allocator
// recovery after a master failover, and the allocator's metrics.
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "allocator/allocator_impl.h"
#include "glog/logging.h"

namespace agora {

absl::Status Allocator::ValidateQuota(const std::string& role,
                                      const Quota& quota) {
  if (absl::Status valid = ValidateRole(role); !valid.ok()) return valid;
  if (role.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "quota on nested role '", role, "': only top-level roles have quota"));
  }
  for (const auto& [name, value] : quota.guarantees) {
    if (value < Scalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat("negative guarantee for '", name, "'"));
    }
    auto limit = quota.limits.find(name);
    if (limit != quota.limits.end() && limit->second < value) {
      return absl::InvalidArgumentError(
          absl::StrCat("the guarantee for '", name, "' exceeds its limit"));
    }
  }
  for (const auto& [name, value] : quota.limits) {
    if (value < Scalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat("negative limit for '", name, "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status Allocator::Impl::UpdateQuota(const std::string& role,
                                          const Quota& quota) {
  if (absl::Status valid = Allocator::ValidateQuota(role, quota); !valid.ok()) {
    return valid;
  }
  TopRole* top = GetTop(role);
  top->quota = quota;
  top->guarantees = names_.Of(quota.guarantees);
  top->limits.clear();
  for (const auto& [name, value] : quota.limits) {
    size_t i = names_.Index(name);
    if (top->limits.size() <= i) top->limits.resize(i + 1, kUnlimited);
    top->limits[i] = value.millis();
  }
  top->has_limits = !quota.limits.empty();
  if (quota.IsDefault()) {
    quota_roles_.erase(role);
    MaybeEraseTop(top);
  } else {
    quota_roles_.insert(role);
  }
  VLOG(1) << "allocator: updated quota of role '" << role << "' ("
          << quota.guarantees.size() << " guarantees, " << quota.limits.size()
          << " limits)";
  return absl::OkStatus();
}

std::map<std::string, Quota> Allocator::Impl::Quotas() const {
  std::map<std::string, Quota> out;
  for (const std::string& role : quota_roles_) {
    out[role] = FindTop(role)->quota;
  }
  return out;
}

std::map<std::string, Scalar> Allocator::Impl::QuotaConsumed(
    const std::string& role) const {
  std::map<std::string, Scalar> out;
  const TopRole* top = FindTop(role);
  if (top == nullptr) return out;
  Quantities consumed = top->Consumed();
  for (size_t i = 0; i < consumed.size(); ++i) {
    if (consumed[i] > 0) out[names_.Name(i)] = Scalar::FromMillis(consumed[i]);
  }
  return out;
}

void Allocator::Impl::Recover(int expected_agents,
                              const std::map<std::string, Quota>& quotas) {
  if (quotas.empty()) return;  // Nothing to protect: no pause.
  for (const auto& [role, quota] : quotas) {
    if (absl::Status s = UpdateQuota(role, quota); !s.ok()) {
      LOG(WARNING) << "allocator: recovered quota of '" << role
                   << "' ignored: " << s.message();
    }
  }
  size_t expected = static_cast<size_t>(std::max(0, expected_agents) *
                                        options_.agent_recovery_factor);
  if (expected == 0) return;
  expected_agents_ = expected;
  paused_ = true;
  LOG(INFO) << "allocator: paused until " << expected
            << " agents are added or recovery times out";
}

// --- Metrics ----------------------------------------------------------------

void Allocator::Impl::RecordRunTime(absl::Time now, double ms) {
  run_ms_.emplace_back(now, ms);
  // libprocess keeps timer samples for a one-hour window, at most 1000.
  while (!run_ms_.empty() && (run_ms_.front().first < now - absl::Hours(1) ||
                              run_ms_.size() > 1000)) {
    run_ms_.pop_front();
  }
}

namespace {

// libprocess's percentile: linear interpolation between closest ranks.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  double position = p * static_cast<double>(sorted.size() - 1);
  size_t lower = static_cast<size_t>(std::floor(position));
  size_t upper = static_cast<size_t>(std::ceil(position));
  double fraction = position - static_cast<double>(lower);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction;
}

double Value(const Quantities& q, size_t i) {
  return static_cast<double>(At(q, i)) / 1000.0;
}

}  // namespace

std::map<std::string, double> Allocator::Impl::Metrics() const {
  const std::string prefix = "allocator/mesos/";
  std::map<std::string, double> out;
  out[prefix + "allocation_runs"] = static_cast<double>(allocation_runs_);
  if (!run_ms_.empty()) {
    const std::string timer = prefix + "allocation_run_ms";
    std::vector<double> values;
    for (const auto& [time, ms] : run_ms_) values.push_back(ms);
    out[timer] = values.back();
    std::sort(values.begin(), values.end());
    out[timer + "/count"] = static_cast<double>(values.size());
    out[timer + "/min"] = values.front();
    out[timer + "/max"] = values.back();
    out[timer + "/p50"] = Percentile(values, 0.5);
    out[timer + "/p90"] = Percentile(values, 0.9);
    out[timer + "/p95"] = Percentile(values, 0.95);
    out[timer + "/p99"] = Percentile(values, 0.99);
    out[timer + "/p999"] = Percentile(values, 0.999);
    out[timer + "/p9999"] = Percentile(values, 0.9999);
  }

  // Mesos publishes these three only. Offered or allocated: everything not
  // available on an agent, including use by frameworks not yet added.
  Quantities free_all;
  for (const auto& [id, agent] : agents_) {
    for (const Resource& r : agent->available.items()) {
      if (r.kind != Resource::Kind::kScalar) continue;
      size_t i = names_.Index(r.name);
      if (free_all.size() <= i) free_all.resize(i + 1, 0);
      free_all[i] += r.scalar.millis();
    }
  }
  for (const char* name : {"cpus", "mem", "disk"}) {
    size_t i = names_.Index(name);
    std::string base = absl::StrCat(prefix, "resources/", name, "/");
    out[base + "total"] = Value(total_quantities_, i);
    out[base + "offered_or_allocated"] =
        Value(total_quantities_, i) - Value(free_all, i);
  }

  std::set<std::string> known;  // Roles in Mesos's role tree.
  for (const auto& [name, role] : roles_) {
    out[absl::StrCat(prefix, "roles/", name, "/shares/dominant")] =
        role_sorter_.Share(name);
    for (std::string r = name;;) {
      known.insert(r);
      size_t slash = r.rfind('/');
      if (slash == std::string::npos) break;
      r = r.substr(0, slash);
    }
  }
  for (const auto& [name, top] : tops_) known.insert(name);
  for (const auto& [name, weight] : weights_) known.insert(name);
  std::map<std::string, size_t> filters = filters_.CountByRole();
  for (const std::string& role : known) {
    auto it = filters.find(role);
    out[absl::StrCat(prefix, "offer_filters/roles/", role, "/active")] =
        it == filters.end() ? 0.0 : static_cast<double>(it->second);
  }

  for (const std::string& role : quota_roles_) {
    const TopRole* top = FindTop(role);
    std::string base =
        absl::StrCat(prefix, "quota/roles/", role, "/resources/");
    std::set<std::string> names;
    for (const auto& [name, value] : top->quota.guarantees) {
      out[base + name + "/guarantee"] = value.ToDouble();
      names.insert(name);
    }
    for (const auto& [name, value] : top->quota.limits) {
      out[base + name + "/limit"] = value.ToDouble();
      names.insert(name);
    }
    // The role sorter's allocation to the role itself (0 when the role has
    // no frameworks), as Mesos reports it.
    bool client = roles_.count(role) > 0;
    for (const std::string& name : names) {
      size_t i = names_.Index(name);
      out[base + name + "/offered_or_allocated"] =
          client ? Value(role_sorter_.Allocation(role), i) : 0.0;
    }
  }
  return out;
}

}  // namespace agora
