// The "fits in offer" logic of agora-execute.
#include "cli/offer_matching.h"

#include <deque>

#include "common/resources_proto.h"
#include "gtest/gtest.h"

namespace agora::cli {
namespace {

Resources Parse(const std::string& text) {
  absl::StatusOr<Resources> r = Resources::Parse(text);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

mesos::v1::Offer OfferOf(const std::string& resources,
                         const std::string& role = "*") {
  mesos::v1::Offer offer;
  offer.mutable_id()->set_value("o-1");
  offer.mutable_framework_id()->set_value("fw");
  offer.mutable_agent_id()->set_value("agent-1");
  offer.set_hostname("host");
  *offer.mutable_resources() = ToProto(Parse(resources).AllocatedTo(role));
  offer.mutable_allocation_info()->set_role(role);
  return offer;
}

std::deque<mesos::v1::TaskInfo> Pending(int n) {
  std::deque<mesos::v1::TaskInfo> tasks;
  for (int i = 0; i < n; ++i) {
    mesos::v1::TaskInfo& t = tasks.emplace_back();
    t.set_name("t" + std::to_string(i));
    t.mutable_task_id()->set_value("t" + std::to_string(i));
  }
  return tasks;
}

TEST(PickResourcesTest, FitsOrNot) {
  Resources offer = Parse("cpus:2;mem:256");
  EXPECT_TRUE(PickResources(offer, Parse("cpus:1;mem:128"), "*"));
  EXPECT_TRUE(PickResources(offer, Parse("cpus:2;mem:256"), "*"));
  EXPECT_FALSE(PickResources(offer, Parse("cpus:2.001;mem:1"), "*"));
  EXPECT_FALSE(PickResources(offer, Parse("cpus:1;disk:1"), "*"));
}

TEST(PickResourcesTest, TakesTheRolesReservationFirstThenUnreserved) {
  // 1 cpu reserved to "web" plus 4 unreserved; the task needs 2.
  Resources offer = Parse("cpus(web):1;cpus:4;mem:512").AllocatedTo("web");
  std::optional<Resources> picked =
      PickResources(offer, Parse("cpus:2;mem:128"), "web");
  ASSERT_TRUE(picked);
  EXPECT_EQ(*picked, Parse("cpus(web):1;cpus:1;mem:128").AllocatedTo("web"));
}

TEST(PickResourcesTest, NeverUsesRevocableResources) {
  Resources offer = Parse("cpus:1;mem:128");
  Resource revocable = offer.items()[0];
  revocable.revocable = true;
  revocable.scalar = Scalar::FromDouble(8);
  Resources with_revocable = offer;
  with_revocable += revocable;
  EXPECT_FALSE(PickResources(with_revocable, Parse("cpus:2;mem:128"), "*"));
}

TEST(PickResourcesTest, PortsMustBeTheOnesAsked) {
  Resources offer = Parse("cpus:1;ports:[31000-31010]");
  EXPECT_TRUE(PickResources(offer, Parse("ports:[31005-31006]"), "*"));
  EXPECT_FALSE(PickResources(offer, Parse("ports:[31010-31011]"), "*"));
}

TEST(MatchOfferTest, LaunchesAsManyTasksAsFit) {
  // 3.5 cpus hold three 1-cpu tasks; memory would allow four.
  std::deque<mesos::v1::TaskInfo> pending = Pending(5);
  auto launch = MatchOffer(OfferOf("cpus:3.5;mem:1024"),
                           Parse("cpus:1;mem:128"), "*", &pending);
  ASSERT_TRUE(launch.ok()) << launch.status();
  ASSERT_EQ(launch->size(), 3u);
  EXPECT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending.front().task_id().value(), "t3");
  for (const auto& task : *launch) {
    EXPECT_EQ(task.agent_id().value(), "agent-1");
    // The task's resources are the offer's, allocation role included.
    absl::StatusOr<Resources> r = FromProto(task.resources());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, Parse("cpus:1;mem:128").AllocatedTo("*"));
  }
  EXPECT_EQ((*launch)[0].task_id().value(), "t0");
}

TEST(MatchOfferTest, OfferThatFitsNothingTakesNothing) {
  std::deque<mesos::v1::TaskInfo> pending = Pending(1);
  auto launch = MatchOffer(OfferOf("cpus:0.5;mem:1024"),
                           Parse("cpus:1;mem:128"), "*", &pending);
  ASSERT_TRUE(launch.ok());
  EXPECT_TRUE(launch->empty());
  EXPECT_EQ(pending.size(), 1u);
}

TEST(MatchOfferTest, MalformedOfferIsAnError) {
  mesos::v1::Offer offer = OfferOf("cpus:4;mem:1024");
  offer.mutable_resources(0)->mutable_scalar()->set_value(-1);
  std::deque<mesos::v1::TaskInfo> pending = Pending(1);
  auto launch = MatchOffer(offer, Parse("cpus:1"), "*", &pending);
  EXPECT_FALSE(launch.ok());
  EXPECT_EQ(pending.size(), 1u);
}

}  // namespace
}  // namespace agora::cli
