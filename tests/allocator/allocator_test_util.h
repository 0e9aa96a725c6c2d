// Helpers for the allocator tests: a fixture that drives an Allocator the
// way Mesos's allocator tests do (a cycle after each added agent or
// framework, a manual clock) and a matcher for one exact grant.
#ifndef AGORA_TESTS_ALLOCATOR_ALLOCATOR_TEST_UTIL_H_
#define AGORA_TESTS_ALLOCATOR_ALLOCATOR_TEST_UTIL_H_

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "allocator/allocator.h"
#include "common/resources.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agora {

inline void PrintTo(const Allocation& a, std::ostream* os) {
  *os << a.framework << " gets " << a.agent << " in '" << a.role
      << "': " << a.resources;
}

namespace allocator_test {

inline Resources R(absl::string_view text) {
  absl::StatusOr<Resources> r = Resources::Parse(text);
  CHECK(r.ok()) << r.status();
  return *r;
}

// Scalar quantities by name, from Mesos's text form ("cpus:2;mem:1024").
inline std::map<std::string, Scalar> QuotaMap(absl::string_view text) {
  // Not Resources::Parse: a zero quantity ("cpus:0") must stay.
  std::map<std::string, Scalar> out;
  for (absl::string_view entry :
       absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    std::vector<std::string> parts = absl::StrSplit(entry, ':');
    double value = 0;
    CHECK(parts.size() == 2 && absl::SimpleAtod(parts[1], &value)) << entry;
    out[parts[0]] += Scalar::FromDouble(value);
  }
  return out;
}

// Mesos's createQuota(guarantees, limits); one argument sets both.
inline Quota MakeQuota(absl::string_view guarantees, absl::string_view limits) {
  Quota quota;
  quota.guarantees = QuotaMap(guarantees);
  quota.limits = QuotaMap(limits);
  return quota;
}
inline Quota MakeQuota(absl::string_view both) { return MakeQuota(both, both); }

inline FrameworkId Fw(int n) {
  return FrameworkId(absl::StrCat("framework", n));
}
inline AgentId Ag(int n) { return AgentId(absl::StrCat("agent", n)); }

// One grant: `framework` gets exactly `resources` (Mesos text form, without
// allocation role) of `agent` for `role`, each resource carrying `role` as
// its allocation role.
MATCHER_P4(Grant, framework, agent, role, resources,
           absl::StrCat(framework, " gets ", agent, " in '", role,
                        "': ", resources)) {
  return arg.framework == FrameworkId(framework) &&
         arg.agent == AgentId(agent) && arg.role == role &&
         arg.resources == R(resources).AllocatedTo(role);
}

class AllocatorTest : public ::testing::Test {
 protected:
  AllocatorTest() { Initialize(); }

  // Mesos's test defaults: interval 1 s, min allocatable cpus:0.01|mem:32.
  // The agent order is fixed (sorted by id) so grants are exact.
  void Initialize(AllocatorOptions options = AllocatorOptions()) {
    options.shuffle_agents = false;
    options_ = options;
    allocator_ = std::make_unique<Allocator>(options);
  }

  // Adds an agent and runs the cycle an added agent triggers (that agent).
  std::vector<Allocation> AddAgent(
      int n, absl::string_view resources,
      const std::map<FrameworkId, Resources>& used = {}) {
    allocator_->AddAgent(Ag(n), R(resources), used);
    return allocator_->Allocate(now_, std::set<AgentId>{Ag(n)});
  }

  // Adds an active framework and runs the cycle that triggers (all agents).
  std::vector<Allocation> AddFramework(
      int n, const std::set<std::string>& roles,
      const std::map<AgentId, Resources>& used = {}) {
    allocator_->AddFramework(Fw(n), roles, used, /*active=*/true);
    return Allocate();
  }

  std::vector<Allocation> AddFramework(
      int n, const FrameworkOptions& options,
      const std::map<AgentId, Resources>& used = {}) {
    allocator_->AddFramework(Fw(n), options, used, /*active=*/true);
    return Allocate();
  }

  void SetQuota(const std::string& role, const Quota& quota) {
    absl::Status status = allocator_->UpdateQuota(role, quota);
    CHECK(status.ok()) << status;
  }

  double Metric(const std::string& name) {
    std::map<std::string, double> metrics = allocator_->Metrics();
    auto it = metrics.find(name);
    return it == metrics.end() ? -1.0 : it->second;
  }
  bool HasMetric(const std::string& name) {
    return allocator_->Metrics().count(name) > 0;
  }

  std::vector<Allocation> Allocate() { return allocator_->Allocate(now_); }

  // Advances the clock by one allocation interval and runs a batch cycle.
  std::vector<Allocation> NextBatch() {
    now_ += options_.allocation_interval;
    return Allocate();
  }

  void Recover(const Allocation& a,
               std::optional<absl::Duration> refuse = std::nullopt) {
    allocator_->RecoverResources(a.framework, a.agent, a.resources, refuse,
                                 now_);
  }

  AllocatorOptions options_;
  std::unique_ptr<Allocator> allocator_;
  absl::Time now_ = absl::FromUnixSeconds(1000);
};

}  // namespace allocator_test
}  // namespace agora

#endif  // AGORA_TESTS_ALLOCATOR_ALLOCATOR_TEST_UTIL_H_
