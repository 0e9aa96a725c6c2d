// Master tests of reservations: RESERVE / UNRESERVE offer operations in
// ACCEPT, the agent's checkpoint of its dynamic reservations, and operator
// reserve / unreserve called on the master directly.
#include <string>

#include "common/http_server.h"
#include "common/reservations.h"
#include "common/resources_proto.h"
#include "gtest/gtest.h"
#include "master/master_test_fixture.h"

namespace agora::testing {
namespace {

using mesos::v1::Offer;

class MasterReservationTest : public MasterFixture {
 protected:
  // `text` (unreserved, Mesos text form) dynamically reserved to `role` by
  // `principal`, allocated to `allocation_role` unless empty.
  static ProtoResources Dynamic(const std::string& text,
                                const std::string& role,
                                const std::string& principal,
                                const std::string& allocation_role) {
    absl::StatusOr<Resources> parsed = Resources::Parse(text);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    Reservation reservation;
    reservation.type = Reservation::Type::kDynamic;
    reservation.role = role;
    reservation.principal = principal;
    return ToProto(
        PushReservation(*parsed, reservation).AllocatedTo(allocation_role));
  }

  static Offer::Operation Reserve(const ProtoResources& resources) {
    Offer::Operation op;
    op.set_type(Offer::Operation::RESERVE);
    *op.mutable_reserve()->mutable_resources() = resources;
    return op;
  }
  static Offer::Operation Unreserve(const ProtoResources& resources) {
    Offer::Operation op;
    op.set_type(Offer::Operation::UNRESERVE);
    *op.mutable_unreserve()->mutable_resources() = resources;
    return op;
  }

  // ACCEPT of `offer` with `operations` (in order) and refuse_seconds 0.
  grpc::Status AcceptWith(FakeScheduler* framework, const Offer& offer,
                          const std::vector<Offer::Operation>& operations) {
    Call call = framework->Accept({offer.id().value()}, {});
    for (const Offer::Operation& op : operations) {
      *call.mutable_accept()->add_operations() = op;
    }
    return framework->Send(call);
  }

  FakeScheduler* AddAdsFramework(const std::string& principal = "ops") {
    mesos::v1::FrameworkInfo info = TestFrameworkInfo("ads-fw");
    info.add_roles("ads");
    info.add_capabilities()->set_type(
        mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
    if (!principal.empty()) info.set_principal(principal);
    return AddFramework(info);
  }

  // Scalar `name` of `offer` reserved (top of stack) to `role` with a
  // reservation of `type`; unreserved ones with role "*".
  static double Scalar(const Offer& offer, const std::string& name,
                       const std::string& role) {
    double total = 0;
    for (const auto& r : offer.resources()) {
      if (r.name() != name) continue;
      std::string top = r.reservations_size() == 0
                            ? "*"
                            : r.reservations(r.reservations_size() - 1).role();
      if (top == role) total += r.scalar().value();
    }
    return total;
  }

  nlohmann::json AgentState(const std::string& id) {
    nlohmann::json state = State();
    for (const auto& agent : state["slaves"]) {
      if (agent["id"] == id) return agent;
    }
    ADD_FAILURE() << "no agent " << id << " in " << state.dump();
    return nlohmann::json();
  }
};

TEST_F(MasterReservationTest, ReserveThenLaunchInOneAcceptUsesTheReservation) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddAdsFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->allocation_info().role(), "ads");

  // The task needs the reserved resources: only an in-order application of
  // the RESERVE makes them available to the LAUNCH.
  mesos::v1::TaskInfo task =
      CommandTask("t1", agent->agent_id(), "cpus:1;mem:128");
  *task.mutable_resources() = Dynamic("cpus:1;mem:128", "ads", "ops", "ads");
  Offer::Operation launch;
  launch.set_type(Offer::Operation::LAUNCH);
  *launch.mutable_launch()->add_task_infos() = task;
  ASSERT_TRUE(
      AcceptWith(
          framework, *offer,
          {Reserve(Dynamic("cpus:2;mem:512", "ads", "ops", "ads")), launch})
          .ok());

  // The agent is told to checkpoint first, then to run the task.
  auto checkpoint = agent->Take(FakeAgent::MasterMessage::kCheckpointResources);
  ASSERT_TRUE(checkpoint.has_value());
  absl::StatusOr<Resources> checkpointed =
      FromProto(checkpoint->checkpoint_resources().resources());
  ASSERT_TRUE(checkpointed.ok());
  EXPECT_EQ(*checkpointed,
            *FromProto(Dynamic("cpus:2;mem:512", "ads", "ops", "")));
  auto run = agent->Take(FakeAgent::MasterMessage::kRunTask);
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->run_task().task().task_id().value(), "t1");
  const auto& used = run->run_task().task().resources(0);
  ASSERT_EQ(used.reservations_size(), 1);
  EXPECT_EQ(used.reservations(0).type(),
            mesos::v1::Resource::ReservationInfo::DYNAMIC);

  // The leftovers come back reserved: 1 reserved CPU, 2 unreserved.
  auto rest = framework->TakeOffer();
  ASSERT_TRUE(rest.has_value());
  EXPECT_DOUBLE_EQ(Scalar(*rest, "cpus", "ads"), 1);
  EXPECT_DOUBLE_EQ(Scalar(*rest, "cpus", "*"), 2);
  EXPECT_DOUBLE_EQ(Scalar(*rest, "mem", "ads"), 384);
  for (const auto& r : rest->resources()) {
    if (r.reservations_size() == 0) continue;
    EXPECT_EQ(r.reservations(0).type(),
              mesos::v1::Resource::ReservationInfo::DYNAMIC);
    EXPECT_EQ(r.reservations(0).principal(), "ops");
  }

  nlohmann::json state = AgentState(agent->agent_id());
  EXPECT_EQ(state["reserved_resources"]["ads"]["cpus"], 2.0);
  EXPECT_EQ(state["reserved_resources"]["ads"]["mem"], 512.0);
  EXPECT_EQ(state["unreserved_resources"]["cpus"], 2.0);
  EXPECT_EQ(
      state["reserved_resources_full"]["ads"][0]["reservations"][0]["type"],
      "DYNAMIC");
  EXPECT_EQ(state["reserved_resources_full"]["ads"][0]["reservations"][0]
                 ["principal"],
            "ops");
  EXPECT_EQ(state["resources"]["cpus"], 4.0);
}

TEST_F(MasterReservationTest, InvalidReservesAreDroppedAndChangeNothing) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddAdsFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());

  // Reservation role differs from the allocation role; the principal is
  // not the framework's; a static reservation; more than the offer holds.
  ASSERT_TRUE(
      AcceptWith(framework, *offer,
                 {Reserve(Dynamic("cpus:1", "eng", "ops", "ads")),
                  Reserve(Dynamic("cpus:1", "ads", "mallory", "ads")),
                  Reserve(Dynamic("cpus:1", "ads", "", "ads")),
                  Reserve(Dynamic("cpus:5", "ads", "ops", "ads")),
                  Reserve(ToProto(
                      Resources::Parse("cpus(ads):1")->AllocatedTo("ads")))})
          .ok());
  auto rest = framework->TakeOffer();
  ASSERT_TRUE(rest.has_value());
  EXPECT_DOUBLE_EQ(Scalar(*rest, "cpus", "*"), 4);
  EXPECT_DOUBLE_EQ(Scalar(*rest, "cpus", "ads"), 0);
  nlohmann::json state = AgentState(agent->agent_id());
  EXPECT_TRUE(state["reserved_resources"].empty()) << state.dump();
  for (const auto& m : agent->All()) {
    EXPECT_NE(m.message_case(), FakeAgent::MasterMessage::kCheckpointResources);
  }
}

TEST_F(MasterReservationTest, PartialUnreserveLeavesTheRestReserved) {
  StartMaster();
  FakeAgent* agent = AddAgent();
  FakeScheduler* framework = AddAdsFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  ASSERT_TRUE(AcceptWith(framework, *offer,
                         {Reserve(Dynamic("cpus:2", "ads", "ops", "ads"))})
                  .ok());
  ASSERT_TRUE(
      agent->Take(FakeAgent::MasterMessage::kCheckpointResources).has_value());
  auto reserved = framework->TakeOffer();
  ASSERT_TRUE(reserved.has_value());
  ASSERT_DOUBLE_EQ(Scalar(*reserved, "cpus", "ads"), 2);

  // Unreserving more than the offer's reservation is dropped; 1 of 2 works.
  ASSERT_TRUE(AcceptWith(framework, *reserved,
                         {Unreserve(Dynamic("cpus:3", "ads", "ops", "ads")),
                          Unreserve(Dynamic("cpus:1", "ads", "ops", "ads"))})
                  .ok());
  auto checkpoint = agent->Take(FakeAgent::MasterMessage::kCheckpointResources);
  ASSERT_TRUE(checkpoint.has_value());
  EXPECT_EQ(*FromProto(checkpoint->checkpoint_resources().resources()),
            *FromProto(Dynamic("cpus:1", "ads", "ops", "")));
  auto after = framework->TakeOffer();
  ASSERT_TRUE(after.has_value());
  EXPECT_DOUBLE_EQ(Scalar(*after, "cpus", "ads"), 1);
  EXPECT_DOUBLE_EQ(Scalar(*after, "cpus", "*"), 3);
  EXPECT_EQ(AgentState(agent->agent_id())["reserved_resources"]["ads"]["cpus"],
            1.0);
}

TEST_F(MasterReservationTest, StaticReservationsAreOfferedToTheirRoleOnly) {
  StartMaster();
  FakeAgent* agent = AddAgent("agent-host", "cpus(ads):3;cpus:1;mem:1024");
  FakeScheduler* other = AddFramework(TestFrameworkInfo("other"));
  auto offer = other->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_DOUBLE_EQ(OfferedScalar(*offer, "cpus"), 1);
  nlohmann::json state = AgentState(agent->agent_id());
  EXPECT_EQ(state["reserved_resources"]["ads"]["cpus"], 3.0);
  EXPECT_EQ(
      state["reserved_resources_full"]["ads"][0]["reservations"][0]["type"],
      "STATIC");

  // A static reservation cannot be unreserved by a framework.
  FakeScheduler* ads = AddAdsFramework();
  auto ads_offer = ads->TakeOffer();
  ASSERT_TRUE(ads_offer.has_value());
  EXPECT_DOUBLE_EQ(Scalar(*ads_offer, "cpus", "ads"), 3);
  ASSERT_TRUE(
      AcceptWith(ads, *ads_offer,
                 {Unreserve(ToProto(
                     Resources::Parse("cpus(ads):3")->AllocatedTo("ads")))})
          .ok());
  auto again = ads->TakeOffer();
  ASSERT_TRUE(again.has_value());
  EXPECT_DOUBLE_EQ(Scalar(*again, "cpus", "ads"), 3);
}

TEST_F(MasterReservationTest, AgentReportsItsCheckpointedReservations) {
  StartMaster();
  internal::AgentMessage first;
  *first.mutable_register_agent()->mutable_agent_info() =
      TestAgentInfo("agent-host", "cpus:4;mem:1024");
  *first.mutable_register_agent()->mutable_checkpointed_resources() =
      Dynamic("cpus:2", "ads", "ops", "");
  agents_.push_back(std::make_unique<FakeAgent>(server_->grpc_address()));
  FakeAgent* agent = agents_.back().get();
  agent->Connect(first);
  auto registered = agent->Take(FakeAgent::MasterMessage::kAgentRegistered);
  ASSERT_TRUE(registered.has_value());
  nlohmann::json state =
      AgentState(registered->agent_registered().agent_id().value());
  EXPECT_EQ(state["reserved_resources"]["ads"]["cpus"], 2.0);
  EXPECT_EQ(state["unreserved_resources"]["cpus"], 2.0);

  // A checkpoint that does not fit the agent's resources is refused.
  *first.mutable_register_agent()->mutable_checkpointed_resources() =
      Dynamic("cpus:8", "ads", "ops", "");
  FakeAgent bad(server_->grpc_address());
  bad.Connect(first);
  auto end = bad.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->ok());
  EXPECT_NE(end->error_message().find("checkpointed"), std::string::npos)
      << end->error_message();
}

TEST_F(MasterReservationTest, OperatorReserveRescindsOffersAndRefusesUsed) {
  StartMaster();
  FakeAgent* agent = AddAgent("agent-host", "cpus:4;mem:1024");
  FakeScheduler* framework = AddAdsFramework();
  auto offer = framework->TakeOffer();
  ASSERT_TRUE(offer.has_value());
  Master* master = server_->master();
  AgentId id(agent->agent_id());

  // The outstanding offer holds the CPUs: it is rescinded for the reserve.
  std::optional<absl::Status> reserved =
      RunOnLoop<absl::Status>(server_->loop(), [&] {
        return master->ReserveResources(id, Dynamic("cpus:2", "ads", "op", ""));
      });
  ASSERT_TRUE(reserved.has_value());
  ASSERT_TRUE(reserved->ok()) << *reserved;
  EXPECT_TRUE(framework->Take(Event::RESCIND).has_value());
  ASSERT_TRUE(
      agent->Take(FakeAgent::MasterMessage::kCheckpointResources).has_value());
  auto next = framework->TakeOffer();
  ASSERT_TRUE(next.has_value());
  EXPECT_DOUBLE_EQ(Scalar(*next, "cpus", "ads"), 2);

  // A task uses both reserved CPUs: unreserving them is refused, and the
  // reservation stays.
  mesos::v1::TaskInfo task = CommandTask("t1", agent->agent_id(), "cpus:2");
  *task.mutable_resources() = Dynamic("cpus:2", "ads", "op", "ads");
  ASSERT_TRUE(
      framework->Send(framework->Accept({next->id().value()}, {task})).ok());
  ASSERT_TRUE(agent->Take(FakeAgent::MasterMessage::kRunTask).has_value());
  std::optional<absl::Status> unreserved =
      RunOnLoop<absl::Status>(server_->loop(), [&] {
        return master->UnreserveResources(id,
                                          Dynamic("cpus:2", "ads", "op", ""));
      });
  ASSERT_TRUE(unreserved.has_value());
  EXPECT_EQ(unreserved->code(), absl::StatusCode::kFailedPrecondition)
      << *unreserved;
  EXPECT_EQ(AgentState(agent->agent_id())["reserved_resources"]["ads"]["cpus"],
            2.0);

  // Operator calls take unallocated resources only, and known agents.
  std::optional<absl::Status> allocated =
      RunOnLoop<absl::Status>(server_->loop(), [&] {
        return master->ReserveResources(id,
                                        Dynamic("mem:10", "ads", "op", "ads"));
      });
  EXPECT_EQ(allocated->code(), absl::StatusCode::kInvalidArgument);
  std::optional<absl::Status> unknown =
      RunOnLoop<absl::Status>(server_->loop(), [&] {
        return master->ReserveResources(AgentId("nope"),
                                        Dynamic("mem:10", "ads", "op", ""));
      });
  EXPECT_EQ(unknown->code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace agora::testing
