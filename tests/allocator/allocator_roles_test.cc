// MULTI_ROLE frameworks, capabilities, per-framework minimums, fairness
// exclusion, reservations (static, dynamic, refined) and the metrics, as
// Mesos's hierarchical allocator handles them.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "allocator/allocator.h"
#include "allocator/allocator_test_util.h"
#include "common/reservations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agora {
namespace allocator_test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr double kEps = 1e-9;

using AllocatorRolesTest = AllocatorTest;

FrameworkOptions Options(std::set<std::string> roles) {
  FrameworkOptions options;
  options.roles = std::move(roles);
  options.capabilities.multi_role = true;
  options.capabilities.reservation_refinement = true;
  return options;
}

Resources Revocable(absl::string_view text) {
  Resources out;
  Resources in = R(text);
  for (Resource r : in.items()) {
    r.revocable = true;
    out += r;
  }
  return out;
}

Reservation Dynamic(const std::string& role) {
  return Reservation{Reservation::Type::kDynamic, role, "ops"};
}

// --- MULTI_ROLE
// ---------------------------------------------------------------

// One grant per (framework, role, agent): the role1 walk takes the
// unreserved part and role1's reservation, role2's reservation is left for
// the role2 walk on the same agent.
TEST_F(AllocatorRolesTest, MultiRoleFrameworkGetsOneOfferPerRole) {
  EXPECT_THAT(AddFramework(1, Options({"role1", "role2"})), IsEmpty());
  EXPECT_THAT(AddAgent(1,
                       "cpus:2;mem:1024;cpus(role1):1;mem(role1):512;"
                       "cpus(role2):1;mem(role2):512"),
              ElementsAre(Grant("framework1", "agent1", "role1",
                                "cpus:2;mem:1024;cpus(role1):1;mem(role1):512"),
                          Grant("framework1", "agent1", "role2",
                                "cpus(role2):1;mem(role2):512")));
  // Totals cpus 4, mem 2048: role1 holds 3/4, role2 1/4.
  EXPECT_NEAR(allocator_->RoleShare("role1"), 0.75, kEps);
  EXPECT_NEAR(allocator_->RoleShare("role2"), 0.25, kEps);
}

// Mesos's SuppressAndReviveOffersWithMultiRole.
TEST_F(AllocatorRolesTest, SuppressOneRoleOfMany) {
  EXPECT_THAT(AddFramework(1, Options({"role1", "role2"})), IsEmpty());
  allocator_->SuppressOffers(Fw(1), {"role1"});
  std::vector<Allocation> got = AddAgent(1, "cpus:2;mem:1024");
  EXPECT_THAT(got, ElementsAre(Grant("framework1", "agent1", "role2",
                                     "cpus:2;mem:1024")));
  Recover(got[0]);
  allocator_->ReviveOffers(Fw(1), {"role1"});
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent1", "role1",
                                            "cpus:2;mem:1024")));
}

// Mesos's DontOfferOldAgentToMultiRoleFramework.
TEST_F(AllocatorRolesTest, MultiRoleFrameworksSkipOldAgents) {
  AgentCapabilities old;
  old.multi_role = false;
  EXPECT_THAT(AddFramework(1, Options({"role1"})), IsEmpty());
  allocator_->AddAgent(Ag(1), R("cpus:2;mem:1024"), {}, old);
  EXPECT_THAT(Allocate(), IsEmpty());
  FrameworkOptions single = Options({"role1"});
  single.capabilities.multi_role = false;
  EXPECT_THAT(
      AddFramework(2, single),
      ElementsAre(Grant("framework2", "agent1", "role1", "cpus:2;mem:1024")));
}

TEST_F(AllocatorRolesTest, HierarchicalRolesNeedCapableAgents) {
  AgentCapabilities old;
  old.hierarchical_role = false;
  EXPECT_THAT(AddFramework(1, Options({"eng/ml"})), IsEmpty());
  allocator_->AddAgent(Ag(1), R("cpus:2;mem:1024"), {}, old);
  EXPECT_THAT(Allocate(), IsEmpty());
  EXPECT_TRUE(
      allocator_->UpdateAgent(Ag(1), std::nullopt, AgentCapabilities()));
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent1", "eng/ml",
                                            "cpus:2;mem:1024")));
}

// UPDATE_FRAMEWORK: a role left keeps what it holds; offers go to the new
// role; a role that stops being suppressed is revived.
TEST_F(AllocatorRolesTest, UpdateFrameworkRoles) {
  EXPECT_THAT(AddFramework(1, Options({"role1"})), IsEmpty());
  EXPECT_THAT(
      AddAgent(1, "cpus:2;mem:1024"),
      ElementsAre(Grant("framework1", "agent1", "role1", "cpus:2;mem:1024")));
  FrameworkOptions moved = Options({"role2"});
  moved.suppressed_roles = {"role2"};
  allocator_->UpdateFramework(Fw(1), moved);
  EXPECT_NEAR(allocator_->RoleShare("role1"), 1.0, kEps);
  EXPECT_THAT(AddAgent(2, "cpus:2;mem:1024"), IsEmpty());  // Suppressed.
  allocator_->UpdateFramework(Fw(1), Options({"role2"}));
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent2", "role2",
                                            "cpus:2;mem:1024")));
  // Giving back the role1 resources untracks role1.
  allocator_->RecoverResources(Fw(1), Ag(1),
                               R("cpus:2;mem:1024").AllocatedTo("role1"),
                               std::nullopt, now_);
  EXPECT_NEAR(allocator_->RoleShare("role1"), 0.0, kEps);
  EXPECT_FALSE(HasMetric("allocator/mesos/roles/role1/shares/dominant"));
}

// --- Capabilities
// ---------------------------------------------------------------

// Revocable resources reach only REVOCABLE_RESOURCES frameworks; what a
// framework cannot take stays on the agent for the next one.
TEST_F(AllocatorRolesTest, RevocableResourcesNeedTheCapability) {
  EXPECT_THAT(AddFramework(1, Options({"role1"})), IsEmpty());
  allocator_->AddAgent(Ag(1), R("cpus:2;mem:1024") + Revocable("cpus:4"), {});
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent1", "role1",
                                            "cpus:2;mem:1024")));
  FrameworkOptions capable = Options({"role2"});
  capable.capabilities.revocable_resources = true;
  std::vector<Allocation> got = AddFramework(2, capable);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].framework, Fw(2));
  EXPECT_EQ(got[0].resources, Revocable("cpus:4").AllocatedTo("role2"));
}

// --filter_gpu_resources: agents with GPUs only go to GPU_RESOURCES
// frameworks.
TEST_F(AllocatorRolesTest, GpuAgentsNeedTheCapability) {
  EXPECT_THAT(AddFramework(1, Options({"role1"})), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus:2;mem:1024;gpus:1"), IsEmpty());
  FrameworkOptions gpu = Options({"role1"});
  gpu.capabilities.gpu_resources = true;
  EXPECT_THAT(AddFramework(2, gpu),
              ElementsAre(Grant("framework2", "agent1", "role1",
                                "cpus:2;mem:1024;gpus:1")));

  AllocatorOptions options;
  options.filter_gpu_resources = false;
  Initialize(options);
  EXPECT_THAT(AddFramework(1, Options({"role1"})), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus:2;mem:1024;gpus:1"),
              ElementsAre(Grant("framework1", "agent1", "role1",
                                "cpus:2;mem:1024;gpus:1")));
}

// Refined reservations are hidden from frameworks without
// RESERVATION_REFINEMENT.
TEST_F(AllocatorRolesTest, RefinedReservationsNeedTheCapability) {
  Resources refined =
      PushReservation(R("cpus(eng):1;mem(eng):256"), Dynamic("eng/ml"));
  FrameworkOptions plain = Options({"eng/ml"});
  plain.capabilities.reservation_refinement = false;
  EXPECT_THAT(AddFramework(1, plain), IsEmpty());
  allocator_->AddAgent(Ag(1), R("cpus:1;mem:512") + refined, {});
  EXPECT_THAT(Allocate(), ElementsAre(Grant("framework1", "agent1", "eng/ml",
                                            "cpus:1;mem:512")));
  std::vector<Allocation> got = AddFramework(2, Options({"eng/ml"}));
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].resources, refined.AllocatedTo("eng/ml"));
}

// --- Minimum offer size
// -----------------------------------------------------------

// Mesos's FrameworkMinAllocatable: a framework's own minimum for a role
// replaces the global one for it alone.
TEST_F(AllocatorRolesTest, FrameworkMinAllocatable) {
  FrameworkOptions picky = Options({"role1"});
  picky.min_allocatable_resources["role1"] = {R("cpus:2")};
  EXPECT_THAT(AddFramework(1, picky), IsEmpty());
  EXPECT_THAT(AddFramework(2, Options({"role1"})), IsEmpty());
  // framework1 comes first (name) but cpus:1 is below its minimum.
  EXPECT_THAT(
      AddAgent(1, "cpus:1;mem:512"),
      ElementsAre(Grant("framework2", "agent1", "role1", "cpus:1;mem:512")));
  // Shares now framework1 0, framework2 1: framework1 takes cpus:2.
  EXPECT_THAT(
      AddAgent(2, "cpus:2;mem:512"),
      ElementsAre(Grant("framework1", "agent2", "role1", "cpus:2;mem:512")));
}

// Mesos's FrameworkEmptyMinAllocatable: an empty list accepts anything.
TEST_F(AllocatorRolesTest, FrameworkEmptyMinAllocatable) {
  FrameworkOptions any = Options({"role1"});
  any.min_allocatable_resources["role1"] = {};
  EXPECT_THAT(AddFramework(2, Options({"role1"})), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus:0.001;mem:1"), IsEmpty());
  EXPECT_THAT(
      AddFramework(1, any),
      ElementsAre(Grant("framework1", "agent1", "role1", "cpus:0.001;mem:1")));
}

// --- Fairness exclusion
// -------------------------------------------------------------

// Mesos's DRFWithFairnessExclusion: excluded resources do not count in
// shares.
TEST_F(AllocatorRolesTest, FairnessExclusion) {
  for (bool exclude : {false, true}) {
    AllocatorOptions options;
    if (exclude) options.fair_sharing_excluded_resource_names = {"gpus"};
    Initialize(options);
    FrameworkOptions a = Options({"role1"});
    a.capabilities.gpu_resources = true;
    FrameworkOptions b = Options({"role2"});
    b.capabilities.gpu_resources = true;
    EXPECT_THAT(AddFramework(1, a), IsEmpty());
    EXPECT_THAT(AddFramework(2, b), IsEmpty());
    EXPECT_THAT(AddAgent(1, "cpus:1;mem:512;gpus:8"), SizeIs(1));
    EXPECT_THAT(
        AddAgent(2, "cpus:2;mem:1024"),
        ElementsAre(Grant("framework2", "agent2", "role2", "cpus:2;mem:1024")));
    // Totals cpus 4, mem 2048, gpus 8. role2 = 0.5. role1 = 0.25 without
    // gpus, 1 with them: agent3 goes to the lower one.
    EXPECT_NEAR(allocator_->RoleShare("role1"), exclude ? 1.0 / 3 : 1.0, kEps);
    EXPECT_THAT(
        AddAgent(3, "cpus:1;mem:512"),
        ElementsAre(Grant(exclude ? "framework1" : "framework2", "agent3",
                          exclude ? "role1" : "role2", "cpus:1;mem:512")));
  }
}

// --- Reservations
// ---------------------------------------------------------------

// RESERVE inside an offer: the allocation and the agent's total change;
// once recovered, the reserved part is offered only to its role.
TEST_F(AllocatorRolesTest, ReserveInOffer) {
  EXPECT_THAT(AddFramework(1, Options({"role1"})), IsEmpty());
  EXPECT_THAT(AddFramework(2, Options({"role2"})), IsEmpty());
  std::vector<Allocation> got = AddAgent(1, "cpus:4;mem:1024");
  ASSERT_THAT(got, ElementsAre(Grant("framework1", "agent1", "role1",
                                     "cpus:4;mem:1024")));
  absl::StatusOr<ResourceConversion> reserve =
      ReserveConversion(PushReservation(R("cpus:2;mem:512"), Dynamic("role1"))
                            .AllocatedTo("role1"));
  ASSERT_TRUE(reserve.ok()) << reserve.status();
  ASSERT_TRUE(allocator_
                  ->UpdateAllocation(Fw(1), Ag(1),
                                     R("cpus:2;mem:512").AllocatedTo("role1"),
                                     {*reserve})
                  .ok());
  Resources reserved = PushReservation(R("cpus:2;mem:512"), Dynamic("role1"));
  EXPECT_EQ(allocator_->TotalResources(), R("cpus:2;mem:512") + reserved);
  // The reservation counts against role1's quota consumption from now on.
  EXPECT_EQ(allocator_->QuotaConsumed("role1"), QuotaMap("cpus:4;mem:1024"));
  // Shares are unchanged: the quantities are the same.
  EXPECT_NEAR(allocator_->RoleShare("role1"), 1.0, kEps);

  // Decline everything; framework1 suppresses. framework2 gets only the
  // unreserved half.
  allocator_->RecoverResources(
      Fw(1), Ag(1), (R("cpus:2;mem:512") + reserved).AllocatedTo("role1"),
      std::nullopt, now_);
  allocator_->SuppressOffers(Fw(1), {});
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework2", "agent1", "role2",
                                             "cpus:2;mem:512")));
  allocator_->ReviveOffers(Fw(1), {});
  got = Allocate();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].framework, Fw(1));
  EXPECT_EQ(got[0].resources, reserved.AllocatedTo("role1"));

  // An offer the framework does not hold cannot be converted.
  EXPECT_EQ(
      allocator_
          ->UpdateAllocation(Fw(2), Ag(1), R("cpus:8").AllocatedTo("role2"), {})
          .code(),
      absl::StatusCode::kFailedPrecondition);
}

// Operator RESERVE / UNRESERVE on free resources: reservations to one role
// merge, and part of one can be unreserved; resources in use cannot.
TEST_F(AllocatorRolesTest, OperatorReserveMergesAndUnreservesPartially) {
  allocator_->AddAgent(Ag(1), R("cpus:4;mem:1024"), {});
  Resources one = PushReservation(R("cpus:1"), Dynamic("role1"));
  ASSERT_TRUE(
      allocator_->UpdateAvailable(Ag(1), {*ReserveConversion(one)}).ok());
  ASSERT_TRUE(
      allocator_->UpdateAvailable(Ag(1), {*ReserveConversion(one)}).ok());
  Resources two = PushReservation(R("cpus:2"), Dynamic("role1"));
  EXPECT_EQ(allocator_->TotalResources(), R("cpus:2;mem:1024") + two);
  ASSERT_THAT(allocator_->TotalResources().items(), SizeIs(3));  // Merged.

  Resources half = PushReservation(R("cpus:0.5"), Dynamic("role1"));
  ASSERT_TRUE(
      allocator_->UpdateAvailable(Ag(1), {*UnreserveConversion(half)}).ok());
  EXPECT_EQ(allocator_->TotalResources(),
            R("cpus:2.5;mem:1024") +
                PushReservation(R("cpus:1.5"), Dynamic("role1")));

  // In use: framework1 (role1) holds everything now; nothing changes.
  EXPECT_THAT(AddFramework(1, Options({"role1"})), SizeIs(1));
  absl::Status status =
      allocator_->UpdateAvailable(Ag(1), {*UnreserveConversion(half)});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(allocator_->TotalResources(),
            R("cpus:2.5;mem:1024") +
                PushReservation(R("cpus:1.5"), Dynamic("role1")));
  EXPECT_EQ(allocator_->UpdateAvailable(Ag(9), {}).code(),
            absl::StatusCode::kNotFound);
}

// Mesos's ReservedDRF family: a role's unallocated reservations do not
// count in its share, and reserved resources reach the role's subroles.
TEST_F(AllocatorRolesTest, ReservationsGoToTheRoleAndItsSubroles) {
  EXPECT_THAT(AddFramework(1, Options({"eng/ml"})), IsEmpty());
  EXPECT_THAT(AddFramework(2, Options({"ads"})), IsEmpty());
  // ads (share 0, name first) may not use eng's reservation: eng/ml gets it.
  EXPECT_THAT(AddAgent(1, "cpus(eng):2;mem(eng):1024"),
              ElementsAre(Grant("framework1", "agent1", "eng/ml",
                                "cpus(eng):2;mem(eng):1024")));
  // Unreserved agent: ads (0) before eng (1).
  EXPECT_THAT(
      AddAgent(2, "cpus:2;mem:1024"),
      ElementsAre(Grant("framework2", "agent2", "ads", "cpus:2;mem:1024")));
}

// Bad input from the master's peers gets an error and changes nothing.
TEST_F(AllocatorRolesTest, BadInputIsRejectedWithoutChange) {
  EXPECT_THAT(AddFramework(1, Options({"role1", "role2"})), IsEmpty());
  std::vector<Allocation> got = AddAgent(1, "cpus:4;mem:1024");
  ASSERT_THAT(got, SizeIs(1));
  const Resources total = allocator_->TotalResources();
  const Resources allocated = allocator_->AllocatedResources();
  Resources reserved = PushReservation(R("cpus:1"), Dynamic("role1"));
  ResourceConversion reserve =
      *ReserveConversion(reserved.AllocatedTo("role1"));

  // Unknown framework or agent.
  EXPECT_EQ(allocator_
                ->UpdateAllocation(Fw(9), Ag(1),
                                   R("cpus:1").AllocatedTo("role1"), {reserve})
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(allocator_
                ->UpdateAllocation(Fw(1), Ag(9),
                                   R("cpus:1").AllocatedTo("role1"), {reserve})
                .code(),
            absl::StatusCode::kNotFound);
  // Offered resources without or with mixed allocation roles.
  EXPECT_EQ(
      allocator_->UpdateAllocation(Fw(1), Ag(1), R("cpus:1"), {reserve}).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(allocator_
                ->UpdateAllocation(Fw(1), Ag(1),
                                   R("cpus:1").AllocatedTo("role1") +
                                       R("mem:1").AllocatedTo("role2"),
                                   {reserve})
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A conversion that moves resources to another allocation role.
  ResourceConversion elsewhere{R("cpus:1").AllocatedTo("role1"),
                               reserved.AllocatedTo("role2")};
  EXPECT_EQ(allocator_
                ->UpdateAllocation(
                    Fw(1), Ag(1), R("cpus:1").AllocatedTo("role1"), {elsewhere})
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A conversion of something the offer does not hold.
  ResourceConversion more{
      R("cpus:8").AllocatedTo("role1"),
      PushReservation(R("cpus:8"), Dynamic("role1")).AllocatedTo("role1")};
  EXPECT_EQ(allocator_
                ->UpdateAllocation(Fw(1), Ag(1),
                                   R("cpus:1").AllocatedTo("role1"), {more})
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // Everything is offered: nothing is free to reserve.
  EXPECT_EQ(
      allocator_->UpdateAvailable(Ag(1), {*ReserveConversion(reserved)}).code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(allocator_->UpdateAgent(Ag(9), R("cpus:1"), std::nullopt));
  allocator_->UpdateFramework(Fw(9), Options({"role3"}));
  allocator_->UpdateWeights({{"role1", -1.0}, {"bad role", 2.0}});
  EXPECT_TRUE(allocator_->Weights().empty());
  Quota negative;
  negative.limits["cpus"] = Scalar::FromMillis(-1);
  EXPECT_FALSE(allocator_->UpdateQuota("role1", negative).ok());
  EXPECT_EQ(allocator_->TotalResources(), total);
  EXPECT_EQ(allocator_->AllocatedResources(), allocated);
  EXPECT_TRUE(allocator_->Quotas().empty());
}

// --- Metrics
// --------------------------------------------------------------------

// Mesos's OfferFilter test's metric, AllocationRunsMetric, ResourceMetrics
// and DominantShareMetrics.
TEST_F(AllocatorRolesTest, Metrics) {
  EXPECT_THAT(AddFramework(1, Options({"role"})), IsEmpty());
  std::vector<Allocation> got = AddAgent(1, "cpus:1;mem:512");
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_DOUBLE_EQ(Metric("allocator/mesos/allocation_runs"), 2);
  EXPECT_DOUBLE_EQ(Metric("allocator/mesos/allocation_run_ms/count"), 2);
  EXPECT_GE(Metric("allocator/mesos/allocation_run_ms/p99"), 0);
  EXPECT_DOUBLE_EQ(Metric("allocator/mesos/resources/cpus/total"), 1);
  EXPECT_DOUBLE_EQ(Metric("allocator/mesos/resources/mem/total"), 512);
  EXPECT_DOUBLE_EQ(Metric("allocator/mesos/resources/disk/total"), 0);
  EXPECT_DOUBLE_EQ(
      Metric("allocator/mesos/resources/cpus/offered_or_allocated"), 1);
  EXPECT_DOUBLE_EQ(Metric("allocator/mesos/roles/role/shares/dominant"), 1);

  const std::string filters = "allocator/mesos/offer_filters/roles/role/active";
  EXPECT_DOUBLE_EQ(Metric(filters), 0);
  Recover(got[0], 2 * options_.allocation_interval);
  EXPECT_DOUBLE_EQ(Metric(filters), 1);
  EXPECT_DOUBLE_EQ(
      Metric("allocator/mesos/resources/cpus/offered_or_allocated"), 0);
  EXPECT_DOUBLE_EQ(Metric("allocator/mesos/roles/role/shares/dominant"), 0);
  EXPECT_THAT(NextBatch(), IsEmpty());
  EXPECT_DOUBLE_EQ(Metric(filters), 1);
  EXPECT_THAT(NextBatch(), SizeIs(1));
  EXPECT_DOUBLE_EQ(Metric(filters), 0);
  EXPECT_DOUBLE_EQ(Metric("allocator/mesos/allocation_runs"), 4);
}

}  // namespace
}  // namespace allocator_test
}  // namespace agora
