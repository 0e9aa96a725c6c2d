// ZkEnsemble against Debian's real ZooKeeper server: an ensemble of three
// serves with one leader, elects another when the leader is killed, and
// takes the killed server back as a follower; start-up failures are errors
// that name what is missing or the server's log.
#include "fakes/zk_ensemble.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace agora::testing {
namespace {

// A fresh directory under the test temp dir, removed at the end unless
// AGORA_KEEP_TEST_DIRS is set.
class ZkEnsembleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
    tmpl += "agora-zk-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (std::getenv("AGORA_KEEP_TEST_DIRS") == nullptr && !dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  std::string dir_;
};

// Sets an environment variable for one scope and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST_F(ZkEnsembleTest, ThreeServersFailOverAndTheKilledOneRejoins) {
  absl::Time begin = absl::Now();
  auto ensemble = ZkEnsemble::Start(3, dir_);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  absl::Duration start_time = absl::Now() - begin;
  std::cout << "3-server ensemble serving after " << start_time << std::endl;
  RecordProperty("start_ms",
                 static_cast<int>(absl::ToInt64Milliseconds(start_time)));
  ZkEnsemble& zk = **ensemble;

  int leaders = 0;
  for (int i = 0; i < 3; ++i) {
    std::string mode = zk.Mode(i);
    EXPECT_TRUE(mode == "leader" || mode == "follower") << i << ": " << mode;
    if (mode == "leader") ++leaders;
    EXPECT_GT(zk.pid(i), 0);
  }
  ASSERT_EQ(leaders, 1);
  int old_leader = zk.Leader();
  ASSERT_NE(old_leader, -1);
  EXPECT_EQ(zk.ConnectString(), absl::StrCat("127.0.0.1:", zk.client_port(0),
                                             ",127.0.0.1:", zk.client_port(1),
                                             ",127.0.0.1:", zk.client_port(2)));
  EXPECT_EQ(zk.Url("/agora"), "zk://" + zk.ConnectString() + "/agora");

  begin = absl::Now();
  zk.Stop(old_leader);
  EXPECT_EQ(zk.pid(old_leader), 0);
  EXPECT_EQ(zk.Mode(old_leader), "down");
  ASSERT_TRUE(zk.WaitQuorum(absl::Now() + absl::Seconds(30)).ok());
  int new_leader = zk.Leader();
  ASSERT_NE(new_leader, -1);
  EXPECT_NE(new_leader, old_leader);
  std::cout << "new leader after " << absl::Now() - begin << std::endl;

  begin = absl::Now();
  ASSERT_TRUE(zk.Restart(old_leader).ok());
  absl::Status serving =
      zk.WaitServing(old_leader, absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(serving.ok()) << serving;
  std::cout << "killed server rejoined after " << absl::Now() - begin
            << std::endl;
  EXPECT_EQ(zk.Mode(old_leader), "follower");
  EXPECT_EQ(zk.Leader(), new_leader);

  zk.StopAll();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(zk.Mode(i), "down") << i;
}

TEST_F(ZkEnsembleTest, OneServerIsStandalone) {
  auto ensemble = ZkEnsemble::Start(1, dir_);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  EXPECT_EQ((*ensemble)->Mode(0), "standalone");
  EXPECT_EQ((*ensemble)->Leader(), 0);
  EXPECT_EQ((*ensemble)->Url("/a"),
            absl::StrCat("zk://127.0.0.1:", (*ensemble)->client_port(0), "/a"));
  ASSERT_TRUE((*ensemble)->WaitQuorum(absl::Now()).ok());

  auto root = (*ensemble)->Children("/");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, std::vector<std::string>{"zookeeper"});
  EXPECT_EQ((*ensemble)->Children("/agora").status().code(),
            absl::StatusCode::kNotFound);
  (*ensemble)->StopAll();
  EXPECT_EQ((*ensemble)->Children("/", absl::Seconds(1)).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(ZkEnsembleTest, MissingJarIsAnErrorNamingIt) {
  std::string jar = dir_ + "/missing/zookeeper.jar";
  ScopedEnv env("AGORA_ZK_JAR", jar);
  auto ensemble = ZkEnsemble::Start(1, dir_);
  ASSERT_FALSE(ensemble.ok());
  EXPECT_EQ(ensemble.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(ensemble.status().message(), jar))
      << ensemble.status();
}

TEST_F(ZkEnsembleTest, MissingJavaIsAnError) {
  ScopedEnv env("PATH", dir_);
  auto ensemble = ZkEnsemble::Start(1, dir_);
  ASSERT_FALSE(ensemble.ok());
  EXPECT_EQ(ensemble.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(ensemble.status().message(), "java"))
      << ensemble.status();
}

TEST_F(ZkEnsembleTest, ServerThatCannotStartNamesItsLog) {
  // A class path without ZooKeeper in it: the JVM exits at once.
  std::string jar = dir_ + "/empty.jar";
  std::ofstream(jar).close();
  ScopedEnv env("AGORA_ZK_JAR", jar);
  auto ensemble = ZkEnsemble::Start(1, dir_ + "/zk");
  ASSERT_FALSE(ensemble.ok());
  EXPECT_EQ(ensemble.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(ensemble.status().message(),
                                dir_ + "/zk/s1/server.log"))
      << ensemble.status();
  EXPECT_TRUE(
      absl::StrContains(ensemble.status().message(), "exited with code"))
      << ensemble.status();
  // The log's tail is in the message: the JVM says what it could not load.
  EXPECT_TRUE(absl::StrContains(ensemble.status().message(), "QuorumPeerMain"))
      << ensemble.status();
}

}  // namespace
}  // namespace agora::testing
