// Refuse filters, SUPPRESS/REVIVE and min_allocatable_resources, as Mesos's
// allocator applies them.
#include <optional>
#include <set>
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

using AllocatorFilterTest = AllocatorTest;

// Mesos's OfferFilter: a decline with refuse = 2 intervals blocks the next
// batch and is gone at the one after.
TEST_F(AllocatorFilterTest, DeclinedResourcesReturnWhenTheFilterExpires) {
  EXPECT_THAT(AddFramework(1, {"role"}), IsEmpty());
  std::vector<Allocation> a = AddAgent(1, "cpus:1;mem:512");
  ASSERT_THAT(
      a, ElementsAre(Grant("framework1", "agent1", "role", "cpus:1;mem:512")));
  Recover(a[0], absl::Seconds(2));
  EXPECT_EQ(allocator_->ActiveFilterCount(), 1u);

  EXPECT_THAT(NextBatch(), IsEmpty());  // +1 s: filtered.
  EXPECT_EQ(allocator_->ActiveFilterCount(), 1u);
  EXPECT_THAT(
      NextBatch(),  // +2 s: expired.
      ElementsAre(Grant("framework1", "agent1", "role", "cpus:1;mem:512")));
  EXPECT_EQ(allocator_->ActiveFilterCount(), 0u);
}

// Mesos's SmallOfferFilterTimeout: a filter shorter than the allocation
// interval still lasts one interval (MESOS-4302), even against a lower
// share.
TEST_F(AllocatorFilterTest, FilterLastsAtLeastOneAllocationInterval) {
  AllocatorOptions options;
  options.allocation_interval = absl::Minutes(1);
  Initialize(options);
  EXPECT_THAT(AddFramework(1, {"role"}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {"role"}), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus:1;mem:512",
                       {{Fw(1), R("cpus:1;mem:512").AllocatedTo("role")}}),
              IsEmpty());
  // Total cpus 2: framework1 = 0.5, framework2 = 0.
  std::vector<Allocation> a = AddAgent(2, "cpus:1;mem:512");
  ASSERT_THAT(
      a, ElementsAre(Grant("framework2", "agent2", "role", "cpus:1;mem:512")));
  absl::Time declined = now_;
  Recover(a[0], absl::Seconds(1));

  // One second later the 1 s filter holds, so framework1 (0.5) gets the
  // agent although framework2 (0) is lower.
  now_ = declined + absl::Seconds(1);
  a = Allocate();
  ASSERT_THAT(
      a, ElementsAre(Grant("framework1", "agent2", "role", "cpus:1;mem:512")));
  Recover(a[0]);
  now_ = declined + absl::Seconds(59);
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent2", "role",
                                            "cpus:1;mem:512")));
  allocator_->RecoverResources(Fw(1), Ag(2),
                               R("cpus:1;mem:512").AllocatedTo("role"),
                               std::nullopt, now_);

  // One interval after the decline the filter is gone.
  now_ = declined + absl::Minutes(1);
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework2", "agent2", "role",
                                            "cpus:1;mem:512")));
}

// A filter blocks offers it contains; once more is free on the agent than
// was refused, the framework is offered the agent again before expiry.
TEST_F(AllocatorFilterTest, FilterDoesNotBlockALargerOffer) {
  EXPECT_THAT(AddFramework(1, {"role"}), IsEmpty());
  EXPECT_THAT(
      AddAgent(1, "cpus:2;mem:1024"),
      ElementsAre(Grant("framework1", "agent1", "role", "cpus:2;mem:1024")));
  // The framework runs a task on half and declines the other half.
  Resources half = R("cpus:1;mem:512").AllocatedTo("role");
  allocator_->RecoverResources(Fw(1), Ag(1), half, absl::Seconds(10), now_);
  EXPECT_THAT(NextBatch(), IsEmpty());  // cpus:1;mem:512 ⊆ refused.

  // The task ends: cpus:2;mem:1024 is not inside the refused set.
  allocator_->RecoverResources(Fw(1), Ag(1), half, std::nullopt, now_);
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework1", "agent1", "role",
                                             "cpus:2;mem:1024")));
  EXPECT_EQ(allocator_->ActiveFilterCount(), 1u);
}

// A filter is per (framework, role, agent): the same framework is still
// offered the agent in another role, and other frameworks in the same role.
TEST_F(AllocatorFilterTest, FilterIsPerFrameworkAndRole) {
  EXPECT_THAT(AddFramework(2, {"role2"}), IsEmpty());
  EXPECT_THAT(
      AddAgent(1, "cpus:1;mem:512"),
      ElementsAre(Grant("framework2", "agent1", "role2", "cpus:1;mem:512")));
  EXPECT_THAT(AddFramework(1, {"role1", "role2"}), IsEmpty());
  // Total cpus 2: role1 = 0, role2 = 0.5.
  std::vector<Allocation> a = AddAgent(2, "cpus:1;mem:512");
  ASSERT_THAT(
      a, ElementsAre(Grant("framework1", "agent2", "role1", "cpus:1;mem:512")));
  Recover(a[0], absl::Seconds(100));

  // role1 (0) first, but framework1 refused agent2 there; role2 (0.5):
  // framework1 (0) before framework2 (0.5), and not filtered in role2.
  a = NextBatch();
  ASSERT_THAT(
      a, ElementsAre(Grant("framework1", "agent2", "role2", "cpus:1;mem:512")));
  Recover(a[0], absl::Seconds(100));

  // Now framework1 refused agent2 in both roles: framework2 gets it.
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework2", "agent2", "role2",
                                             "cpus:1;mem:512")));
  EXPECT_EQ(allocator_->ActiveFilterCount(), 2u);
}

// Mesos's ReviveOffers: revive clears the framework's filters at once.
TEST_F(AllocatorFilterTest, ReviveClearsFilters) {
  EXPECT_THAT(AddFramework(1, {"role"}), IsEmpty());
  std::vector<Allocation> a = AddAgent(1, "cpus:1;mem:512");
  ASSERT_THAT(a, SizeIs(1));
  Recover(a[0], absl::Seconds(1000));
  EXPECT_THAT(NextBatch(), IsEmpty());

  allocator_->ReviveOffers(Fw(1), {});
  EXPECT_EQ(allocator_->ActiveFilterCount(), 0u);
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent1", "role",
                                            "cpus:1;mem:512")));
}

// Mesos's SuppressAndReviveOffers: a suppressed framework gets nothing but
// keeps what it holds; revive brings offers back.
TEST_F(AllocatorFilterTest, SuppressStopsOffersAndReviveResumesThem) {
  EXPECT_THAT(AddFramework(1, {"role"}), IsEmpty());
  std::vector<Allocation> a = AddAgent(1, "cpus:1;mem:512");
  ASSERT_THAT(a, SizeIs(1));
  allocator_->SuppressOffers(Fw(1), {});
  EXPECT_NEAR(allocator_->FrameworkShare("role", Fw(1)), 1.0, 1e-9);
  Recover(a[0]);
  EXPECT_THAT(NextBatch(), IsEmpty());
  EXPECT_THAT(AddAgent(2, "cpus:1;mem:512"), IsEmpty());

  allocator_->ReviveOffers(Fw(1), {});
  EXPECT_THAT(
      Allocate(),
      ElementsAre(Grant("framework1", "agent1", "role", "cpus:1;mem:512"),
                  Grant("framework1", "agent2", "role", "cpus:1;mem:512")));
}

// Suppressing one role of a multi-role framework leaves its other roles.
TEST_F(AllocatorFilterTest, SuppressOneRole) {
  allocator_->AddFramework(Fw(1), {"role1", "role2"}, {}, /*active=*/true,
                           /*suppressed_roles=*/{"role1"});
  std::vector<Allocation> a = AddAgent(1, "cpus:1;mem:512");
  ASSERT_THAT(
      a, ElementsAre(Grant("framework1", "agent1", "role2", "cpus:1;mem:512")));
  Recover(a[0]);
  allocator_->SuppressOffers(Fw(1), {"role2"});
  EXPECT_THAT(NextBatch(), IsEmpty());

  allocator_->ReviveOffers(Fw(1), {"role1"});
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent1", "role1",
                                            "cpus:1;mem:512")));
}

// Mesos's Allocatable: an offer must hold cpus:0.01 or mem:32; reserved and
// unreserved parts of one offer count together.
TEST_F(AllocatorFilterTest, MinAllocatableResources) {
  EXPECT_THAT(AddFramework(1, {"role1"}), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus:0.005"), IsEmpty());
  EXPECT_THAT(AddAgent(2, "cpus:0.005;mem:16;disk:128"), IsEmpty());
  EXPECT_THAT(AddAgent(3, "cpus:0.01;mem:16;disk:128"),
              ElementsAre(Grant("framework1", "agent3", "role1",
                                "cpus:0.01;mem:16;disk:128")));
  EXPECT_THAT(AddAgent(4, "cpus:0.005;mem:32;disk:128"),
              ElementsAre(Grant("framework1", "agent4", "role1",
                                "cpus:0.005;mem:32;disk:128")));
  const char* split =
      "cpus:0.015;mem:16;cpus(role1):0.015;mem(role1):16;disk:128";
  EXPECT_THAT(AddAgent(5, split),
              ElementsAre(Grant("framework1", "agent5", "role1", split)));
  // The small agents stay unoffered in later batches too.
  EXPECT_THAT(NextBatch(), IsEmpty());
}

TEST_F(AllocatorFilterTest, MinAllocatableFromOptions) {
  AllocatorOptions options;
  options.min_allocatable_resources = {R("cpus:1;mem:64")};
  Initialize(options);
  EXPECT_THAT(AddFramework(1, {"*"}), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus:4;mem:32"), IsEmpty());
  EXPECT_THAT(AddAgent(2, "cpus:1;mem:64"),
              ElementsAre(Grant("framework1", "agent2", "*", "cpus:1;mem:64")));

  options.min_allocatable_resources.clear();  // No minimum at all.
  Initialize(options);
  EXPECT_THAT(AddFramework(1, {"*"}), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus:0.005"),
              ElementsAre(Grant("framework1", "agent1", "*", "cpus:0.005")));
}

// FrameworkOptions with default capabilities.
FrameworkOptions Options(
    std::set<std::string> roles, std::set<std::string> suppressed = {},
    std::map<std::string, std::vector<Resources>> min_allocatable = {}) {
  FrameworkOptions options;
  options.roles = std::move(roles);
  options.suppressed_roles = std::move(suppressed);
  options.min_allocatable_resources = std::move(min_allocatable);
  return options;
}

// Mesos caps refuse_seconds at 365 days: a 1000-day filter is gone after
// 365 days.
TEST_F(AllocatorFilterTest, RefuseIsCappedAt365Days) {
  EXPECT_THAT(AddFramework(1, {"role"}), IsEmpty());
  std::vector<Allocation> a = AddAgent(1, "cpus:1;mem:512");
  ASSERT_THAT(a, SizeIs(1));
  Recover(a[0], absl::Hours(24 * 1000));
  now_ += absl::Hours(24 * 365) - absl::Seconds(1);
  EXPECT_THAT(Allocate(), IsEmpty());
  now_ += absl::Seconds(1);
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent1", "role",
                                            "cpus:1;mem:512")));
}

// UPDATE_FRAMEWORK: the framework leaves "a" for "b"; its filter in "a"
// goes, and the agent it declined in "a" is offered in "b".
TEST_F(AllocatorFilterTest, UpdateFrameworkMovesTheFrameworkToItsNewRoles) {
  EXPECT_THAT(AddFramework(1, {"a"}), IsEmpty());
  std::vector<Allocation> a = AddAgent(1, "cpus:1;mem:512");
  ASSERT_THAT(
      a, ElementsAre(Grant("framework1", "agent1", "a", "cpus:1;mem:512")));
  Recover(a[0], absl::Hours(1));
  EXPECT_THAT(Allocate(), IsEmpty());
  allocator_->UpdateFramework(Fw(1), Options({"b"}));
  EXPECT_EQ(allocator_->ActiveFilterCount(), 0u);
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent1", "b",
                                            "cpus:1;mem:512")));
  // Suppressed in "b" through the update: nothing more.
  allocator_->RecoverResources(
      Fw(1), Ag(1), R("cpus:1;mem:512").AllocatedTo("b"), std::nullopt, now_);
  allocator_->UpdateFramework(Fw(1), Options({"b"}, {"b"}));
  EXPECT_THAT(Allocate(), IsEmpty());
}

// FrameworkInfo.offer_filters: a framework's own minimum replaces the
// allocator-wide one in that role, both ways.
TEST_F(AllocatorFilterTest, FrameworkMinAllocatableReplacesTheGlobalOne) {
  EXPECT_THAT(AddFramework(1, {"a"}), IsEmpty());
  allocator_->UpdateFramework(Fw(1),
                              Options({"a"}, {}, {{"a", {R("cpus:2")}}}));
  EXPECT_THAT(AddAgent(1, "cpus:1;mem:512"), IsEmpty());  // Below cpus:2.
  // A tiny agent (below the global cpus:0.01|mem:32) goes to a framework
  // whose minimum is "anything".
  allocator_->UpdateFramework(Fw(1),
                              Options({"a"}, {}, {{"a", {Resources()}}}));
  EXPECT_THAT(
      AddAgent(2, "cpus:0.001;mem:1"),
      ElementsAre(Grant("framework1", "agent2", "a", "cpus:0.001;mem:1")));
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent1", "a",
                                            "cpus:1;mem:512")));
}

TEST(AllocatorFlagsTest, MinAllocatableResources) {
  absl::StatusOr<std::vector<Resources>> sets =
      ParseMinAllocatableResources("cpus:0.01|mem:32");
  ASSERT_TRUE(sets.ok()) << sets.status();
  EXPECT_EQ(*sets, AllocatorOptions::DefaultMinAllocatable());
  sets = ParseMinAllocatableResources("disk:1|cpus:1;mem:32");
  ASSERT_TRUE(sets.ok()) << sets.status();
  ASSERT_EQ(sets->size(), 2u);
  EXPECT_EQ((*sets)[1], R("cpus:1;mem:32"));
  EXPECT_FALSE(ParseMinAllocatableResources("cpus:1|").ok());
  EXPECT_FALSE(ParseMinAllocatableResources("ports:[1-2]").ok());
  EXPECT_FALSE(ParseMinAllocatableResources("cpus(r):1").ok());
  EXPECT_FALSE(ParseMinAllocatableResources("cpus:x").ok());
}

TEST(AllocatorFlagsTest, Weights) {
  absl::StatusOr<std::map<std::string, double>> weights =
      ParseWeights("role1=2,eng/ml=3.5");
  ASSERT_TRUE(weights.ok()) << weights.status();
  EXPECT_EQ(*weights,
            (std::map<std::string, double>{{"role1", 2.0}, {"eng/ml", 3.5}}));
  EXPECT_TRUE(ParseWeights("").ok());
  EXPECT_FALSE(ParseWeights("role1").ok());
  EXPECT_FALSE(ParseWeights("role1=0").ok());
  EXPECT_FALSE(ParseWeights("role1=-1").ok());
  EXPECT_FALSE(ParseWeights("bad role=1").ok());
  EXPECT_FALSE(ParseWeights("role1=x").ok());
}

}  // namespace
}  // namespace allocator_test
}  // namespace agora
