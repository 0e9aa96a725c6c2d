// Framework and agent lifecycle in the allocator: activation, removal,
// outstanding grants, resources in use at (re)registration, reservations.
#include <optional>
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

using AllocatorLifecycleTest = AllocatorTest;

// An inactive framework gets no offers but keeps its allocation (and its
// role's share); deactivation drops its filters.
TEST_F(AllocatorLifecycleTest, DeactivatedFrameworkIsSkipped) {
  EXPECT_THAT(AddFramework(1, {"role1"}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {"role2"}), IsEmpty());
  std::vector<Allocation> a = AddAgent(1, "cpus:1;mem:512");
  ASSERT_THAT(
      a, ElementsAre(Grant("framework1", "agent1", "role1", "cpus:1;mem:512")));
  allocator_->RecoverResources(Fw(1), Ag(1),
                               R("cpus:0.5;mem:256").AllocatedTo("role1"),
                               absl::Seconds(100), now_);
  EXPECT_EQ(allocator_->ActiveFilterCount(), 1u);

  allocator_->DeactivateFramework(Fw(1));
  EXPECT_EQ(allocator_->ActiveFilterCount(), 0u);
  // Total cpus 2: role1 = 0.25 (cpus 0.5/2), role2 = 0.
  EXPECT_THAT(
      AddAgent(2, "cpus:1;mem:512"),
      ElementsAre(Grant("framework2", "agent2", "role2", "cpus:1;mem:512")));
  // role1 = 0.25 (cpus 0.5/2) < role2 = 0.5, but framework1 is inactive.
  EXPECT_NEAR(allocator_->RoleShare("role1"), 0.25, kEps);
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework2", "agent1", "role2",
                                             "cpus:0.5;mem:256")));

  allocator_->ActivateFramework(Fw(1));
  EXPECT_THAT(
      AddAgent(3, "cpus:1;mem:512"),
      ElementsAre(Grant("framework1", "agent3", "role1", "cpus:1;mem:512")));
}

TEST_F(AllocatorLifecycleTest, DeactivatedAgentIsNotOffered) {
  EXPECT_THAT(AddFramework(1, {"*"}), IsEmpty());
  allocator_->AddAgent(Ag(1), R("cpus:1;mem:512"), {});
  allocator_->DeactivateAgent(Ag(1));
  EXPECT_THAT(Allocate(), IsEmpty());
  EXPECT_THAT(allocator_->Allocate(now_, std::set<AgentId>{Ag(1)}), IsEmpty());
  // Its resources still count in the totals.
  EXPECT_EQ(allocator_->TotalResources(), R("cpus:1;mem:512"));

  allocator_->ActivateAgent(Ag(1));
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent1", "*",
                                            "cpus:1;mem:512")));
}

// A grant counts as allocated until the master gives it back, and only what
// is given back becomes available again.
TEST_F(AllocatorLifecycleTest, OutstandingGrantsCountUntilRecovered) {
  EXPECT_THAT(AddFramework(1, {"*"}), IsEmpty());
  std::vector<Allocation> a = AddAgent(1, "cpus:2;mem:1024");
  ASSERT_THAT(a, SizeIs(1));
  EXPECT_THAT(NextBatch(), IsEmpty());
  EXPECT_EQ(allocator_->AllocatedResources(),
            R("cpus:2;mem:1024").AllocatedTo("*"));
  EXPECT_NEAR(allocator_->FrameworkShare("*", Fw(1)), 1.0, kEps);

  EXPECT_THAT(AddFramework(2, {"*"}), IsEmpty());
  // framework1 launches on cpus:1;mem:256 and returns the rest.
  allocator_->RecoverResources(
      Fw(1), Ag(1), R("cpus:1;mem:768").AllocatedTo("*"), std::nullopt, now_);
  // framework1 = 0.5 (cpus 1/2), framework2 = 0.
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework2", "agent1", "*",
                                             "cpus:1;mem:768")));
  EXPECT_EQ(allocator_->AllocatedResources(),
            R("cpus:2;mem:1024").AllocatedTo("*"));

  // Recovering more than is held only frees what was held.
  allocator_->RecoverResources(
      Fw(1), Ag(1), R("cpus:2;mem:1024").AllocatedTo("*"), std::nullopt, now_);
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework1", "agent1", "*",
                                             "cpus:1;mem:256")));
}

TEST_F(AllocatorLifecycleTest, RemovedFrameworkFreesItsResources) {
  EXPECT_THAT(AddFramework(1, {"role1"}), IsEmpty());
  std::vector<Allocation> a = AddAgent(1, "cpus:1;mem:512");
  ASSERT_THAT(a, SizeIs(1));
  Recover(a[0], absl::Seconds(100));
  EXPECT_THAT(NextBatch(), IsEmpty());
  a = AddAgent(2, "cpus:1;mem:512");
  ASSERT_THAT(a, SizeIs(1));

  allocator_->RemoveFramework(Fw(1));
  EXPECT_EQ(allocator_->ActiveFilterCount(), 0u);
  EXPECT_EQ(allocator_->AllocatedResources(), Resources());
  EXPECT_NEAR(allocator_->RoleShare("role1"), 0.0, kEps);
  EXPECT_THAT(
      AddFramework(2, {"role2"}),
      ElementsAre(Grant("framework2", "agent1", "role2", "cpus:1;mem:512"),
                  Grant("framework2", "agent2", "role2", "cpus:1;mem:512")));
}

TEST_F(AllocatorLifecycleTest, RemovedAgentLeavesTheTotals) {
  EXPECT_THAT(AddFramework(1, {"role1"}), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus:1;mem:512"), SizeIs(1));
  EXPECT_THAT(AddAgent(2, "cpus:3;mem:512"), SizeIs(1));
  // Total cpus 4: role1 = 1.
  allocator_->RemoveAgent(Ag(2));
  // Total cpus 1, role1 holds agent1 only: still 1.
  EXPECT_NEAR(allocator_->RoleShare("role1"), 1.0, kEps);
  EXPECT_EQ(allocator_->TotalResources(), R("cpus:1;mem:512"));
  EXPECT_EQ(allocator_->AllocatedResources(),
            R("cpus:1;mem:512").AllocatedTo("role1"));
  // The master recovers the removed agent's offers afterwards: a no-op.
  allocator_->RecoverResources(Fw(1), Ag(2),
                               R("cpus:3;mem:512").AllocatedTo("role1"),
                               absl::Seconds(5), now_);
  EXPECT_EQ(allocator_->ActiveFilterCount(), 0u);

  EXPECT_THAT(AddFramework(2, {"role2"}), IsEmpty());
  EXPECT_THAT(
      AddAgent(3, "cpus:1;mem:512"),
      ElementsAre(Grant("framework2", "agent3", "role2", "cpus:1;mem:512")));
}

// An agent reregisters before its framework: what the framework uses there
// is not offered, and counts in the role's share once the framework is
// added with it.
TEST_F(AllocatorLifecycleTest, UsedResourcesOfAnUnknownFramework) {
  Resources used = R("cpus:1;mem:512").AllocatedTo("role1");
  EXPECT_THAT(AddAgent(1, "cpus:2;mem:1024", {{Fw(9), used}}), IsEmpty());
  EXPECT_THAT(
      AddFramework(1, {"role1"}),
      ElementsAre(Grant("framework1", "agent1", "role1", "cpus:1;mem:512")));
  // Untracked use is not in any share yet: role1 = 0.5 (framework1's).
  EXPECT_NEAR(allocator_->RoleShare("role1"), 0.5, kEps);

  EXPECT_THAT(AddFramework(9, {"role1"}, {{Ag(1), used}}), IsEmpty());
  // role1 = 1: framework1 0.5, framework9 0.5.
  EXPECT_NEAR(allocator_->RoleShare("role1"), 1.0, kEps);
  EXPECT_NEAR(allocator_->FrameworkShare("role1", Fw(9)), 0.5, kEps);

  allocator_->RecoverResources(Fw(9), Ag(1), used, std::nullopt, now_);
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework9", "agent1", "role1",
                                             "cpus:1;mem:512")));
}

// Resources a framework holds in a role it is not subscribed to count in
// that role until they are recovered; it is never offered in that role.
TEST_F(AllocatorLifecycleTest, UsedResourcesInAnUnsubscribedRole) {
  EXPECT_THAT(AddAgent(1, "cpus:2;mem:1024"), IsEmpty());
  Resources used = R("cpus:1;mem:512").AllocatedTo("old");
  EXPECT_THAT(
      AddFramework(1, {"role1"}, {{Ag(1), used}}),
      ElementsAre(Grant("framework1", "agent1", "role1", "cpus:1;mem:512")));
  EXPECT_NEAR(allocator_->RoleShare("old"), 0.5, kEps);

  allocator_->RecoverResources(Fw(1), Ag(1), used, absl::Seconds(100), now_);
  EXPECT_NEAR(allocator_->RoleShare("old"), 0.0, kEps);
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework1", "agent1", "role1",
                                             "cpus:1;mem:512")));
}

// Static reservations go only to their role (or its descendants); the
// unreserved rest of the same agent can go to another role in the same
// cycle.
TEST_F(AllocatorLifecycleTest, ReservationsAreOfferedOnlyToTheirRole) {
  EXPECT_THAT(AddFramework(1, {"role1"}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {"role2"}), IsEmpty());
  EXPECT_THAT(
      AddAgent(1, "cpus:1;mem:512"),
      ElementsAre(Grant("framework1", "agent1", "role1", "cpus:1;mem:512")));
  // Total cpus 4: role2 = 0 < role1 = 0.25. role2 may only take the
  // unreserved part; role1 then gets its reservation.
  EXPECT_THAT(
      AddAgent(2, "cpus:1;mem:512;cpus(role1):2;mem(role1):1024"),
      ElementsAre(Grant("framework2", "agent2", "role2", "cpus:1;mem:512"),
                  Grant("framework1", "agent2", "role1",
                        "cpus(role1):2;mem(role1):1024")));
  // Total cpus 5: role2 = 0.2 < role1 = 0.6, but role2 cannot use it.
  std::vector<Allocation> a = AddAgent(3, "cpus(role1):1;mem(role1):512");
  ASSERT_THAT(a, ElementsAre(Grant("framework1", "agent3", "role1",
                                   "cpus(role1):1;mem(role1):512")));

  allocator_->DeactivateFramework(Fw(1));
  Recover(a[0]);
  EXPECT_THAT(NextBatch(), IsEmpty());
}

// Mesos's OfferAncestorReservationsToDescendantChild.
TEST_F(AllocatorLifecycleTest, AncestorReservationsGoToDescendants) {
  EXPECT_THAT(AddFramework(1, {"b"}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {"c/d"}), IsEmpty());
  // "b" sorts before "c" (both 0) but may not use what "c" reserved.
  EXPECT_THAT(AddAgent(1, "cpus(c):1;mem(c):512"),
              ElementsAre(Grant("framework2", "agent1", "c/d",
                                "cpus(c):1;mem(c):512")));
}

// Role names are the master's to validate; a bad one reaching the
// allocator is dropped rather than trusted.
TEST_F(AllocatorLifecycleTest, InvalidRolesAreIgnored) {
  EXPECT_THAT(AddFramework(1, {"", "a b", "role1"}), IsEmpty());
  EXPECT_THAT(
      AddAgent(1, "cpus:1;mem:512"),
      ElementsAre(Grant("framework1", "agent1", "role1", "cpus:1;mem:512")));
  EXPECT_NEAR(allocator_->RoleShare("a b"), 0.0, kEps);
}

}  // namespace
}  // namespace allocator_test
}  // namespace agora
