// The operator calls on roles and reservations over agora.v1.Operator/Call:
// GET_WEIGHTS / UPDATE_WEIGHTS, GET_QUOTA / UPDATE_QUOTA,
// RESERVE_RESOURCES / UNRESERVE_RESOURCES, in mesos.v1.master messages.
#include <string>

#include "absl/strings/match.h"
#include "common/reservations.h"
#include "common/resources_proto.h"
#include "gtest/gtest.h"
#include "master/master_test_fixture.h"
#include "mesos/v1/master/master.pb.h"

namespace agora::testing {
namespace {

using OperatorCall = mesos::v1::master::Call;
using OperatorResponse = mesos::v1::master::Response;

class MasterOperatorRolesTest : public MasterFixture {
 protected:
  grpc::Status Operator(const OperatorCall& call, OperatorResponse* response) {
    auto stub = agora::v1::Operator::NewStub(grpc::CreateChannel(
        server_->grpc_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return stub->Call(&context, call, response);
  }
  grpc::Status Operator(const OperatorCall& call) {
    OperatorResponse response;
    return Operator(call, &response);
  }
  static mesos::v1::quota::QuotaConfig Config(const std::string& role,
                                              double guarantee, double limit) {
    mesos::v1::quota::QuotaConfig config;
    config.set_role(role);
    if (guarantee >= 0)
      (*config.mutable_guarantees())["cpus"].set_value(guarantee);
    if (limit >= 0) (*config.mutable_limits())["cpus"].set_value(limit);
    return config;
  }
  static ProtoResources Dynamic(const std::string& text,
                                const std::string& role) {
    Reservation reservation;
    reservation.type = Reservation::Type::kDynamic;
    reservation.role = role;
    reservation.principal = "operator";
    return ToProto(PushReservation(*Resources::Parse(text), reservation));
  }
};

TEST_F(MasterOperatorRolesTest, UpdateAndGetWeights) {
  StartMaster();
  OperatorCall update;
  update.set_type(OperatorCall::UPDATE_WEIGHTS);
  auto* w = update.mutable_update_weights()->add_weight_infos();
  w->set_role("ads");
  w->set_weight(2.5);
  ASSERT_TRUE(Operator(update).ok());

  // A non-positive weight fails the whole call.
  OperatorCall bad = update;
  bad.mutable_update_weights()->mutable_weight_infos(0)->set_weight(4);
  auto* zero = bad.mutable_update_weights()->add_weight_infos();
  zero->set_role("eng");
  zero->set_weight(0);
  EXPECT_EQ(Operator(bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  OperatorCall get;
  get.set_type(OperatorCall::GET_WEIGHTS);
  OperatorResponse response;
  ASSERT_TRUE(Operator(get, &response).ok());
  EXPECT_EQ(response.type(), OperatorResponse::GET_WEIGHTS);
  ASSERT_EQ(response.get_weights().weight_infos_size(), 1);
  EXPECT_EQ(response.get_weights().weight_infos(0).role(), "ads");
  EXPECT_EQ(response.get_weights().weight_infos(0).weight(), 2.5);
}

TEST_F(MasterOperatorRolesTest, UpdateAndGetQuota) {
  StartMaster();
  AddAgent("host", "cpus:4;mem:1024");
  OperatorCall update;
  update.set_type(OperatorCall::UPDATE_QUOTA);
  *update.mutable_update_quota()->add_quota_configs() = Config("ads", 1, 2);
  *update.mutable_update_quota()->add_quota_configs() = Config("eng/ml", -1, 1);
  grpc::Status nested = Operator(update);
  EXPECT_EQ(nested.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(nested.error_message(), "nested"))
      << nested.error_message();

  OperatorCall get;
  get.set_type(OperatorCall::GET_QUOTA);
  OperatorResponse response;
  ASSERT_TRUE(Operator(get, &response).ok());
  EXPECT_EQ(response.get_quota().status().configs_size(), 0);

  update.mutable_update_quota()->mutable_quota_configs()->RemoveLast();
  ASSERT_TRUE(Operator(update).ok());
  ASSERT_TRUE(Operator(get, &response).ok());
  EXPECT_EQ(response.type(), OperatorResponse::GET_QUOTA);
  ASSERT_EQ(response.get_quota().status().configs_size(), 1);
  const auto& config = response.get_quota().status().configs(0);
  EXPECT_EQ(config.role(), "ads");
  EXPECT_EQ(config.guarantees().at("cpus").value(), 1);
  EXPECT_EQ(config.limits().at("cpus").value(), 2);
  ASSERT_EQ(response.get_quota().status().infos_size(), 1);
  EXPECT_EQ(response.get_quota().status().infos(0).guarantee(0).name(), "cpus");

  // A guarantee beyond the cluster needs force.
  OperatorCall big;
  big.set_type(OperatorCall::UPDATE_QUOTA);
  *big.mutable_update_quota()->add_quota_configs() = Config("ads", 8, -1);
  EXPECT_EQ(Operator(big).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  big.mutable_update_quota()->set_force(true);
  EXPECT_TRUE(Operator(big).ok());
}

TEST_F(MasterOperatorRolesTest, ReserveAndUnreserveResources) {
  StartMaster();
  FakeAgent* agent = AddAgent("host", "cpus:4;mem:1024");
  OperatorCall reserve;
  reserve.set_type(OperatorCall::RESERVE_RESOURCES);
  reserve.mutable_reserve_resources()->mutable_agent_id()->set_value(
      agent->agent_id());
  *reserve.mutable_reserve_resources()->mutable_resources() =
      Dynamic("cpus:2;mem:100", "ads");
  ASSERT_TRUE(Operator(reserve).ok());
  auto checkpoint = agent->Take(FakeAgent::MasterMessage::kCheckpointResources);
  ASSERT_TRUE(checkpoint.has_value());
  EXPECT_EQ(*FromProto(checkpoint->checkpoint_resources().resources()),
            *FromProto(Dynamic("cpus:2;mem:100", "ads")));
  nlohmann::json slave = State()["slaves"][0];
  EXPECT_EQ(slave["reserved_resources"]["ads"]["cpus"], 2.0);
  EXPECT_EQ(slave["reserved_resources_full"]["ads"][0]["reservations"][0]
                 ["principal"],
            "operator");

  // Unreserving more than is reserved fails; part of it works.
  OperatorCall unreserve;
  unreserve.set_type(OperatorCall::UNRESERVE_RESOURCES);
  unreserve.mutable_unreserve_resources()->mutable_agent_id()->set_value(
      agent->agent_id());
  *unreserve.mutable_unreserve_resources()->mutable_resources() =
      Dynamic("cpus:3", "ads");
  EXPECT_EQ(Operator(unreserve).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  *unreserve.mutable_unreserve_resources()->mutable_resources() =
      Dynamic("cpus:1", "ads");
  ASSERT_TRUE(Operator(unreserve).ok());
  slave = State()["slaves"][0];
  EXPECT_EQ(slave["reserved_resources"]["ads"]["cpus"], 1.0);
  EXPECT_EQ(slave["unreserved_resources"]["cpus"], 3.0);

  // Missing agent id, unknown agent.
  OperatorCall no_agent;
  no_agent.set_type(OperatorCall::RESERVE_RESOURCES);
  EXPECT_EQ(Operator(no_agent).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  reserve.mutable_reserve_resources()->mutable_agent_id()->set_value("nope");
  EXPECT_EQ(Operator(reserve).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace agora::testing
