// The master over an asynchronous registry, on a manual loop with a
// back-end whose writes wait for the test: an agent is admitted only once
// its record is durable, duplicate (re)registrations while the write is
// pending give one admission, the loop keeps serving meanwhile, a late
// write is fatal, and the registry GC prunes old unreachable agents.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "master/held_registry.h"
#include "master/master.h"
#include "master/master_test_util.h"

namespace agora::testing {
namespace {

using internal::AgentMessage;
using internal::MasterMessage;

// An agent link that records what the master sends.
class RecordingLink : public AgentConnection {
 public:
  explicit RecordingLink(uint64_t id) : id_(id) {}
  uint64_t id() const override { return id_; }
  const std::string& peer() const override { return peer_; }
  bool Send(MasterMessage message) override {
    sent.push_back(std::move(message));
    return !closed;
  }
  void Close(const absl::Status& status) override {
    if (!closed) close_status = status;
    closed = true;
  }
  // The agent_registered messages received, by agent id.
  std::vector<std::string> Registered() const {
    std::vector<std::string> out;
    for (const MasterMessage& m : sent) {
      if (m.has_agent_registered()) {
        out.push_back(m.agent_registered().agent_id().value());
      }
    }
    return out;
  }

  std::vector<MasterMessage> sent;
  bool closed = false;
  absl::Status close_status;

 private:
  const uint64_t id_;
  const std::string peer_ = "ipv4:10.0.0.7:5051";
};

class MasterRegistryTest : public ::testing::Test {
 protected:
  MasterRegistryTest() : loop_("master", &clock_) {}

  void StartMaster(MasterOptions options = TestMasterOptions()) {
    options.on_registry_store_timeout = [this](const absl::Status& status) {
      fatal_.push_back(status);
    };
    auto held = std::make_unique<HeldRegistry>();
    registry_ = held.get();
    master_ = std::make_unique<Master>(options, &loop_, std::move(held));
    ASSERT_TRUE(master_->Recover().ok());
    master_->SetAddress("10.0.0.2", 5050);
    master_->Start();
    loop_.RunUntilIdle();
  }

  std::shared_ptr<RecordingLink> NewLink() {
    return std::make_shared<RecordingLink>(++next_link_);
  }

  void Deliver(const std::shared_ptr<RecordingLink>& link,
               const AgentMessage& message) {
    Master* master = master_.get();
    loop_.Post(
        [master, link, message] { master->OnAgentMessage(link, message); });
    loop_.RunUntilIdle();
  }

  AgentMessage Register(const std::string& hostname) {
    AgentMessage message;
    *message.mutable_register_agent()->mutable_agent_info() =
        TestAgentInfo(hostname, "cpus:2;mem:1024");
    return message;
  }

  AgentMessage Reregister(const std::string& id, const std::string& hostname) {
    AgentMessage message;
    mesos::v1::AgentInfo* info =
        message.mutable_reregister_agent()->mutable_agent_info();
    *info = TestAgentInfo(hostname, "cpus:2;mem:1024");
    info->mutable_id()->set_value(id);
    return message;
  }

  size_t RegisteredAgents() { return master_->Snapshot()->agents.size(); }
  double Metric(const std::string& name) {
    return master_->MetricsSnapshot()[name];
  }

  // Completes the held write and lets the loop run its completions.
  void CompleteWrite(absl::Status status = absl::OkStatus()) {
    registry_->Complete(status);
    loop_.RunUntilIdle();
  }

  ManualClock clock_;
  EventLoop loop_;
  HeldRegistry* registry_ = nullptr;
  std::unique_ptr<Master> master_;
  std::vector<absl::Status> fatal_;
  uint64_t next_link_ = 0;
};

TEST_F(MasterRegistryTest, AnAgentIsAdmittedOnlyOnceItsRecordIsDurable) {
  StartMaster();
  auto link = NewLink();
  Deliver(link, Register("h1"));
  ASSERT_EQ(registry_->writes.size(), 1u);
  ASSERT_EQ(registry_->Names().size(), 1u);
  EXPECT_EQ(registry_->Names()[0].rfind("agents/", 0), 0u);
  // The loop keeps serving while the write runs; the agent is not there.
  EXPECT_TRUE(link->Registered().empty());
  EXPECT_EQ(RegisteredAgents(), 0u);
  EXPECT_EQ(Metric("master/slave_registrations"), 0.0);
  CompleteWrite();
  ASSERT_EQ(link->Registered().size(), 1u);
  EXPECT_EQ(RegisteredAgents(), 1u);
  EXPECT_EQ(Metric("master/slave_registrations"), 1.0);
}

TEST_F(MasterRegistryTest, RegisteringTwiceWhileTheWriteRunsAdmitsOnce) {
  StartMaster();
  auto link = NewLink();
  Deliver(link, Register("h1"));
  Deliver(link, Register("h1"));  // The agent retried on the same link.
  EXPECT_EQ(registry_->writes.size(), 1u);
  CompleteWrite();
  EXPECT_TRUE(registry_->writes.empty());  // No second record.
  std::vector<std::string> answers = link->Registered();
  ASSERT_EQ(answers.size(), 2u);      // Both messages are answered...
  EXPECT_EQ(answers[0], answers[1]);  // ...with the one id.
  EXPECT_EQ(RegisteredAgents(), 1u);
  EXPECT_EQ(Metric("master/slave_registrations"), 1.0);
}

TEST_F(MasterRegistryTest, ReregisteringTwiceWhileTheWriteRunsAdmitsOnce) {
  StartMaster();
  auto first = NewLink();
  Deliver(first, Reregister("old-S1", "h1"));
  Deliver(first, Reregister("old-S1", "h1"));
  ASSERT_EQ(registry_->writes.size(), 1u);
  // A newer link for the same agent replaces the first, still one
  // admission.
  auto second = NewLink();
  Deliver(second, Reregister("old-S1", "h1"));
  EXPECT_TRUE(first->closed);
  CompleteWrite();
  EXPECT_TRUE(registry_->writes.empty());
  EXPECT_TRUE(first->Registered().empty());
  EXPECT_EQ(second->Registered(), (std::vector<std::string>{"old-S1"}));
  EXPECT_EQ(RegisteredAgents(), 1u);
  EXPECT_EQ(Metric("master/slave_reregistrations"), 1.0);
}

TEST_F(MasterRegistryTest, AReregistrationWithNewInfoWhileWritingIsWrittenToo) {
  StartMaster();
  auto link = NewLink();
  Deliver(link, Reregister("old-S1", "h1"));
  Deliver(link, Reregister("old-S1", "h1-renamed"));
  CompleteWrite();
  // The first write held the old info: the newer one is written before the
  // agent is admitted.
  EXPECT_TRUE(link->Registered().empty());
  ASSERT_EQ(registry_->writes.size(), 1u);
  CompleteWrite();
  EXPECT_EQ(link->Registered().size(), 2u);
  EXPECT_EQ(master_->Snapshot()->agents.at(0).info.hostname(), "h1-renamed");
}

TEST_F(MasterRegistryTest, AFailedWriteRefusesTheAgentAndAdmitsNothing) {
  StartMaster();
  auto link = NewLink();
  Deliver(link, Register("h1"));
  CompleteWrite(absl::UnavailableError("disk on fire"));
  EXPECT_TRUE(link->closed);
  EXPECT_EQ(link->close_status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(link->Registered().empty());
  EXPECT_EQ(RegisteredAgents(), 0u);
}

TEST_F(MasterRegistryTest, ALinkThatEndsDuringTheWriteLeavesTheAgentInactive) {
  StartMaster();
  auto link = NewLink();
  Deliver(link, Register("h1"));
  loop_.Post([this, link] { master_->OnAgentLinkClosed(link); });
  loop_.RunUntilIdle();
  CompleteWrite();
  ASSERT_EQ(RegisteredAgents(), 1u);
  EXPECT_FALSE(master_->Snapshot()->agents[0].active);
  EXPECT_FALSE(master_->Snapshot()->agents[0].connected);
}

TEST_F(MasterRegistryTest, AWriteLateBeyondTheStoreTimeoutIsFatal) {
  MasterOptions options = TestMasterOptions();
  options.registry_store_timeout = absl::Seconds(5);
  StartMaster(options);
  Deliver(NewLink(), Register("h1"));
  loop_.AdvanceTime(&clock_, absl::Seconds(4));
  EXPECT_TRUE(fatal_.empty());
  loop_.AdvanceTime(&clock_, absl::Seconds(2));
  ASSERT_EQ(fatal_.size(), 1u);
  EXPECT_EQ(fatal_[0].code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(MasterRegistryTest, OperatorWritesAnswerOnceDurable) {
  StartMaster();
  std::vector<absl::StatusOr<mesos::v1::master::Response>> answers;
  mesos::v1::master::Call call;
  call.set_type(mesos::v1::master::Call::UPDATE_WEIGHTS);
  auto* weight = call.mutable_update_weights()->add_weight_infos();
  weight->set_role("ads");
  weight->set_weight(3);
  loop_.Post([&] {
    master_->HandleOperatorCall(
        call, [&](auto result) { answers.push_back(std::move(result)); });
  });
  loop_.RunUntilIdle();
  EXPECT_TRUE(answers.empty());
  EXPECT_TRUE(master_->Weights().empty());
  ASSERT_EQ(registry_->Names(), (std::vector<std::string>{"roles+"}));
  CompleteWrite();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].ok()) << answers[0].status();
  EXPECT_EQ(master_->Weights(), (std::map<std::string, double>{{"ads", 3}}));

  // MARK_AGENT_GONE of an unknown agent needs no write.
  call.Clear();
  call.set_type(mesos::v1::master::Call::MARK_AGENT_GONE);
  call.mutable_mark_agent_gone()->mutable_agent_id()->set_value("nope");
  loop_.Post([&] {
    master_->HandleOperatorCall(
        call, [&](auto result) { answers.push_back(std::move(result)); });
  });
  loop_.RunUntilIdle();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[1].status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MasterRegistryTest, TheRegistryGcPrunesOldUnreachableAgents) {
  MasterOptions options = TestMasterOptions();
  options.agent_ping_timeout = absl::Seconds(1);
  options.max_agent_ping_timeouts = 1;
  options.registry_gc_interval = absl::Minutes(1);
  options.registry_max_agent_age = absl::Minutes(5);
  StartMaster(options);
  auto link = NewLink();
  Deliver(link, Register("h1"));
  CompleteWrite();
  loop_.Post([this, link] { master_->OnAgentLinkClosed(link); });
  loop_.AdvanceTime(&clock_, absl::Seconds(3));  // Health checks fail.
  ASSERT_EQ(registry_->Names().size(), 2u);      // agents/S- unreachable/S+.
  CompleteWrite();
  EXPECT_EQ(master_->Snapshot()->unreachable_agents.size(), 1u);
  EXPECT_EQ(RegisteredAgents(), 0u);
  // GC runs every minute; the entry is old enough after 5 minutes.
  loop_.AdvanceTime(&clock_, absl::Minutes(5));
  EXPECT_TRUE(registry_->writes.empty());
  loop_.AdvanceTime(&clock_, absl::Minutes(1));
  ASSERT_EQ(registry_->writes.size(), 1u);
  EXPECT_EQ(registry_->Names()[0].rfind("unreachable/", 0), 0u);
  CompleteWrite();
  EXPECT_TRUE(master_->Snapshot()->unreachable_agents.empty());
}

}  // namespace
}  // namespace agora::testing
