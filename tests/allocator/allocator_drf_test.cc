// DRF order of the allocator: Mesos's hierarchical allocator scenarios with
// the shares written out. Shares are max over cpus and mem of
// allocated / cluster total, divided by the role's weight.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "allocator/allocator.h"
#include "allocator/allocator_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agora {
namespace allocator_test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr double kEps = 1e-9;

std::map<std::string, int> CountByFramework(
    const std::vector<Allocation>& allocations) {
  std::map<std::string, int> out;
  for (const Allocation& a : allocations) ++out[a.framework.value()];
  return out;
}

using AllocatorDrfTest = AllocatorTest;

// Mesos's UnreservedDRF: each new agent goes whole to the framework with
// the lowest share inside the role with the lowest share.
TEST_F(AllocatorDrfTest, UnreservedDrf) {
  // Step 1. Total cpus 2, mem 1024.
  EXPECT_THAT(AddAgent(1, "cpus:2;mem:1024"), IsEmpty());
  EXPECT_THAT(
      AddFramework(1, {"role1"}),
      ElementsAre(Grant("framework1", "agent1", "role1", "cpus:2;mem:1024")));
  // role1 = 1 (cpus 2/2)
  //   framework1 = 1
  EXPECT_NEAR(allocator_->RoleShare("role1"), 1.0, kEps);

  // Step 2. Total cpus 3, mem 1536.
  // role1 = 0.67 (cpus 2/3), role2 = 0: role2 wins.
  EXPECT_THAT(AddFramework(2, {"role2"}), IsEmpty());
  EXPECT_THAT(
      AddAgent(2, "cpus:1;mem:512"),
      ElementsAre(Grant("framework2", "agent2", "role2", "cpus:1;mem:512")));
  // role1 = 0.67 (cpus 2/3), role2 = 0.33 (cpus 1/3)
  EXPECT_NEAR(allocator_->RoleShare("role1"), 2.0 / 3, kEps);
  EXPECT_NEAR(allocator_->RoleShare("role2"), 1.0 / 3, kEps);

  // Step 3. Total cpus 6, mem 3584.
  // role1 = 0.33 (cpus 2/6), role2 = 0.17 (cpus 1/6): role2 wins.
  EXPECT_THAT(
      AddAgent(3, "cpus:3;mem:2048"),
      ElementsAre(Grant("framework2", "agent3", "role2", "cpus:3;mem:2048")));
  // role1 = 0.33 (cpus 2/6), role2 = 0.71 (mem 2560/3584)
  EXPECT_NEAR(allocator_->RoleShare("role2"), 2560.0 / 3584, kEps);

  // Step 4. Total cpus 10, mem 7680.
  // role1 = 0.2 (cpus 2/10), role2 = 0.4 (cpus 4/10): role1 wins.
  //   framework1 = 0.2, framework3 = 0: framework3 wins.
  EXPECT_THAT(AddFramework(3, {"role1"}), IsEmpty());
  EXPECT_THAT(
      AddAgent(4, "cpus:4;mem:4096"),
      ElementsAre(Grant("framework3", "agent4", "role1", "cpus:4;mem:4096")));
  // role1 = 0.67 (mem 5120/7680)
  //   framework1 = 0.2 (cpus 2/10), framework3 = 0.53 (mem 4096/7680)
  // role2 = 0.4 (cpus 4/10)
  EXPECT_NEAR(allocator_->RoleShare("role1"), 5120.0 / 7680, kEps);
  EXPECT_NEAR(allocator_->FrameworkShare("role1", Fw(1)), 0.2, kEps);
  EXPECT_NEAR(allocator_->FrameworkShare("role1", Fw(3)), 4096.0 / 7680, kEps);
  EXPECT_NEAR(allocator_->RoleShare("role2"), 0.4, kEps);

  // Step 5. Total cpus 11, mem 8192.
  // role1 = 0.63 (mem 5120/8192), role2 = 0.36 (cpus 4/11): role2 wins,
  // although framework4 in role1 has nothing.
  EXPECT_THAT(AddFramework(4, {"role1"}), IsEmpty());
  EXPECT_THAT(
      AddAgent(5, "cpus:1;mem:512"),
      ElementsAre(Grant("framework2", "agent5", "role2", "cpus:1;mem:512")));
  EXPECT_NEAR(allocator_->FrameworkShare("role1", Fw(4)), 0.0, kEps);
}

// Mesos's NestedRoleDRF: the role tree is sorted at each level, so a
// subtree's total share decides before the shares of its leaves.
TEST_F(AllocatorDrfTest, NestedRoleDrf) {
  EXPECT_THAT(AddAgent(1, "cpus:2;mem:1024"), IsEmpty());
  EXPECT_THAT(
      AddFramework(1, {"a/b"}),
      ElementsAre(Grant("framework1", "agent1", "a/b", "cpus:2;mem:1024")));

  // Total cpus 3, mem 1536.
  // a = 0.67 (a/b 0.67, a/c 0), d = 0 (d/e 0): d/e wins over a/c.
  EXPECT_THAT(AddFramework(2, {"a/c"}), IsEmpty());
  EXPECT_THAT(AddFramework(3, {"d/e"}), IsEmpty());
  EXPECT_THAT(
      AddAgent(2, "cpus:1;mem:512"),
      ElementsAre(Grant("framework3", "agent2", "d/e", "cpus:1;mem:512")));
  EXPECT_NEAR(allocator_->RoleShare("a/b"), 2.0 / 3, kEps);
  EXPECT_NEAR(allocator_->RoleShare("d/e"), 1.0 / 3, kEps);

  // Total cpus 5, mem 2560.
  // a = 0.4 (a/b 0.4, a/c 0), d = 0.2 (d/e 0.2, d/f 0): d wins, then d/f.
  EXPECT_THAT(AddFramework(4, {"d/f"}), IsEmpty());
  EXPECT_THAT(
      AddAgent(3, "cpus:2;mem:1024"),
      ElementsAre(Grant("framework4", "agent3", "d/f", "cpus:2;mem:1024")));
  // a = 0.4, d = 0.6 (d/e 0.2, d/f 0.4)
  EXPECT_NEAR(allocator_->RoleShare("d/f"), 0.4, kEps);

  // Total cpus 6, mem 3072.
  // a = 0.33 (a/b 0.33, a/c 0), d = 0.5: a wins, then a/c.
  EXPECT_THAT(
      AddAgent(4, "cpus:1;mem:512"),
      ElementsAre(Grant("framework2", "agent4", "a/c", "cpus:1;mem:512")));
}

// A role and its child are both roles with frameworks ("a" and "a/b"): "a"
// is a leaf beside "a/b" under the node "a", which carries both.
TEST_F(AllocatorDrfTest, ParentAndChildRoles) {
  EXPECT_THAT(AddFramework(1, {"a"}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {"a/b"}), IsEmpty());
  EXPECT_THAT(AddFramework(3, {"c"}), IsEmpty());
  // All shares 0 and no allocations yet: "a" before "c" by name, and in
  // "a", the leaf "a/." before "a/b".
  EXPECT_THAT(
      AddAgent(1, "cpus:1;mem:512"),
      ElementsAre(Grant("framework1", "agent1", "a", "cpus:1;mem:512")));
  // Total cpus 2: a = 0.5 (a/. 0.5, a/b 0), c = 0: c wins.
  EXPECT_THAT(
      AddAgent(2, "cpus:1;mem:512"),
      ElementsAre(Grant("framework3", "agent2", "c", "cpus:1;mem:512")));
  // Total cpus 3: a = 0.33, c = 0.33, equal; "a" has one allocation and
  // "c" one: "a" by name. Inside "a": a/b (0) before a/. (0.33).
  EXPECT_THAT(
      AddAgent(3, "cpus:1;mem:512"),
      ElementsAre(Grant("framework2", "agent3", "a/b", "cpus:1;mem:512")));
}

// Mesos's CoarseGrained: each framework gets one whole agent, never a part
// of both.
TEST_F(AllocatorDrfTest, CoarseGrainedPerAgentOffers) {
  EXPECT_THAT(AddAgent(1, "cpus:2;mem:1024"), IsEmpty());
  EXPECT_THAT(AddAgent(2, "cpus:2;mem:1024"), IsEmpty());
  std::vector<Allocation> first = AddFramework(1, {"role1"});
  ASSERT_THAT(
      first,
      ElementsAre(Grant("framework1", "agent1", "role1", "cpus:2;mem:1024"),
                  Grant("framework1", "agent2", "role1", "cpus:2;mem:1024")));
  Recover(first[0]);
  Recover(first[1]);

  // agent1: role1 = 0 with 2 past allocations, role2 = 0 with none: role2.
  // agent2: role1 = 0, role2 = 0.5 (cpus 2/4): role1.
  EXPECT_THAT(
      AddFramework(2, {"role2"}),
      ElementsAre(Grant("framework2", "agent1", "role2", "cpus:2;mem:1024"),
                  Grant("framework1", "agent2", "role1", "cpus:2;mem:1024")));
}

// Mesos's SameShareFairness: two frameworks in "*" with equal shares
// alternate because the tie goes to the one with fewer allocations.
TEST_F(AllocatorDrfTest, SameShareFairnessAlternates) {
  EXPECT_THAT(AddFramework(1, {"*"}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {"*"}), IsEmpty());
  std::vector<Allocation> allocations = AddAgent(1, "cpus:2;mem:1024");
  std::map<std::string, int> counts;
  for (int i = 0; i < 10; ++i) {
    // Both shares are 0 here; counts decide, then names.
    ASSERT_THAT(allocations, SizeIs(1)) << "round " << i;
    EXPECT_THAT(allocations[0], Grant(i % 2 == 0 ? "framework1" : "framework2",
                                      "agent1", "*", "cpus:2;mem:1024"))
        << "round " << i;
    ++counts[allocations[0].framework.value()];
    Recover(allocations[0]);
    allocations = NextBatch();
  }
  EXPECT_EQ(counts["framework1"], 5);
  EXPECT_EQ(counts["framework2"], 5);
}

// Ten equal agents added one at a time to two frameworks of one role: the
// lower share wins, and on equal shares the one with fewer allocations.
TEST_F(AllocatorDrfTest, TenEqualAgentsSplitFiveFive) {
  EXPECT_THAT(AddFramework(1, {"*"}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {"*"}), IsEmpty());
  for (int i = 1; i <= 10; ++i) {
    // Before agent i (total i agents): framework1 holds ceil((i-1)/2),
    // framework2 floor((i-1)/2). Odd i: equal shares and counts, so
    // framework1 by name; even i: framework2 has the lower share.
    EXPECT_THAT(
        AddAgent(i, "cpus:2;mem:1024"),
        ElementsAre(Grant(i % 2 == 1 ? "framework1" : "framework2",
                          absl::StrCat("agent", i), "*", "cpus:2;mem:1024")))
        << "agent " << i;
  }
  // 5 agents each of 10: both 0.5.
  EXPECT_NEAR(allocator_->FrameworkShare("*", Fw(1)), 0.5, kEps);
  EXPECT_NEAR(allocator_->FrameworkShare("*", Fw(2)), 0.5, kEps);
  EXPECT_NEAR(allocator_->RoleShare("*"), 1.0, kEps);
}

// Mesos's UpdateWeight: with weights 1:2 the agents split 2:4, and with a
// third role of weight 3 they split 1:2:3.
TEST_F(AllocatorDrfTest, WeightsScaleShares) {
  for (int i = 1; i <= 6; ++i)
    EXPECT_THAT(AddAgent(i, "cpus:2;mem:1024"), IsEmpty());
  std::vector<Allocation> all = AddFramework(1, {"role1"});
  ASSERT_THAT(all, SizeIs(6));
  EXPECT_THAT(AddFramework(2, {"role2"}), IsEmpty());
  for (const Allocation& a : all) Recover(a);

  // Total cpus 12. Equal weights: each role ends at 0.5 (3 agents).
  all = NextBatch();
  EXPECT_EQ(CountByFramework(all),
            (std::map<std::string, int>{{"framework1", 3}, {"framework2", 3}}));
  for (const Allocation& a : all) Recover(a);

  // role2 weight 2: role1 ends at 0.33 (2 agents), role2 at 0.67 / 2.
  allocator_->UpdateWeights({{"role2", 2.0}});
  all = NextBatch();
  EXPECT_EQ(CountByFramework(all),
            (std::map<std::string, int>{{"framework1", 2}, {"framework2", 4}}));
  EXPECT_NEAR(allocator_->RoleShare("role2"), (8.0 / 12) / 2, kEps);
  for (const Allocation& a : all) Recover(a);

  // role3 weight 3: 1 : 2 : 3 agents, every weighted share 1/6.
  allocator_->UpdateWeights({{"role3", 3.0}});
  all = AddFramework(3, {"role3"});
  EXPECT_EQ(CountByFramework(all),
            (std::map<std::string, int>{
                {"framework1", 1}, {"framework2", 2}, {"framework3", 3}}));
  EXPECT_NEAR(allocator_->RoleShare("role1"), 1.0 / 6, kEps);
  EXPECT_NEAR(allocator_->RoleShare("role2"), 1.0 / 6, kEps);
  EXPECT_NEAR(allocator_->RoleShare("role3"), 1.0 / 6, kEps);
}

// The DRF paper's example (Ghodsi et al., NSDI 2011), at the allocator:
// 9 CPUs and 18 GB; framework A runs tasks of <1 CPU, 4 GB>, B tasks of
// <3 CPUs, 1 GB>. Each takes one task out of every offer and declines the
// rest (no filter), until no offer fits a task.
TEST_F(AllocatorDrfTest, DrfPaperExample) {
  EXPECT_THAT(AddAgent(1, "cpus:9;mem:18432"), IsEmpty());
  EXPECT_THAT(AddFramework(1, {"a"}), SizeIs(1));  // Offered at once.
  allocator_->RecoverResources(
      Fw(1), Ag(1), R("cpus:9;mem:18432").AllocatedTo("a"), std::nullopt, now_);
  EXPECT_THAT(AddFramework(2, {"b"}), SizeIs(1));
  allocator_->RecoverResources(
      Fw(2), Ag(1), R("cpus:9;mem:18432").AllocatedTo("b"), std::nullopt, now_);
  const std::map<std::string, Resources> task = {
      {"framework1", R("cpus:1;mem:4096")},
      {"framework2", R("cpus:3;mem:1024")}};
  std::map<std::string, int> tasks;
  std::vector<std::string> order;
  for (int cycle = 0; cycle < 10; ++cycle) {
    for (const Allocation& offer : NextBatch()) {
      Resources plain = offer.resources.AllocatedTo("");
      const Resources& need = task.at(offer.framework.value());
      Resources declined = offer.resources;
      if (plain.Contains(need)) {
        ++tasks[offer.framework.value()];
        order.push_back(offer.framework.value());
        declined -= need.AllocatedTo(offer.role);
      }
      Allocation rest = offer;
      rest.resources = declined;
      if (!declined.empty()) Recover(rest);
    }
  }
  // Shares after each task: A 2/9, B 1/3, A 4/9, B 2/3, A 2/3; then no
  // CPU is left and the 4 GB that are cannot hold a task.
  EXPECT_THAT(order, ElementsAre("framework1", "framework2", "framework1",
                                 "framework2", "framework1"));
  EXPECT_EQ(tasks["framework1"], 3);
  EXPECT_EQ(tasks["framework2"], 2);
  EXPECT_NEAR(allocator_->RoleShare("a"), 2.0 / 3, kEps);
  EXPECT_NEAR(allocator_->RoleShare("b"), 2.0 / 3, kEps);
}

// The shuffle is seeded: one seed gives one agent order, every agent is
// still offered once, and another seed gives another order.
TEST(AllocatorShuffleTest, SeededShuffleIsDeterministic) {
  auto run = [](uint64_t seed) {
    AllocatorOptions options;
    options.shuffle_seed = seed;
    Allocator allocator(options);
    allocator.AddFramework(Fw(1), {"*"}, {}, true);
    for (int i = 1; i <= 20; ++i) {
      allocator.AddAgent(Ag(i), R("cpus:1;mem:128"), {});
    }
    std::vector<std::string> order;
    for (const Allocation& a : allocator.Allocate(absl::UnixEpoch())) {
      order.push_back(a.agent.value());
    }
    return order;
  };
  std::vector<std::string> a = run(7);
  EXPECT_EQ(a, run(7));
  EXPECT_NE(a, run(8));
  ASSERT_THAT(a, SizeIs(20));
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()).size(), 20u);
  std::vector<std::string> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(a, sorted);
}

}  // namespace
}  // namespace allocator_test
}  // namespace agora
