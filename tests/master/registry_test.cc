// Registry back-ends and the Registrar: round trips, atomic replacement, and
// no admission without a durable write.
#include "master/registry.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "master/registrar.h"

namespace agora {
namespace {

std::string TempDir() {
  std::string dir = ::testing::TempDir() + "/registry-test-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return "";
  return dir;
}

internal::Registry WithAgents(std::initializer_list<const char*> ids) {
  internal::Registry registry;
  for (const char* id : ids) {
    mesos::v1::AgentInfo* info = registry.add_agents()->mutable_info();
    info->set_hostname(std::string("host-") + id);
    info->mutable_id()->set_value(id);
  }
  return registry;
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

TEST(LocalRegistryTest, EmptyWhenNothingWasStored) {
  std::string dir = TempDir();
  auto state = NewLocalRegistry(dir + "/registry.bin")->Recover();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->agents_size(), 0);
}

TEST(LocalRegistryTest, StoreThenRecoverRoundTrips) {
  std::string path = TempDir() + "/registry.bin";
  ASSERT_TRUE(NewLocalRegistry(path)->Store(WithAgents({"S0", "S1"})).ok());
  ASSERT_TRUE(NewLocalRegistry(path)->Store(WithAgents({"S2"})).ok());
  auto state = NewLocalRegistry(path)->Recover();  // A fresh instance.
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->agents_size(), 1);
  EXPECT_EQ(state->agents(0).info().id().value(), "S2");
  EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);  // No leftovers.
}

TEST(LocalRegistryTest, InterruptedWriteLeavesThePreviousState) {
  std::string path = TempDir() + "/registry.bin";
  ASSERT_TRUE(NewLocalRegistry(path)->Store(WithAgents({"S0"})).ok());
  // A crash in the middle of a write leaves a partial temporary file.
  std::string full = WithAgents({"S0", "S1", "S2"}).SerializeAsString();
  WriteFile(path + ".tmp", full.substr(0, full.size() / 2));
  auto state = NewLocalRegistry(path)->Recover();
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->agents_size(), 1);
  EXPECT_EQ(state->agents(0).info().id().value(), "S0");
}

TEST(LocalRegistryTest, FailedWriteReportsAndKeepsThePreviousState) {
  std::string path = TempDir() + "/registry.bin";
  auto registry = NewLocalRegistry(path);
  ASSERT_TRUE(registry->Store(WithAgents({"S0"})).ok());
  ASSERT_EQ(::mkdir((path + ".tmp").c_str(), 0755), 0);  // Blocks the write.
  absl::Status status = registry->Store(WithAgents({"S1"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("registry.bin.tmp"), absl::string_view::npos)
      << status;
  auto state = registry->Recover();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->agents(0).info().id().value(), "S0");
}

TEST(LocalRegistryTest, CorruptFileIsDataLoss) {
  std::string path = TempDir() + "/registry.bin";
  WriteFile(path, "\xff\xff\xff not a registry");
  auto state = NewLocalRegistry(path)->Recover();
  EXPECT_EQ(state.status().code(), absl::StatusCode::kDataLoss);
}

TEST(RegistrarTest, AdmitsOnlyAfterADurableWrite) {
  std::string path = TempDir() + "/registry.bin";
  Registrar registrar(NewLocalRegistry(path));
  ASSERT_TRUE(registrar.Recover().ok());
  mesos::v1::AgentInfo info;
  info.set_hostname("h");
  info.mutable_id()->set_value("S0");
  ASSERT_TRUE(registrar.AdmitAgent(info).ok());
  ASSERT_NE(registrar.FindAgent("S0"), nullptr);

  ASSERT_EQ(::mkdir((path + ".tmp").c_str(), 0755), 0);
  info.mutable_id()->set_value("S1");
  EXPECT_FALSE(registrar.AdmitAgent(info).ok());
  EXPECT_EQ(registrar.FindAgent("S1"), nullptr);
  EXPECT_EQ(registrar.state().agents_size(), 1);

  // A new registrar over the same file sees exactly what was durable.
  Registrar reread(NewLocalRegistry(path));
  ASSERT_TRUE(reread.Recover().ok());
  EXPECT_NE(reread.FindAgent("S0"), nullptr);
  EXPECT_EQ(reread.FindAgent("S1"), nullptr);
}

TEST(RegistrarTest, ReadmissionReplacesTheRecord) {
  Registrar registrar(NewInMemoryRegistry());
  ASSERT_TRUE(registrar.Recover().ok());
  mesos::v1::AgentInfo info;
  info.set_hostname("old");
  info.mutable_id()->set_value("S0");
  ASSERT_TRUE(registrar.AdmitAgent(info).ok());
  info.set_hostname("new");
  ASSERT_TRUE(registrar.AdmitAgent(info).ok());
  ASSERT_EQ(registrar.state().agents_size(), 1);
  EXPECT_EQ(registrar.FindAgent("S0")->hostname(), "new");
  info.clear_id();
  EXPECT_EQ(registrar.AdmitAgent(info).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RegistrarTest, UnreachableReachableAndGoneTransitionsAreDurable) {
  std::string path = TempDir() + "/registry.bin";
  Registrar registrar(NewLocalRegistry(path));
  ASSERT_TRUE(registrar.Recover().ok());
  for (const char* id : {"S0", "S1"}) {
    mesos::v1::AgentInfo info;
    info.set_hostname(std::string("host-") + id);
    info.mutable_id()->set_value(id);
    ASSERT_TRUE(registrar.AdmitAgent(info).ok());
  }
  const absl::Time t1 = absl::FromUnixSeconds(1700000000);
  const absl::Time t2 = t1 + absl::Seconds(30);
  ASSERT_TRUE(registrar.MarkUnreachable("S0", t1).ok());
  EXPECT_EQ(registrar.FindAgent("S0"), nullptr);
  EXPECT_EQ(registrar.UnreachableSince("S0"), t1);
  EXPECT_EQ(registrar.MarkUnreachable("nope", t1).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(registrar.MarkGone("S1", t2).ok());
  EXPECT_EQ(registrar.FindAgent("S1"), nullptr);
  EXPECT_EQ(registrar.GoneSince("S1"), t2);

  // A fresh registrar over the same file sees the same lists and times.
  Registrar reread(NewLocalRegistry(path));
  ASSERT_TRUE(reread.Recover().ok());
  EXPECT_EQ(reread.UnreachableSince("S0"), t1);
  EXPECT_EQ(reread.GoneSince("S1"), t2);
  EXPECT_EQ(reread.state().agents_size(), 0);

  mesos::v1::AgentInfo back;
  back.set_hostname("host-S0");
  back.mutable_id()->set_value("S0");
  ASSERT_TRUE(reread.MarkReachable(back).ok());
  EXPECT_NE(reread.FindAgent("S0"), nullptr);
  EXPECT_FALSE(reread.UnreachableSince("S0").has_value());
  EXPECT_EQ(reread.state().unreachable_size(), 0);
  // Gone wins over everything, and is kept once.
  ASSERT_TRUE(reread.MarkGone("S0", t2).ok());
  ASSERT_TRUE(reread.MarkGone("S0", t2).ok());
  EXPECT_EQ(reread.state().gone_size(), 2);
  EXPECT_EQ(reread.state().agents_size(), 0);
}

}  // namespace
}  // namespace agora
