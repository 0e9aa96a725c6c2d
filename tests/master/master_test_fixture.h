// A fixture for scheduler-side master tests: one in-process master and
// helpers to add FakeAgents and FakeSchedulers.
#ifndef AGORA_TESTS_MASTER_MASTER_TEST_FIXTURE_H_
#define AGORA_TESTS_MASTER_MASTER_TEST_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "master/master_test_util.h"

namespace agora::testing {

inline constexpr char kAgentResources[] =
    "cpus:4;mem:4096;disk:1000;ports:[31000-32000]";

class MasterFixture : public ::testing::Test {
 protected:
  void StartMaster(MasterOptions options = TestMasterOptions()) {
    auto server = MasterServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  void TearDown() override {
    frameworks_.clear();
    agents_.clear();
    server_.reset();
  }

  // A registered agent (fails the test otherwise).
  FakeAgent* AddAgent(const std::string& hostname = "agent-host",
                      const std::string& resources = kAgentResources) {
    agents_.push_back(std::make_unique<FakeAgent>(server_->grpc_address()));
    auto registered =
        agents_.back()->Register(TestAgentInfo(hostname, resources));
    EXPECT_TRUE(registered.ok()) << registered.status();
    return agents_.back().get();
  }

  // A subscribed framework (fails the test otherwise).
  FakeScheduler* AddFramework(
      const mesos::v1::FrameworkInfo& info = TestFrameworkInfo("fw")) {
    frameworks_.push_back(
        std::make_unique<FakeScheduler>(server_->grpc_address()));
    auto subscribed = frameworks_.back()->Subscribe(info);
    EXPECT_TRUE(subscribed.ok()) << subscribed.status();
    return frameworks_.back().get();
  }

  nlohmann::json State() { return GetJson(*server_, "/state"); }
  nlohmann::json Metrics() { return GetJson(*server_, "/metrics/snapshot"); }

  // The /state entry of framework `id` (null when absent).
  nlohmann::json FrameworkState(const std::string& id) {
    nlohmann::json state = State();
    for (const auto& framework : state["frameworks"]) {
      if (framework["id"] == id) return framework;
    }
    return nlohmann::json();
  }

  std::unique_ptr<MasterServer> server_;
  std::vector<std::unique_ptr<FakeAgent>> agents_;
  std::vector<std::unique_ptr<FakeScheduler>> frameworks_;
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_MASTER_MASTER_TEST_FIXTURE_H_
