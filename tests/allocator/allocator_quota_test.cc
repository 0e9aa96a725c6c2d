// Quota: Mesos 1.11's guarantees (first stage, headroom) and limits
// (chopping), in the scenarios of Mesos's hierarchical allocator tests, with
// the shares and the headroom written out.
//
//   consumed(role)      = reservations + offered/allocated unreserved
//                         non-revocable scalars (role and subroles)
//   required headroom   = sum over roles of max(0, guarantee - consumed)
//   available headroom  = unallocated unreserved non-revocable resources
//   a grant's unreserved scalars are cut to (limit - consumed) and to
//   (available - required headroom).
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

using AllocatorQuotaTest = AllocatorTest;

const char kQuotaRole[] = "quota-role";
const char kNoQuotaRole[] = "no-quota-role";

// Mesos's QuotaProvidesGuarantee.
TEST_F(AllocatorQuotaTest, QuotaProvidesGuarantee) {
  EXPECT_THAT(AddFramework(1, {kQuotaRole}), IsEmpty());
  SetQuota(kQuotaRole, MakeQuota("cpus:2;mem:1024"));
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());

  // Stage 1: quota-role lacks cpus:2;mem:1024, so it is served first.
  EXPECT_THAT(
      AddAgent(1, "cpus:1;mem:512"),
      ElementsAre(Grant("framework1", "agent1", kQuotaRole, "cpus:1;mem:512")));
  // Total cpus 1, mem 512: quota-role share 1, no-quota-role 0.
  std::vector<Allocation> second = AddAgent(2, "cpus:1;mem:512");
  EXPECT_THAT(second, ElementsAre(Grant("framework1", "agent2", kQuotaRole,
                                        "cpus:1;mem:512")));
  // Total cpus 2, mem 1024: quota-role share 1 [quota cpus:2;mem:1024].

  // framework1 declines agent2 for two intervals. quota-role now consumes
  // cpus:1;mem:512: required headroom cpus:1;mem:512, available headroom
  // cpus:1;mem:512, so nothing may go to framework2 (share 0) either.
  Recover(second[0], absl::Seconds(2));
  EXPECT_NEAR(allocator_->RoleShare(kQuotaRole), 0.5, kEps);
  EXPECT_THAT(NextBatch(), IsEmpty());
  // The filter expires: agent2 goes back to the quota role.
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework1", "agent2", kQuotaRole,
                                             "cpus:1;mem:512")));
  EXPECT_NEAR(allocator_->RoleShare(kQuotaRole), 1.0, kEps);
}

// Mesos's QuotaProvidesLimit, on "*" (MESOS-3938).
TEST_F(AllocatorQuotaTest, QuotaProvidesLimit) {
  EXPECT_THAT(AddFramework(1, {"*"}), IsEmpty());
  SetQuota("*", MakeQuota("", "cpus:0;mem:0;disk:0"));
  // A zero limit: "*" gets nothing.
  EXPECT_THAT(AddAgent(1, "cpus:2;mem:1024;disk:1024"), IsEmpty());
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}),
              ElementsAre(Grant("framework2", "agent1", kNoQuotaRole,
                                "cpus:2;mem:1024;disk:1024")));

  // Raised limit: agent2 is chopped. "*" (share 0) comes first and gets
  // its limit; the rest goes to no-quota-role (share 0.5 of 4 cpus).
  SetQuota("*", MakeQuota("", "cpus:1;mem:512;disk:512"));
  EXPECT_THAT(
      AddAgent(2, "cpus:2;mem:1024;disk:1024"),
      ElementsAre(Grant("framework1", "agent2", "*", "cpus:1;mem:512;disk:512"),
                  Grant("framework2", "agent2", kNoQuotaRole,
                        "cpus:1;mem:512;disk:512")));
  // Consumption of "*" is at its limit: nothing more in later cycles.
  EXPECT_THAT(NextBatch(), IsEmpty());
  EXPECT_EQ(allocator_->QuotaConsumed("*"),
            QuotaMap("cpus:1;mem:512;disk:512"));
}

// Mesos's DRFWithQuota, with its metrics.
TEST_F(AllocatorQuotaTest, DrfWithQuota) {
  SetQuota(kQuotaRole, MakeQuota("cpus:0.25;mem:128"));
  EXPECT_THAT(AddFramework(1, {kQuotaRole}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  const std::string base = "allocator/mesos/quota/roles/quota-role/resources/";
  EXPECT_DOUBLE_EQ(Metric(base + "cpus/guarantee"), 0.25);
  EXPECT_DOUBLE_EQ(Metric(base + "cpus/limit"), 0.25);
  EXPECT_DOUBLE_EQ(Metric(base + "mem/guarantee"), 128);
  EXPECT_DOUBLE_EQ(Metric(base + "mem/limit"), 128);

  // framework1 already uses its whole quota on agent1. All quotas are met,
  // so the rest of agent1 goes by DRF to framework2 (share 0).
  EXPECT_THAT(
      AddAgent(1, "cpus:1;mem:512",
               {{Fw(1), R("cpus:0.25;mem:128").AllocatedTo(kQuotaRole)}}),
      ElementsAre(
          Grant("framework2", "agent1", kNoQuotaRole, "cpus:0.75;mem:384")));
  EXPECT_DOUBLE_EQ(Metric(base + "cpus/offered_or_allocated"), 0.25);
  EXPECT_DOUBLE_EQ(Metric(base + "mem/offered_or_allocated"), 128);
  EXPECT_FALSE(HasMetric(base + "disk/offered_or_allocated"));
  // Total cpus 1, mem 512: quota-role 0.25, no-quota-role 0.75.
  EXPECT_NEAR(allocator_->RoleShare(kQuotaRole), 0.25, kEps);
  EXPECT_NEAR(allocator_->RoleShare(kNoQuotaRole), 0.75, kEps);

  // Total cpus 2, mem 1024: quota-role 0.125 < no-quota-role 0.375, but its
  // limit leaves it nothing, so the whole agent goes to framework2.
  EXPECT_THAT(AddAgent(2, "cpus:1;mem:512"),
              ElementsAre(Grant("framework2", "agent2", kNoQuotaRole,
                                "cpus:1;mem:512")));
  EXPECT_NEAR(allocator_->RoleShare(kQuotaRole), 0.125, kEps);
  EXPECT_NEAR(allocator_->RoleShare(kNoQuotaRole), 0.875, kEps);
}

// Mesos's QuotaAgainstStarvation: a framework that keeps declining with
// zero filters keeps getting agent2 until the starving role has quota.
TEST_F(AllocatorQuotaTest, QuotaAgainstStarvation) {
  EXPECT_THAT(AddFramework(1, {kQuotaRole}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus:1;mem:512",
                       {{Fw(1), R("cpus:1;mem:512").AllocatedTo(kQuotaRole)}}),
              IsEmpty());
  // Total cpus 1: quota-role 1, no-quota-role 0.
  std::vector<Allocation> got = AddAgent(2, "cpus:1;mem:512");
  EXPECT_THAT(got, ElementsAre(Grant("framework2", "agent2", kNoQuotaRole,
                                     "cpus:1;mem:512")));
  // Total cpus 2: both 0.5. A decline with refuse 0 installs no filter and
  // no-quota-role drops back to 0, below quota-role's 0.5.
  Recover(got[0], absl::ZeroDuration());
  got = NextBatch();
  EXPECT_THAT(got, ElementsAre(Grant("framework2", "agent2", kNoQuotaRole,
                                     "cpus:1;mem:512")));
  Recover(got[0], absl::ZeroDuration());

  // Quota cpus:2;mem:1024 for the starving role: stage 1 serves it first.
  SetQuota(kQuotaRole, MakeQuota("cpus:2;mem:1024"));
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework1", "agent2", kQuotaRole,
                                             "cpus:1;mem:512")));
  EXPECT_NEAR(allocator_->RoleShare(kQuotaRole), 1.0, kEps);
  EXPECT_NEAR(allocator_->RoleShare(kNoQuotaRole), 0.0, kEps);
}

// A guarantee is held back even for a role without frameworks (Mesos's
// QuotaAbsentFrameworkWholeAgent family): only the surplus over the
// required headroom goes to other roles.
TEST_F(AllocatorQuotaTest, HeadroomForRoleWithoutFrameworks) {
  SetQuota(kQuotaRole, MakeQuota("cpus:2;mem:1024"));
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  // Required headroom cpus:2;mem:1024 = available: nothing for framework2.
  EXPECT_THAT(AddAgent(1, "cpus:2;mem:1024"), IsEmpty());
  // Available cpus:3;mem:1536, surplus cpus:1;mem:512: the event-triggered
  // cycle over agent2 gives framework2 all of agent2.
  EXPECT_THAT(AddAgent(2, "cpus:1;mem:512"),
              ElementsAre(Grant("framework2", "agent2", kNoQuotaRole,
                                "cpus:1;mem:512")));
  // Agent1 stays held back in the next batch (surplus 0).
  EXPECT_THAT(NextBatch(), IsEmpty());
  // Removing the quota frees it.
  SetQuota(kQuotaRole, Quota());
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework2", "agent1",
                                             kNoQuotaRole, "cpus:2;mem:1024")));
}

// A held-back agent is chopped, not skipped: with a surplus smaller than the
// agent, the other role gets exactly the surplus.
TEST_F(AllocatorQuotaTest, HeadroomChopsAnAgent) {
  SetQuota(kQuotaRole, MakeQuota("cpus:1;mem:256", ""));
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  // Available cpus:4;mem:1024, required cpus:1;mem:256: surplus
  // cpus:3;mem:768 of the agent goes to framework2.
  EXPECT_THAT(AddAgent(1, "cpus:4;mem:1024"),
              ElementsAre(Grant("framework2", "agent1", kNoQuotaRole,
                                "cpus:3;mem:768")));
  // The held-back cpus:1;mem:256 go to the quota role once it has a
  // framework (stage 1, no limit: it may burst, but nothing else is left).
  EXPECT_THAT(
      AddFramework(1, {kQuotaRole}),
      ElementsAre(Grant("framework1", "agent1", kQuotaRole, "cpus:1;mem:256")));
}

// Stage 1 chops an agent to the unmet guarantee; with limit = guarantee
// nothing more is added, and the rest goes to others in stage 2.
TEST_F(AllocatorQuotaTest, GuaranteeChopsAnAgent) {
  SetQuota(kQuotaRole, MakeQuota("cpus:0.5;mem:200"));
  EXPECT_THAT(AddFramework(1, {kQuotaRole}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus:1;mem:512;ports:[31000-31009]"),
              ElementsAre(Grant("framework1", "agent1", kQuotaRole,
                                "cpus:0.5;mem:200;ports:[31000-31009]"),
                          Grant("framework2", "agent1", kNoQuotaRole,
                                "cpus:0.5;mem:312")));
}

// Mesos's MultipleFrameworksInRoleWithQuota: stage 1 goes through the
// quota role's frameworks in DRF order, past a filtered one.
TEST_F(AllocatorQuotaTest, MultipleFrameworksInRoleWithQuota) {
  EXPECT_THAT(AddFramework(1, {kQuotaRole}), IsEmpty());
  SetQuota(kQuotaRole, MakeQuota("cpus:4;mem:2048"));
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  EXPECT_THAT(
      AddAgent(1, "cpus:1;mem:512"),
      ElementsAre(Grant("framework1", "agent1", kQuotaRole, "cpus:1;mem:512")));
  EXPECT_THAT(AddFramework(3, {kQuotaRole}), IsEmpty());
  // Total cpus 3: framework1 1/3, framework3 0 within quota-role.
  EXPECT_THAT(AddAgent(2, "cpus:2;mem:1024"),
              ElementsAre(Grant("framework3", "agent2", kQuotaRole,
                                "cpus:2;mem:1024")));
  // Total cpus 4: framework1 1/4 < framework3 2/4.
  std::vector<Allocation> got = AddAgent(3, "cpus:1;mem:512");
  EXPECT_THAT(got, ElementsAre(Grant("framework1", "agent3", kQuotaRole,
                                     "cpus:1;mem:512")));
  // framework1 declines for 5 s: the guarantee still lacks cpus:1;mem:512,
  // and framework3 gets agent3 in the next cycle.
  Recover(got[0], absl::Seconds(5));
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework3", "agent3", kQuotaRole,
                                             "cpus:1;mem:512")));
}

// Mesos's QuotaWithAncestorReservations: a subrole gets its ancestor's
// reservation; the headroom counts only unreserved resources.
TEST_F(AllocatorQuotaTest, QuotaWithAncestorReservations) {
  SetQuota(kQuotaRole, MakeQuota("cpus:1;mem:1024"));
  EXPECT_THAT(AddAgent(1, "cpus(a):1;mem(a):1024"), IsEmpty());
  EXPECT_THAT(AddFramework(1, {"a/b"}),
              ElementsAre(Grant("framework1", "agent1", "a/b",
                                "cpus(a):1;mem(a):1024")));
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  // Required headroom cpus:1;mem:1024 takes all of agent2.
  EXPECT_THAT(AddAgent(2, "cpus:1;mem:1024"), IsEmpty());
  // With agent3 there is a surplus of one agent.
  EXPECT_THAT(AddAgent(3, "cpus:1;mem:1024"),
              ElementsAre(Grant("framework2", "agent3", kNoQuotaRole,
                                "cpus:1;mem:1024")));
}

// Mesos's QuotaRoleAllocateNonQuotaResource: resources the quota does not
// name come along with the guaranteed ones, subject to the headroom.
TEST_F(AllocatorQuotaTest, QuotaRoleAllocateNonQuotaResource) {
  SetQuota("quota-role-1", MakeQuota("cpus:2"));
  EXPECT_THAT(AddAgent(1, "cpus:1;mem:1024;ports:[31000-32000]"), IsEmpty());
  // Stage 1: cpus:1 toward the guarantee; mem (no limit, within the
  // surplus mem:1024) and the ports come along.
  EXPECT_THAT(AddFramework(1, {"quota-role-1"}),
              ElementsAre(Grant("framework1", "agent1", "quota-role-1",
                                "cpus:1;mem:1024;ports:[31000-32000]")));

  // quota-role-2 (no frameworks) is guaranteed mem:1024. Required headroom
  // cpus:1 (role 1) + mem:1024 (role 2) = all of agent2: role 1 gets its
  // cpus:1 and the ports, not the mem.
  SetQuota("quota-role-2", MakeQuota("mem:1024"));
  EXPECT_THAT(AddAgent(2, "cpus:1;mem:1024;ports:[31000-32000]"),
              ElementsAre(Grant("framework1", "agent2", "quota-role-1",
                                "cpus:1;ports:[31000-32000]")));

  // Role 1 is at its cpus limit; with agent3 the surplus is
  // cpus:1;mem:1024, so it gets agent3's mem and ports only.
  EXPECT_THAT(AddAgent(3, "cpus:1;mem:1024;ports:[31000-32000]"),
              ElementsAre(Grant("framework1", "agent3", "quota-role-1",
                                "mem:1024;ports:[31000-32000]")));
}

// Without a limit, a role served in stage 1 bursts past its guarantee up to
// what the headroom allows: here the whole agent.
TEST_F(AllocatorQuotaTest, GuaranteeWithoutLimitBursts) {
  SetQuota(kQuotaRole, MakeQuota("cpus:0.5;mem:200", ""));
  EXPECT_THAT(AddFramework(1, {kQuotaRole}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  EXPECT_THAT(
      AddAgent(1, "cpus:1;mem:512"),
      ElementsAre(Grant("framework1", "agent1", kQuotaRole, "cpus:1;mem:512")));
}

// Reservations count against quota whether allocated or not (Mesos's
// QuotaSetAsideReservedResources family): a guarantee met by reservations
// needs no headroom, so unreserved agents go to other roles.
TEST_F(AllocatorQuotaTest, ReservationsCountAsConsumedQuota) {
  SetQuota(kQuotaRole, MakeQuota("cpus:2;mem:1024"));
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  EXPECT_THAT(AddAgent(1, "cpus(quota-role):2;mem(quota-role):1024"),
              IsEmpty());
  EXPECT_EQ(allocator_->QuotaConsumed(kQuotaRole), QuotaMap("cpus:2;mem:1024"));
  EXPECT_THAT(AddAgent(2, "cpus:2;mem:1024"),
              ElementsAre(Grant("framework2", "agent2", kNoQuotaRole,
                                "cpus:2;mem:1024")));
}

// Limits cap unreserved resources only: a role at its limit still gets its
// own reservations.
TEST_F(AllocatorQuotaTest, LimitDoesNotHoldBackReservations) {
  SetQuota(kQuotaRole, MakeQuota("", "cpus:1;mem:512"));
  EXPECT_THAT(AddFramework(1, {kQuotaRole}), IsEmpty());
  // Consumed cpus:2;mem:1024 (the reservation) is above the limit; the
  // reserved part is still offered, the unreserved part is not.
  EXPECT_THAT(
      AddAgent(1, "cpus(quota-role):2;mem(quota-role):1024;cpus:1;mem:512"),
      ElementsAre(Grant("framework1", "agent1", kQuotaRole,
                        "cpus(quota-role):2;mem(quota-role):1024")));
}

// Mesos's LargeAndSmallQuota benchmark in small: five roles with half an
// agent of quota, one with two agents, six agents. One cycle meets every
// guarantee exactly (limits = guarantees), chopping agents; the rest is
// not offered, and the next cycle offers nothing.
TEST_F(AllocatorQuotaTest, LargeAndSmallQuota) {
  const std::vector<std::string> roles = {"large",  "small0", "small1",
                                          "small2", "small3", "small4"};
  for (int i = 0; i < 6; ++i) {
    allocator_->AddFramework(Fw(i + 1), {roles[i]}, {}, /*active=*/true);
    SetQuota(roles[i], MakeQuota(i == 0 ? "cpus:4;mem:4096;disk:4096"
                                        : "cpus:1;mem:1024;disk:1024"));
  }
  for (int i = 1; i <= 6; ++i) {
    allocator_->AddAgent(Ag(i), R("cpus:2;mem:2048;disk:2048"), {});
  }
  std::vector<Allocation> got = Allocate();
  // Agent by agent in stage 1 (shares in twelfths of the cpus):
  //   agent1: large (0, first by name) takes it all, large = 2/12;
  //   agent2: small0, small1 (0) take half each;
  //   agent3: small2, small3;
  //   agent4: small4, then large (2/12) the other half, large = 3/12;
  //   agent5: large takes the cpus:1 it still lacks; its limit stops it.
  // Stage 2: every role is at its limit; agent5's half and agent6 stay.
  EXPECT_THAT(got, SizeIs(8));
  EXPECT_EQ(allocator_->QuotaConsumed("large"),
            QuotaMap("cpus:4;mem:4096;disk:4096"));
  for (int i = 1; i < 6; ++i) {
    EXPECT_EQ(allocator_->QuotaConsumed(roles[i]),
              QuotaMap("cpus:1;mem:1024;disk:1024"))
        << roles[i];
  }
  EXPECT_EQ(allocator_->AllocatedResources().GetScalar("cpus"),
            Scalar::FromDouble(9));
  EXPECT_THAT(NextBatch(), IsEmpty());
}

TEST_F(AllocatorQuotaTest, OnlyTopLevelRolesHaveQuota) {
  EXPECT_FALSE(allocator_->UpdateQuota("eng/ml", MakeQuota("cpus:1")).ok());
  EXPECT_FALSE(allocator_->UpdateQuota("", MakeQuota("cpus:1")).ok());
  EXPECT_FALSE(
      allocator_->UpdateQuota("eng", MakeQuota("cpus:2", "cpus:1")).ok());
  EXPECT_TRUE(allocator_->Quotas().empty());
  // Validation alone changes nothing (UPDATE_QUOTA is all-or-nothing).
  EXPECT_TRUE(Allocator::ValidateQuota("eng", MakeQuota("cpus:1")).ok());
  EXPECT_FALSE(Allocator::ValidateQuota("eng/ml", MakeQuota("cpus:1")).ok());
  EXPECT_TRUE(allocator_->Quotas().empty());
  SetQuota("eng", MakeQuota("cpus:1"));
  EXPECT_EQ(allocator_->Quotas(),
            (std::map<std::string, Quota>{{"eng", MakeQuota("cpus:1")}}));
  SetQuota("eng", Quota());
  EXPECT_TRUE(allocator_->Quotas().empty());
  EXPECT_FALSE(
      HasMetric("allocator/mesos/quota/roles/eng/resources/cpus/limit"));
}

// Subroles' allocations count against their top-level role's guarantee.
TEST_F(AllocatorQuotaTest, SubroleAllocationCountsForTheTopLevelRole) {
  SetQuota("eng", MakeQuota("cpus:1;mem:512", ""));
  EXPECT_THAT(AddFramework(1, {"eng/ml"}), IsEmpty());
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  // eng has no framework of its own: its guarantee is held back in stage 2
  // for everyone, eng/ml included (only eng itself is served in stage 1).
  // eng/ml comes first (name order at equal shares) and gets the surplus.
  EXPECT_THAT(
      AddAgent(1, "cpus:2;mem:1024"),
      ElementsAre(Grant("framework1", "agent1", "eng/ml", "cpus:1;mem:512")));
  // That consumption met eng's guarantee: no more headroom to keep.
  EXPECT_EQ(allocator_->QuotaConsumed("eng"), QuotaMap("cpus:1;mem:512"));
  EXPECT_THAT(NextBatch(), ElementsAre(Grant("framework2", "agent1",
                                             kNoQuotaRole, "cpus:1;mem:512")));
}

// Master failover with quota: allocation pauses until 80% of the expected
// agents are back.
TEST_F(AllocatorQuotaTest, RecoveryPausesUntilAgentsReturn) {
  allocator_->Recover(5, {{kQuotaRole, MakeQuota("cpus:1")}});
  EXPECT_TRUE(allocator_->paused());
  EXPECT_THAT(AddFramework(2, {kNoQuotaRole}), IsEmpty());
  for (int i = 1; i <= 3; ++i) {
    EXPECT_THAT(AddAgent(i, "cpus:2;mem:1024"), IsEmpty());
  }
  EXPECT_EQ(allocator_->allocation_runs(), 0u);
  EXPECT_TRUE(allocator_->paused());
  // The fourth of five (80%) resumes allocation.
  AddAgent(4, "cpus:2;mem:1024");
  EXPECT_FALSE(allocator_->paused());
  EXPECT_EQ(allocator_->allocation_runs(), 1u);

  // Without quotas there is nothing to wait for.
  Initialize();
  allocator_->Recover(5, {});
  EXPECT_FALSE(allocator_->paused());
}

}  // namespace
}  // namespace allocator_test
}  // namespace agora
