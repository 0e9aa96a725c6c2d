// Random sequences of allocator events, checked against a ledger the test
// keeps of every grant not yet recovered: no agent is ever handed out
// beyond its total, every grant is legal for its framework, role and agent,
// no cycle gives a role more unreserved resources than its quota limit
// leaves, and the allocator's own accounting (allocations, quota
// consumption) matches the ledger.
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "allocator/allocator.h"
#include "allocator/allocator_test_util.h"
#include "common/reservations.h"
#include "gtest/gtest.h"

namespace agora {
namespace allocator_test {
namespace {

const char* const kAgentShapes[] = {
    "cpus:4;mem:1024;ports:[1-10]",
    "cpus:2;mem:512;cpus(r1):1;mem(r1):256",
    "cpus(r2/x):2;mem(r2/x):64;disk:10",
    "cpus(r2):1;mem(r2):128;cpus:1;mem:64;ports:[5-6]",
};
const char* const kRoles[] = {"*", "r1", "r2", "r2/x", "r3"};
const char* const kTopRoles[] = {"*", "r1", "r2", "r3"};

std::string TopLevel(const std::string& role) {
  return role.substr(0, role.find('/'));
}

// Scalars by name, Mesos's unreserved non-revocable ones or all reserved.
void AddScalars(const Resources& resources, bool reserved,
                std::map<std::string, Scalar>* out) {
  for (const Resource& r : resources.items()) {
    if (r.kind != Resource::Kind::kScalar) continue;
    if (r.IsUnreserved() == reserved || r.revocable) continue;
    (*out)[r.name] += r.scalar;
  }
}

struct FrameworkModel {
  std::set<std::string> roles;
  std::set<std::string> suppressed;
  bool active = true;
};

class RandomRun {
 public:
  explicit RandomRun(uint64_t seed) : rng_(seed) {
    AllocatorOptions options;
    options.shuffle_seed = seed;
    allocator_ = std::make_unique<Allocator>(options);
  }

  void Step() {
    switch (rng_() % 12) {
      case 0:
        AddAgent();
        break;
      case 1:
        AddFramework();
        break;
      case 2:
        Toggle();
        break;
      case 3:
        SuppressOrRevive();
        break;
      case 4:
        if (rng_() % 4 == 0) RemoveSomething();
        break;
      case 5:
      case 6:
        Recover();
        break;
      case 10:
        if (rng_() % 2 == 0) SetQuota();
        break;
      case 11:
        ReserveInGrant();
        break;
      default:
        Allocate();
        break;
    }
    CheckAccounting();
  }

 private:
  void AddAgent() {
    int n = next_agent_++;
    std::string shape = kAgentShapes[rng_() % 4];
    allocator_->AddAgent(Ag(n), R(shape), {});
    agents_[Ag(n)] = {R(shape), true};
  }

  void AddFramework() {
    int n = next_framework_++;
    FrameworkModel model;
    for (const char* role : kRoles) {
      if (rng_() % 3 == 0) model.roles.insert(role);
    }
    allocator_->AddFramework(Fw(n), model.roles, {}, true);
    frameworks_[Fw(n)] = model;
  }

  void Toggle() {
    if (!frameworks_.empty() && rng_() % 2 == 0) {
      auto it = Pick(frameworks_);
      it->second.active = !it->second.active;
      if (it->second.active) {
        allocator_->ActivateFramework(it->first);
      } else {
        allocator_->DeactivateFramework(it->first);
      }
    } else if (!agents_.empty()) {
      auto it = Pick(agents_);
      it->second.second = !it->second.second;
      if (it->second.second) {
        allocator_->ActivateAgent(it->first);
      } else {
        allocator_->DeactivateAgent(it->first);
      }
    }
  }

  void SuppressOrRevive() {
    if (frameworks_.empty()) return;
    auto it = Pick(frameworks_);
    std::set<std::string> roles;
    if (rng_() % 2 == 0 && !it->second.roles.empty()) {
      roles.insert(*std::next(it->second.roles.begin(),
                              rng_() % it->second.roles.size()));
    }
    const std::set<std::string>& affected =
        roles.empty() ? it->second.roles : roles;
    if (rng_() % 2 == 0) {
      allocator_->SuppressOffers(it->first, roles);
      it->second.suppressed.insert(affected.begin(), affected.end());
    } else {
      allocator_->ReviveOffers(it->first, roles);
      for (const std::string& r : affected) it->second.suppressed.erase(r);
    }
  }

  void RemoveSomething() {
    if (!frameworks_.empty() && rng_() % 2 == 0) {
      FrameworkId id = Pick(frameworks_)->first;
      allocator_->RemoveFramework(id);
      frameworks_.erase(id);
      EraseLedger([&id](const Allocation& a) { return a.framework == id; });
    } else if (!agents_.empty()) {
      AgentId id = Pick(agents_)->first;
      allocator_->RemoveAgent(id);
      agents_.erase(id);
      EraseLedger([&id](const Allocation& a) { return a.agent == id; });
    }
  }

  void SetQuota() {
    std::string role = kTopRoles[rng_() % 4];
    Quota quota;
    if (rng_() % 4 != 0) {
      for (const char* name : {"cpus", "mem"}) {
        int64_t limit = name[0] == 'c' ? rng_() % 8 : rng_() % 2048;
        if (rng_() % 3 != 0) quota.limits[name] = Scalar::FromDouble(limit);
        int64_t guarantee = limit == 0 ? 0 : rng_() % (limit + 1);
        if (rng_() % 2 == 0) {
          quota.guarantees[name] = Scalar::FromDouble(guarantee);
        }
      }
    }
    ASSERT_TRUE(allocator_->UpdateQuota(role, quota).ok());
    if (quota.IsDefault()) {
      quotas_.erase(role);
    } else {
      quotas_[role] = quota;
    }
  }

  // RESERVE inside an outstanding grant: up to one cpu of its unreserved
  // cpus becomes reserved to the grant's role.
  void ReserveInGrant() {
    if (ledger_.empty()) return;
    Allocation& grant = ledger_[rng_() % ledger_.size()];
    if (grant.role == "*") return;
    Scalar cpus;
    for (const Resource& r : grant.resources.items()) {
      if (r.name == "cpus" && r.IsUnreserved()) cpus += r.scalar;
    }
    if (cpus.IsZero()) return;
    Resource r;
    r.name = "cpus";
    r.scalar = std::min(cpus, Scalar::FromDouble(1));
    Resources plain = Resources{r};
    Resources reserved = PushReservation(
        plain, Reservation{Reservation::Type::kDynamic, grant.role, "p"});
    absl::StatusOr<ResourceConversion> conversion =
        ReserveConversion(reserved.AllocatedTo(grant.role));
    ASSERT_TRUE(conversion.ok()) << conversion.status();
    ASSERT_TRUE(allocator_
                    ->UpdateAllocation(grant.framework, grant.agent,
                                       plain.AllocatedTo(grant.role),
                                       {*conversion})
                    .ok());
    grant.resources -= plain.AllocatedTo(grant.role);
    grant.resources += reserved.AllocatedTo(grant.role);
    Resources& total = agents_.at(grant.agent).first;
    total -= plain;
    total += reserved;
  }

  // Gives back a whole grant or its first resource, sometimes declining.
  void Recover() {
    if (ledger_.empty()) return;
    size_t i = rng_() % ledger_.size();
    Allocation& grant = ledger_[i];
    Resources part = grant.resources;
    if (rng_() % 2 == 0) part = Resources{grant.resources.items().front()};
    std::optional<absl::Duration> refuse;
    if (rng_() % 3 == 0) refuse = absl::Milliseconds(500 + rng_() % 3000);
    allocator_->RecoverResources(grant.framework, grant.agent, part, refuse,
                                 now_);
    grant.resources -= part;
    if (grant.resources.empty()) ledger_.erase(ledger_.begin() + i);
  }

  void Allocate() {
    now_ += absl::Milliseconds(rng_() % 2000);
    std::map<std::string, std::map<std::string, Scalar>> before;
    for (const auto& [role, quota] : quotas_) {
      before[role] = allocator_->QuotaConsumed(role);
    }
    std::map<std::string, std::map<std::string, Scalar>> granted;
    for (Allocation& a : allocator_->Allocate(now_)) {
      CheckLegal(a);
      if (quotas_.count(a.role) > 0) {
        AddScalars(a.resources, /*reserved=*/false, &granted[a.role]);
      }
      ledger_.push_back(std::move(a));
    }
    // A role's own grants stay within what its limit left at the start.
    for (const auto& [role, amounts] : granted) {
      for (const auto& [name, limit] : quotas_.at(role).limits) {
        Scalar left = limit - before[role][name];
        if (left < Scalar()) left = Scalar();
        EXPECT_LE(amounts.count(name) ? amounts.at(name) : Scalar(), left)
            << role << " " << name;
      }
    }
    for (const auto& [id, agent] : agents_) {
      Resources held;
      for (const Allocation& a : ledger_) {
        if (a.agent == id) held += a.resources.AllocatedTo("");
      }
      ASSERT_TRUE(agent.first.Contains(held))
          << id << " handed out " << held << " of " << agent.first;
    }
  }

  void CheckLegal(const Allocation& a) {
    ASSERT_FALSE(a.resources.empty());
    const FrameworkModel& f = frameworks_.at(a.framework);
    EXPECT_TRUE(f.active) << a.framework;
    EXPECT_EQ(f.roles.count(a.role), 1u) << a.framework << " " << a.role;
    EXPECT_EQ(f.suppressed.count(a.role), 0u) << a.framework << " " << a.role;
    EXPECT_TRUE(agents_.at(a.agent).second) << a.agent;
    Resources plain = a.resources.AllocatedTo("");
    EXPECT_EQ(a.resources, plain.AllocatedTo(a.role));
    EXPECT_EQ(plain.AllocatableTo(a.role), plain) << a.role;
  }

  void CheckAccounting() {
    Resources expected;
    for (const Allocation& a : ledger_) expected += a.resources;
    ASSERT_EQ(allocator_->AllocatedResources(), expected);
    // Quota consumption: reservations in the agents' totals plus offered
    // unreserved non-revocable scalars, per top-level role.
    std::map<std::string, std::map<std::string, Scalar>> consumed;
    for (const auto& [id, agent] : agents_) {
      for (const Resource& r : agent.first.items()) {
        if (r.IsUnreserved()) continue;
        AddScalars(Resources{r}, /*reserved=*/true,
                   &consumed[TopLevel(r.ReservationRole())]);
      }
    }
    for (const Allocation& a : ledger_) {
      AddScalars(a.resources, /*reserved=*/false, &consumed[TopLevel(a.role)]);
    }
    for (const char* role : kTopRoles) {
      std::map<std::string, Scalar> want;
      for (const auto& [name, value] : consumed[role]) {
        if (!value.IsZero()) want[name] = value;
      }
      ASSERT_EQ(allocator_->QuotaConsumed(role), want) << role;
    }
  }

  template <typename Pred>
  void EraseLedger(Pred pred) {
    std::vector<Allocation> kept;
    for (Allocation& a : ledger_) {
      if (!pred(a)) kept.push_back(std::move(a));
    }
    ledger_ = std::move(kept);
  }

  template <typename Map>
  typename Map::iterator Pick(Map& map) {
    return std::next(map.begin(), rng_() % map.size());
  }

  std::mt19937_64 rng_;
  std::unique_ptr<Allocator> allocator_;
  std::map<AgentId, std::pair<Resources, bool>> agents_;  // total, active
  std::map<FrameworkId, FrameworkModel> frameworks_;
  std::vector<Allocation> ledger_;
  std::map<std::string, Quota> quotas_;
  absl::Time now_ = absl::FromUnixSeconds(1000);
  int next_agent_ = 1;
  int next_framework_ = 1;
};

TEST(AllocatorRandomTest, LedgerMatchesUnderRandomEvents) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    RandomRun run(seed);
    for (int step = 0; step < 400; ++step) {
      run.Step();
      if (testing::Test::HasFatalFailure()) return;
    }
  }
}

}  // namespace
}  // namespace allocator_test
}  // namespace agora
