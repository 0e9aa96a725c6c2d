// Master tests of the allocator flags and of role weights and quotas: the
// master's UpdateWeights / UpdateQuota (what the operator calls dispatch
// to), their persistence in the registry and recovery.
#include <stdlib.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "common/http_server.h"
#include "gtest/gtest.h"
#include "master/master_test_fixture.h"

namespace agora::testing {
namespace {

Quota CpuQuota(double guarantee, double limit) {
  Quota q;
  if (guarantee > 0) q.guarantees["cpus"] = Scalar::FromDouble(guarantee);
  if (limit > 0) q.limits["cpus"] = Scalar::FromDouble(limit);
  return q;
}

class MasterRolesTest : public MasterFixture {
 protected:
  std::string TempDir() {
    std::string dir = ::testing::TempDir() + "/master-roles-XXXXXX";
    EXPECT_NE(::mkdtemp(dir.data()), nullptr);
    return dir;
  }
  MasterOptions LocalOptions(const std::string& dir) {
    MasterOptions options = TestMasterOptions();
    options.registry = RegistryKind::kLocal;
    options.work_dir = dir;
    return options;
  }
  absl::Status UpdateWeights(const std::map<std::string, double>& weights) {
    Master* master = server_->master();
    return *AwaitOnLoop<absl::Status>(
        server_->loop(),
        [master, weights](std::function<void(absl::Status)> done) {
          master->UpdateWeights(weights, std::move(done));
        });
  }
  std::map<std::string, double> Weights() {
    return *RunOnLoop<std::map<std::string, double>>(
        server_->loop(), [&] { return server_->master()->Weights(); });
  }
  absl::Status UpdateQuota(
      const std::vector<std::pair<std::string, Quota>>& configs, bool force) {
    Master* master = server_->master();
    return *AwaitOnLoop<absl::Status>(
        server_->loop(),
        [master, configs, force](std::function<void(absl::Status)> done) {
          master->UpdateQuota(configs, force, std::move(done));
        });
  }
  std::map<std::string, Quota> Quotas() {
    return *RunOnLoop<std::map<std::string, Quota>>(
        server_->loop(), [&] { return server_->master()->Quotas(); });
  }
  FakeScheduler* AddRoleFramework(const std::string& role) {
    mesos::v1::FrameworkInfo info = TestFrameworkInfo(role + "-fw");
    info.add_roles(role);
    info.add_capabilities()->set_type(
        mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
    return AddFramework(info);
  }
};

TEST(AllocatorFlagsTest, ParsesEveryFlagAndNamesTheBadOne) {
  MasterOptions options;
  AllocatorFlagValues values;
  values.weights = "ads=2,eng/ml=0.5";
  values.min_allocatable_resources = "cpus:1;mem:64|disk:10";
  values.fair_sharing_excluded_resource_names = "gpus, fpgas";
  values.filter_gpu_resources = false;
  values.allocator_agent_recovery_factor = 0.5;
  values.allocator_recovery_timeout = "30secs";
  ASSERT_TRUE(ApplyAllocatorFlags(values, &options).ok());
  EXPECT_EQ(options.weights,
            (std::map<std::string, double>{{"ads", 2}, {"eng/ml", 0.5}}));
  ASSERT_EQ(options.min_allocatable_resources.size(), 2u);
  EXPECT_EQ(options.min_allocatable_resources[0].GetScalar("mem"),
            Scalar::FromDouble(64));
  EXPECT_EQ(options.fair_sharing_excluded_resource_names,
            (std::set<std::string>{"gpus", "fpgas"}));
  EXPECT_FALSE(options.filter_gpu_resources);
  EXPECT_EQ(options.allocator_agent_recovery_factor, 0.5);
  EXPECT_EQ(options.allocator_recovery_timeout, absl::Seconds(30));

  // Defaults: Mesos's.
  MasterOptions defaults;
  ASSERT_TRUE(ApplyAllocatorFlags(AllocatorFlagValues(), &defaults).ok());
  EXPECT_TRUE(defaults.weights.empty());
  EXPECT_EQ(defaults.min_allocatable_resources,
            AllocatorOptions::DefaultMinAllocatable());
  EXPECT_TRUE(defaults.filter_gpu_resources);
  EXPECT_EQ(defaults.allocator_recovery_timeout, absl::Minutes(10));

  struct Bad {
    std::string flag;
    AllocatorFlagValues values;
  };
  std::vector<Bad> bad(6);
  bad[0] = {"--weights=", {}};
  bad[0].values.weights = "ads=-1";
  bad[1] = {"--weights=", {}};
  bad[1].values.weights = "a b=2";
  bad[2] = {"--min_allocatable_resources=", {}};
  bad[2].values.min_allocatable_resources = "cpus:x";
  bad[3] = {"--fair_sharing_excluded_resource_names=", {}};
  bad[3].values.fair_sharing_excluded_resource_names = "gpus,,";
  bad[4] = {"--allocator_agent_recovery_factor=", {}};
  bad[4].values.allocator_agent_recovery_factor = 1.5;
  bad[5] = {"--allocator_recovery_timeout=", {}};
  bad[5].values.allocator_recovery_timeout = "soon";
  for (const Bad& b : bad) {
    MasterOptions untouched;
    untouched.weights = {{"keep", 1}};
    absl::Status s = ApplyAllocatorFlags(b.values, &untouched);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << b.flag;
    EXPECT_TRUE(absl::StartsWith(s.message(), b.flag)) << s;
    EXPECT_EQ(untouched.weights.count("keep"), 1u) << b.flag;
  }
}

TEST_F(MasterRolesTest, MinAllocatableResourcesDecideWhatIsOffered) {
  MasterOptions options = TestMasterOptions();
  ASSERT_TRUE(ApplyAllocatorFlags(
                  [] {
                    AllocatorFlagValues v;
                    v.min_allocatable_resources = "mem:32";
                    return v;
                  }(),
                  &options)
                  .ok());
  StartMaster(options);
  FakeScheduler* framework = AddFramework();
  // 16 MB and a CPU is below the minimum "mem:32" (the default would offer
  // it for its CPU); the second agent's 64 MB is not.
  AddAgent("small", "cpus:1;mem:16");
  AddAgent("big", "cpus:1;mem:64");
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->hostname(), "big");
  EXPECT_DOUBLE_EQ(OfferedScalar(*offer, "mem"), 64);
}

TEST_F(MasterRolesTest, WeightsFlagIsPersistedOnceAndTheRegistryWins) {
  std::string dir = TempDir();
  MasterOptions options = LocalOptions(dir);
  options.weights = {{"ads", 2}};
  StartMaster(options);
  EXPECT_EQ(Weights(), (std::map<std::string, double>{{"ads", 2}}));
  ASSERT_TRUE(UpdateWeights({{"eng", 3}}).ok());
  EXPECT_EQ(Weights(), (std::map<std::string, double>{{"ads", 2}, {"eng", 3}}));

  // Bad weights change nothing.
  EXPECT_EQ(UpdateWeights({{"ops", 1}, {"eng", 0}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UpdateWeights({{"bad role", 1}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Weights(), (std::map<std::string, double>{{"ads", 2}, {"eng", 3}}));
  server_.reset();

  // A new master on the same registry: the stored weights, not the flag's.
  options.weights = {{"ads", 5}};
  StartMaster(options);
  EXPECT_EQ(Weights(), (std::map<std::string, double>{{"ads", 2}, {"eng", 3}}));
}

TEST_F(MasterRolesTest, QuotaUpdateIsAllOrNothingAndValidated) {
  StartMaster();
  AddAgent("host", "cpus:4;mem:1024");
  // A nested role, a guarantee above its limit, a role twice: refused, and
  // the valid config before them is not applied either.
  EXPECT_EQ(
      UpdateQuota({{"ads", CpuQuota(1, 2)}, {"eng/ml", CpuQuota(0, 1)}}, false)
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      UpdateQuota({{"ads", CpuQuota(1, 2)}, {"eng", CpuQuota(3, 2)}}, false)
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      UpdateQuota({{"ads", CpuQuota(1, 2)}, {"ads", CpuQuota(0, 3)}}, false)
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Quotas().empty());

  // Guarantees beyond the cluster's 4 CPUs need force.
  absl::Status overcommit = UpdateQuota({{"ads", CpuQuota(5, 0)}}, false);
  EXPECT_EQ(overcommit.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(overcommit.message(), "force")) << overcommit;
  EXPECT_TRUE(Quotas().empty());
  ASSERT_TRUE(UpdateQuota({{"ads", CpuQuota(5, 0)}}, true).ok());

  ASSERT_TRUE(
      UpdateQuota({{"ads", CpuQuota(1, 2)}, {"eng", CpuQuota(0, 1)}}, false)
          .ok());
  std::map<std::string, Quota> quotas = Quotas();
  ASSERT_EQ(quotas.size(), 2u);
  EXPECT_EQ(quotas["ads"], CpuQuota(1, 2));
  EXPECT_EQ(quotas["eng"], CpuQuota(0, 1));
  // The default quota removes a role's quota.
  ASSERT_TRUE(UpdateQuota({{"eng", Quota()}}, false).ok());
  EXPECT_EQ(Quotas().count("eng"), 0u);
}

TEST_F(MasterRolesTest, LoweringALimitNeedsForceAndRescindsOffers) {
  StartMaster();
  FakeAgent* agent = AddAgent("host", "cpus:4;mem:1024");
  FakeScheduler* framework = AddRoleFramework("ads");
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  ASSERT_TRUE(framework
                  ->Send(framework->Accept(
                      {offer->id().value()},
                      {CommandTask("t1", agent->agent_id(), "cpus:2;mem:64")}))
                  .ok());
  auto rest = framework->TakeOffer();
  ASSERT_TRUE(rest.has_value());
  ASSERT_DOUBLE_EQ(OfferedScalar(*rest, "cpus"), 2);

  // The role uses 2 CPUs (its offer of 2 more does not count): a limit of
  // 3 is fine without force, 1 is not.
  ASSERT_TRUE(UpdateQuota({{"ads", CpuQuota(0, 4)}}, false).ok());
  absl::Status below = UpdateQuota({{"ads", CpuQuota(0, 1)}}, false);
  EXPECT_EQ(below.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(below.message(), "force")) << below;
  EXPECT_EQ(Quotas()["ads"], CpuQuota(0, 4));
  EXPECT_FALSE(framework->Take(Event::RESCIND, absl::Milliseconds(1)));

  // A limit of 3 within consumption: the offer (2 + 2 > 3) is rescinded.
  ASSERT_TRUE(UpdateQuota({{"ads", CpuQuota(0, 3)}}, false).ok());
  auto rescind = framework->Take(Event::RESCIND);
  ASSERT_TRUE(rescind.has_value());
  EXPECT_EQ(rescind->rescind().offer_id().value(), rest->id().value());

  // Forced below consumption: accepted.
  ASSERT_TRUE(UpdateQuota({{"ads", CpuQuota(0, 1)}}, true).ok());
  EXPECT_EQ(Quotas()["ads"], CpuQuota(0, 1));
}

TEST_F(MasterRolesTest, QuotasAreRecoveredAndOffersWaitForAgents) {
  std::string dir = TempDir();
  MasterOptions options = LocalOptions(dir);
  StartMaster(options);
  FakeAgent* first = AddAgent("one", "cpus:2;mem:1024");
  AddAgent("two", "cpus:2;mem:1024");
  ASSERT_TRUE(UpdateQuota({{"ads", CpuQuota(1, 3)}}, false).ok());
  const std::string first_id = first->agent_id();
  server_.reset();
  agents_.clear();

  // A new master recovers the quota. Of two known agents one comes back:
  // below 80 %, so offers wait for the recovery timeout.
  options.allocator_recovery_timeout = absl::Milliseconds(300);
  StartMaster(options);
  EXPECT_EQ(Quotas()["ads"], CpuQuota(1, 3));
  FakeScheduler* framework = AddRoleFramework("ads");
  agents_.push_back(std::make_unique<FakeAgent>(server_->grpc_address()));
  internal::ReregisterAgent message;
  *message.mutable_agent_info() = TestAgentInfo("one", "cpus:2;mem:1024");
  message.mutable_agent_info()->mutable_id()->set_value(first_id);
  ASSERT_TRUE(agents_.back()->Reregister(message).ok());
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->agent_id().value(), first_id);
}

}  // namespace
}  // namespace agora::testing
