// Registry back-ends (in-memory, local file): round trips, atomic
// replacement, failed writes that leave the stored state intact, the
// directory created on first use, corrupt and bad records.
#include "master/registry.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "master/master_test_util.h"

namespace agora {
namespace {

using testing::RecoverRegistry;

std::string TempDir() {
  std::string dir = ::testing::TempDir() + "/registry-test-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return "";
  return dir;
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

RegistryChange PutAgent(const std::string& id) {
  internal::Registry::Agent agent;
  agent.mutable_info()->set_hostname("host-" + id);
  agent.mutable_info()->mutable_id()->set_value(id);
  return {RecordKind::kAgent, id, agent.SerializeAsString()};
}

RegistryChange PutGone(const std::string& id, int64_t seconds) {
  internal::Registry::GoneAgent gone;
  gone.mutable_id()->set_value(id);
  gone.mutable_timestamp()->set_nanoseconds(seconds * 1000000000);
  return {RecordKind::kGone, id, gone.SerializeAsString()};
}

RegistryChange Remove(RecordKind kind, const std::string& id) {
  return {kind, id, std::nullopt};
}

// Applies `changes` and waits for the outcome.
absl::Status ApplyNow(Registry* registry, std::vector<RegistryChange> changes) {
  std::promise<absl::Status> promise;
  std::future<absl::Status> future = promise.get_future();
  registry->Apply(std::move(changes),
                  [&promise](absl::Status s) { promise.set_value(s); });
  return future.get();
}

std::vector<std::string> AgentIds(const internal::Registry& state) {
  std::vector<std::string> out;
  for (const auto& agent : state.agents()) {
    out.push_back(agent.info().id().value());
  }
  return out;
}

TEST(LocalRegistryTest, EmptyWhenNothingWasStored) {
  std::string dir = TempDir();
  auto state = RecoverRegistry(NewLocalRegistry(dir + "/registry.bin").get());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->agents_size(), 0);
}

TEST(LocalRegistryTest, ChangesThenRecoverRoundTrips) {
  std::string path = TempDir() + "/registry.bin";
  {
    auto registry = NewLocalRegistry(path);
    ASSERT_TRUE(RecoverRegistry(registry.get()).ok());
    ASSERT_TRUE(
        ApplyNow(registry.get(), {PutAgent("S0"), PutAgent("S1")}).ok());
    ASSERT_TRUE(ApplyNow(registry.get(),
                         {Remove(RecordKind::kAgent, "S0"), PutGone("S0", 20),
                          PutGone("S9", 10), PutAgent("S2")})
                    .ok());
  }
  auto state = RecoverRegistry(NewLocalRegistry(path).get());  // Fresh.
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(AgentIds(*state), (std::vector<std::string>{"S1", "S2"}));
  ASSERT_EQ(state->gone_size(), 2);
  EXPECT_EQ(state->gone(0).id().value(), "S9");  // Oldest first.
  EXPECT_EQ(state->gone(1).id().value(), "S0");
  EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);  // No leftovers.
}

TEST(LocalRegistryTest, CreatesAMissingWorkDirWithItsParents) {
  // What `agora-master --work_dir=<new>/a/b` does on first start.
  std::string path = TempDir() + "/new/a/b/registry.bin";
  auto registry = NewLocalRegistry(path);
  auto state = RecoverRegistry(registry.get());
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_TRUE(ApplyNow(registry.get(), {PutAgent("S0")}).ok());
  EXPECT_EQ(::access(path.c_str(), F_OK), 0);
}

TEST(LocalRegistryTest, AWorkDirThatCannotBeCreatedIsNamed) {
  std::string dir = TempDir();
  WriteFile(dir + "/file", "not a directory");
  auto state =
      RecoverRegistry(NewLocalRegistry(dir + "/file/sub/registry.bin").get());
  EXPECT_EQ(state.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(state.status().message().find(dir + "/file"),
            absl::string_view::npos)
      << state.status();
}

TEST(LocalRegistryTest, InterruptedWriteLeavesThePreviousState) {
  std::string path = TempDir() + "/registry.bin";
  {
    auto registry = NewLocalRegistry(path);
    ASSERT_TRUE(RecoverRegistry(registry.get()).ok());
    ASSERT_TRUE(ApplyNow(registry.get(), {PutAgent("S0")}).ok());
  }
  // A crash in the middle of a write leaves a partial temporary file.
  internal::Registry full;
  for (const char* id : {"S0", "S1", "S2"}) {
    mesos::v1::AgentInfo* info = full.add_agents()->mutable_info();
    info->set_hostname("h");
    info->mutable_id()->set_value(id);
  }
  std::string bytes = full.SerializeAsString();
  WriteFile(path + ".tmp", bytes.substr(0, bytes.size() / 2));
  auto state = RecoverRegistry(NewLocalRegistry(path).get());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(AgentIds(*state), (std::vector<std::string>{"S0"}));
}

TEST(LocalRegistryTest, FailedWriteReportsAndKeepsThePreviousState) {
  std::string path = TempDir() + "/registry.bin";
  auto registry = NewLocalRegistry(path);
  ASSERT_TRUE(RecoverRegistry(registry.get()).ok());
  ASSERT_TRUE(ApplyNow(registry.get(), {PutAgent("S0")}).ok());
  ASSERT_EQ(::mkdir((path + ".tmp").c_str(), 0755), 0);  // Blocks the write.
  absl::Status status = ApplyNow(registry.get(), {PutAgent("S1")});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("registry.bin.tmp"), absl::string_view::npos)
      << status;
  // The failed change is not part of the next write either.
  ASSERT_EQ(::rmdir((path + ".tmp").c_str()), 0);
  ASSERT_TRUE(ApplyNow(registry.get(), {PutAgent("S2")}).ok());
  auto state = RecoverRegistry(NewLocalRegistry(path).get());
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(AgentIds(*state), (std::vector<std::string>{"S0", "S2"}));
}

TEST(LocalRegistryTest, CorruptFileIsDataLossNamingIt) {
  std::string path = TempDir() + "/registry.bin";
  WriteFile(path, "\xff\xff\xff not a registry");
  auto state = RecoverRegistry(NewLocalRegistry(path).get());
  EXPECT_EQ(state.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(state.status().message().find(path), absl::string_view::npos);
}

TEST(RegistryTest, BadRecordsAreRefusedAndNothingIsWritten) {
  std::string path = TempDir() + "/registry.bin";
  std::unique_ptr<Registry> backends[] = {NewInMemoryRegistry(),
                                          NewLocalRegistry(path)};
  for (auto& registry : backends) {
    SCOPED_TRACE(registry->Describe());
    ASSERT_TRUE(RecoverRegistry(registry.get()).ok());
    RegistryChange garbage{RecordKind::kGone, "S1", "\xff\xff garbage"};
    RegistryChange other = PutAgent("S2");
    other.agent_id = "S3";  // The record names S2.
    for (const RegistryChange& bad : {garbage, other}) {
      absl::Status status = ApplyNow(registry.get(), {PutAgent("S0"), bad});
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
      EXPECT_NE(status.message().find(bad.Name()), absl::string_view::npos)
          << status;
    }
    auto state = RecoverRegistry(registry.get());
    ASSERT_TRUE(state.ok());
    EXPECT_EQ(state->agents_size(), 0);
  }
}

TEST(RegistryTest, RolesRecordHoldsWeightsAndQuotas) {
  auto registry = NewInMemoryRegistry();
  internal::Registry::Roles roles;
  auto* weight = roles.add_weights();
  weight->set_role("ads");
  weight->set_weight(2);
  auto* quota = roles.add_quota_configs();
  quota->set_role("eng");
  (*quota->mutable_guarantees())["cpus"] = 1;
  ASSERT_TRUE(ApplyNow(registry.get(),
                       {{RecordKind::kRoles, "", roles.SerializeAsString()}})
                  .ok());
  auto state = RecoverRegistry(registry.get());
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->weights_size(), 1);
  EXPECT_EQ(state->weights(0).weight(), 2);
  ASSERT_EQ(state->quota_configs_size(), 1);
  EXPECT_EQ(state->quota_configs(0).guarantees().at("cpus"), 1);
}

TEST(RegistryRecordsTest, TheFileIsTheRegistryMessage) {
  RegistryRecords records;
  internal::Registry::Roles roles;
  auto* weight = roles.add_weights();
  weight->set_role("ads");
  weight->set_weight(2);
  auto* quota = roles.add_quota_configs();
  quota->set_role("eng");
  (*quota->mutable_limits())["cpus"] = 4;
  ASSERT_TRUE(records
                  .Apply({PutAgent("S1"),
                          PutAgent("S0"),
                          PutGone("S7", 9),
                          PutGone("S5", 3),
                          {RecordKind::kRoles, "", roles.SerializeAsString()}})
                  .ok());
  internal::Registry parsed;
  ASSERT_TRUE(parsed.ParseFromString(records.Serialize()));
  EXPECT_EQ(AgentIds(parsed), (std::vector<std::string>{"S0", "S1"}));
  ASSERT_EQ(parsed.gone_size(), 2);
  EXPECT_EQ(parsed.gone(0).id().value(), "S5");
  ASSERT_EQ(parsed.weights_size(), 1);
  EXPECT_EQ(parsed.weights(0).role(), "ads");
  ASSERT_EQ(parsed.quota_configs_size(), 1);
  EXPECT_EQ(parsed.quota_configs(0).limits().at("cpus"), 4);
  // Loading the parsed state gives the same records back.
  RegistryRecords loaded;
  ASSERT_TRUE(loaded.Load(parsed).ok());
  EXPECT_EQ(loaded.Serialize(), records.Serialize());
  // Undo restores what was there.
  auto undo = records.Apply({Remove(RecordKind::kAgent, "S0"), PutAgent("S2")});
  ASSERT_TRUE(undo.ok());
  ASSERT_TRUE(records.Apply(*undo).ok());
  EXPECT_EQ(records.Serialize(), loaded.Serialize());
}

TEST(RegistryTest, RecordNamesAreTheZooKeeperLayout) {
  EXPECT_EQ(PutAgent("S1").Name(), "agents/S1");
  EXPECT_EQ(Remove(RecordKind::kUnreachable, "S1").Name(), "unreachable/S1");
  EXPECT_EQ(PutGone("S1", 1).Name(), "gone/S1");
  EXPECT_EQ((RegistryChange{RecordKind::kRoles, "", std::nullopt}).Name(),
            "roles");
}

}  // namespace
}  // namespace agora
