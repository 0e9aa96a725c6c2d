// End to end through the real agora-master, agora-agent, agora-executor and
// agora-execute with cgroups v2 isolation. Limit tests need a cgroup2
// hierarchy with the cpu, memory and pids controllers at /sys/fs/cgroup (the
// VM tier, scripts/cgroup2-vm.sh); elsewhere they skip with the reason, and
// with AGORA_REQUIRE_CGROUP_CONTROLLERS=1 they fail. The start-up checks run
// everywhere.
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "integration/cluster.h"
#include "isolation/cgroup_fs.h"
#include "isolation/cgroups2_isolator.h"
#include "isolation/isolation_config.h"
#include "nlohmann/json.hpp"

namespace agora::testing {
namespace {

using json = nlohmann::json;

constexpr char kHierarchy[] = "/sys/fs/cgroup";

bool Required() {
  const char* env = getenv("AGORA_REQUIRE_CGROUP_CONTROLLERS");
  return env != nullptr && std::string(env) == "1";
}

// Empty when /sys/fs/cgroup offers cpu, memory and pids; else why not.
std::string MissingControllers() {
  if (!IsCgroup2Mount(kHierarchy)) {
    return absl::StrCat(kHierarchy,
                        " is not a cgroup2 mount (cgroup v1 or hybrid host); "
                        "limits are tested in the VM tier");
  }
  auto fs = NewRealCgroupFs(kHierarchy);
  auto have = AvailableControllers(*fs, "");
  if (!have.ok()) return std::string(have.status().message());
  for (const char* c : {"cpu", "memory", "pids"}) {
    if (!have->count(c)) {
      return absl::StrCat(kHierarchy, " has no '", c, "' controller");
    }
  }
  return "";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Processes whose command line contains `needle` (arguments joined by ' ').
int CountProcesses(const std::string& needle) {
  int n = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  while (struct dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string cmd = Slurp(absl::StrCat("/proc/", e->d_name, "/cmdline"));
    for (char& c : cmd) {
      if (c == '\0') c = ' ';
    }
    if (absl::StrContains(cmd, needle)) ++n;
  }
  closedir(proc);
  return n;
}

TEST(CgroupsStartupTest, ExplicitCgroupsWithoutHierarchyIsAStartupError) {
  char tmpl[] = "/tmp/agora-nocg-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  auto agent = Subprocess::Start(
      BinDir() + "/agora-agent",
      {"--master=127.0.0.1:1", "--port=0", "--http_port=0",
       "--work_dir=" + dir + "/work", "--isolation=cgroups/mem",
       "--cgroups_hierarchy=" + dir},
      dir + "/agent.log");
  ASSERT_TRUE(agent.ok()) << agent.status();
  auto code = (*agent)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 1);
  std::string log = (*agent)->Log();
  EXPECT_TRUE(absl::StrContains(log, "memory")) << log;
  EXPECT_TRUE(absl::StrContains(log, "is not a cgroup2 mount")) << log;
  auto bad = Subprocess::Start(
      BinDir() + "/agora-agent",
      {"--master=127.0.0.1:1", "--port=0", "--http_port=0",
       "--work_dir=" + dir + "/work", "--isolation=cgroups/gpu"},
      dir + "/agent2.log");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ((*bad)->Wait(absl::Seconds(30)).value_or(-1), 1);
  EXPECT_TRUE(absl::StrContains((*bad)->Log(), "unknown isolator"));
  std::string rm = absl::StrCat("rm -rf '", dir, "'");
  EXPECT_EQ(system(rm.c_str()), 0);
}

TEST(CgroupsStartupTest, DefaultIsolationFollowsTheHost) {
  auto cluster = LocalCluster::Start({});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto flags = HttpGet((*cluster)->agent_ports().http, "/flags");
  ASSERT_TRUE(flags.ok());
  std::string isolation = json::parse(*flags)["flags"]["isolation"];
  EXPECT_EQ(isolation, MissingControllers().empty()
                           ? "cgroups/cpu,cgroups/mem,cgroups/pids"
                           : "posix/cpu,posix/mem");
  auto state = HttpGet((*cluster)->agent_ports().http, "/state");
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(absl::StrContains(
      json::parse(*state)["isolation"].get<std::string>(), isolation));
}

// The first cgroup2 mount (the unified one of a hybrid host has no
// controllers, which --launcher=linux does not need); "" if none.
std::string AnyCgroup2Mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, path, type, rest;
  while (mounts >> device >> path >> type && std::getline(mounts, rest)) {
    if (type == "cgroup2" && access(path.c_str(), W_OK) == 0) return path;
  }
  return "";
}

TEST(CgroupsStartupTest, LauncherFlagIsChecked) {
  char tmpl[] = "/tmp/agora-launcher-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  struct Case {
    std::vector<std::string> flags;
    std::string error;
    // Only where cgroups/mem resolves; elsewhere that is the error.
    bool needs_controllers = false;
  };
  std::vector<Case> cases = {
      {{"--launcher=chroot"}, "must be 'linux' or 'posix'"},
      {{"--launcher=linux", "--cgroups_hierarchy=" + dir},
       "is not a cgroup2 mount"},
      {{"--launcher=posix", "--isolation=cgroups/mem"},
       "needs; use --launcher=linux",
       true},
  };
  int i = 0;
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--master=127.0.0.1:1", "--port=0",
                                     "--http_port=0",
                                     "--work_dir=" + dir + "/work"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    auto agent = Subprocess::Start(BinDir() + "/agora-agent", args,
                                   absl::StrCat(dir, "/agent", i++, ".log"));
    ASSERT_TRUE(agent.ok()) << agent.status();
    EXPECT_EQ((*agent)->Wait(absl::Seconds(30)).value_or(-1), 1);
    if (c.error != "needs; use --launcher=linux" ||
        MissingControllers().empty()) {
      EXPECT_TRUE(absl::StrContains((*agent)->Log(), c.error))
          << (*agent)->Log();
    }
  }
  std::string rm = absl::StrCat("rm -rf '", dir, "'");
  EXPECT_EQ(system(rm.c_str()), 0);
}

// --launcher=linux holds a container in its cgroup even without resource
// controllers (posix isolation on a hybrid host): a daemon that leaves the
// task's session and process group, which the posix launcher's /proc walk
// cannot find once its parent is gone, still dies with the container, and
// the container's cgroup is removed.
TEST(CgroupsLauncherTest, ADaemonThatLeftTheSessionDiesWithItsContainer) {
  const std::string mount = AnyCgroup2Mount();
  if (mount.empty()) {
    if (Required()) FAIL() << "no writable cgroup2 mount";
    GTEST_SKIP() << "no writable cgroup2 mount on this host";
  }
  const std::string root = absl::StrCat("agora-launcher-", getpid());
  LocalCluster::Options o;
  o.agent_flags = {"--launcher=linux", "--cgroups_hierarchy=" + mount,
                   "--cgroups_root=" + root};
  {
    auto cluster = LocalCluster::Start(o);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    auto flags = HttpGet((*cluster)->agent_ports().http, "/flags");
    ASSERT_TRUE(flags.ok());
    EXPECT_EQ(json::parse(*flags)["flags"]["launcher"], "linux");
    // The task starts a daemon in a new session and exits at once.
    auto result = (*cluster)->Execute(
        {"--name=daemonizer",
         "--command=setsid sleep 987654 </dev/null >/dev/null 2>&1 & "
         "sleep 0.2",
         "--resources=cpus:0.1;mem:32"});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 0) << result->output;
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (CountProcesses("sleep 987654") > 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_EQ(CountProcesses("sleep 987654"), 0);
    auto fs = NewRealCgroupFs(mount);
    std::vector<std::string> left;
    while (absl::Now() < deadline) {
      left = fs->Children(root).value_or(std::vector<std::string>{});
      if (left == std::vector<std::string>{"agent"}) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_EQ(left, std::vector<std::string>{"agent"});
  }
  // The agent stopped with the cluster and took its cgroups with it.
  if (NewRealCgroupFs(mount)->Exists(root)) {
    ADD_FAILURE() << "the agent left " << mount << "/" << root;
    std::string rm = absl::StrCat("find '", mount, "/", root,
                                  "' -depth -type d -exec rmdir {} +");
    EXPECT_EQ(system(rm.c_str()), 0);
  }
}

class CgroupsE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    missing_ = new std::string(MissingControllers());
    if (!missing_->empty()) return;
    root_ = new std::string(absl::StrCat("agora-e2e-", getpid()));
    LocalCluster::Options o;
    o.agent_resources = "cpus:8;mem:1024;disk:1024;ports:[31000-32000]";
    o.agent_flags = {"--isolation=cgroups/cpu,cgroups/mem,cgroups/pids",
                     "--cgroups_root=" + *root_, "--cgroups_enable_cfs",
                     "--cgroups_limit_swap",
                     "--cgroups_max_pids_per_container=40"};
    auto cluster = LocalCluster::Start(o);
    if (!cluster.ok()) {
      *missing_ = "";
      start_error_ = new std::string(cluster.status().ToString());
      return;
    }
    cluster_ = cluster->release();
    cluster_was_started_ = true;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    if (root_ != nullptr && cluster_was_started_) {
      // The agent stopped: it went back to its own cgroup and removed its
      // root, containers and all.
      auto fs = NewRealCgroupFs(kHierarchy);
      EXPECT_FALSE(fs->Exists(*root_)) << absl::StrJoin(
          fs->Children(*root_).value_or(std::vector<std::string>{}), ",");
    }
  }

  void SetUp() override {
    if (start_error_ != nullptr) FAIL() << *start_error_;
    if (!missing_->empty()) {
      if (Required()) FAIL() << *missing_;
      GTEST_SKIP() << *missing_;
    }
  }

  int http() { return cluster_->agent_ports().http; }

  // The state of task `id` in the agent's /state, or "".
  std::string AgentTaskState(const std::string& id) {
    auto body = HttpGet(http(), "/state");
    if (!body.ok()) return "";
    json state = json::parse(*body, nullptr, false);
    if (!state.is_object()) return "";
    for (const json& f : state.value("frameworks", json::array())) {
      for (const json& e : f.value("executors", json::array())) {
        for (const json& t : e.value("tasks", json::array())) {
          if (t.value("id", "") == id) return t.value("state", "");
        }
      }
    }
    return "";
  }

  // /monitor/statistics entries by executor id.
  std::map<std::string, json> Statistics() {
    std::map<std::string, json> out;
    auto body = HttpGet(http(), "/monitor/statistics");
    if (!body.ok()) return out;
    json j = json::parse(*body, nullptr, false);
    if (!j.is_array()) return out;
    for (const json& e : j) out[e["executor_id"]] = e;
    return out;
  }

  // The operator API's GET_CONTAINERS (HTTP JSON): each container's
  // resource_statistics by executor id.
  std::map<std::string, json> OperatorStatistics() {
    std::map<std::string, json> out;
    auto r = HttpPost(http(), "/api/v1", R"({"type": "GET_CONTAINERS"})",
                      "application/json", "application/json");
    if (!r.ok() || r->status != 200) return out;
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return out;
    for (const json& c : j["get_containers"].value("containers", json())) {
      out[c["executor_id"]["value"]] = c["resource_statistics"];
    }
    return out;
  }

  std::string ContainerPath(const std::string& container) {
    return absl::StrCat(kHierarchy, "/", *root_, "/", container);
  }

  static std::string* missing_;
  static std::string* start_error_;
  static inline bool cluster_was_started_ = false;
  static std::string* root_;
  static LocalCluster* cluster_;
};

std::string* CgroupsE2ETest::missing_ = nullptr;
std::string* CgroupsE2ETest::start_error_ = nullptr;
std::string* CgroupsE2ETest::root_ = nullptr;
LocalCluster* CgroupsE2ETest::cluster_ = nullptr;

TEST_F(CgroupsE2ETest, OverMemoryLimitFailsWithLimitationUnderLimitFinishes) {
  auto hog =
      cluster_->Execute({"--name=hog", "--resources=cpus:0.5;mem:32",
                         "--command=awk 'BEGIN{s=\"x\"; while (1) s = s s}'"});
  ASSERT_TRUE(hog.ok()) << hog.status();
  EXPECT_NE(hog->exit_code, 0) << hog->output;
  EXPECT_TRUE(absl::StrContains(hog->output, "TASK_FAILED")) << hog->output;
  EXPECT_TRUE(absl::StrContains(hog->output,
                                "reason: REASON_CONTAINER_LIMITATION_MEMORY"))
      << hog->output;
  EXPECT_TRUE(absl::StrContains(hog->output, "Memory limit exceeded"))
      << hog->output;
  EXPECT_TRUE(absl::StrContains(hog->output, "resource limit violation: mem:"))
      << hog->output;

  auto small = cluster_->Execute(
      {"--name=small", "--resources=cpus:0.5;mem:64",
       "--command=awk 'BEGIN{s=\"x\"; for (i = 0; i < 20; i++) s = s s}'"});
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->exit_code, 0) << small->output;
  EXPECT_TRUE(absl::StrContains(small->output, "TASK_FINISHED"))
      << small->output;
}

TEST_F(CgroupsE2ETest, ForkBombIsHeldAtPidsMax) {
  std::atomic<bool> done{false};
  LocalCluster::ExecuteResult result;
  std::thread run([&] {
    auto r = cluster_->Execute(
        {"--name=bomb", "--resources=cpus:0.5;mem:128",
         "--command=for i in $(seq 200); do sleep 4 & done 2>/dev/null; "
         "wait"});
    if (r.ok()) result = *r;
    done = true;
  });
  uint64_t max_seen = 0, limit = 0, events_max = 0;
  bool agent_healthy = true;
  while (!done) {
    auto stats = Statistics();
    if (stats.count("bomb")) {
      const json& s = stats["bomb"]["statistics"];
      max_seen = std::max<uint64_t>(max_seen, s.value("pids_current", 0));
      limit = s.value("pids_max", 0);
      std::string events =
          Slurp(ContainerPath(stats["bomb"]["container_id"]) + "/pids.events");
      events_max =
          std::max<uint64_t>(events_max, ParseKeyedFile(events)["max"]);
    }
    agent_healthy &= HttpGet(http(), "/health").ok();
    absl::SleepFor(absl::Milliseconds(100));
  }
  run.join();
  EXPECT_EQ(limit, 40u);
  EXPECT_LE(max_seen, 40u);
  EXPECT_GE(events_max, 1u) << "no fork was refused";
  EXPECT_TRUE(agent_healthy);
  EXPECT_TRUE(absl::StrContains(result.output, "for task 'bomb'"))
      << result.output;
}

TEST_F(CgroupsE2ETest, BusyLoopUnderCpuMaxIsThrottled) {
  std::atomic<bool> done{false};
  std::thread run([&] {
    auto r = cluster_->Execute({"--name=busy", "--resources=cpus:0.1;mem:64",
                                "--command=timeout 3 sh -c 'while :; do :; "
                                "done'; exit 0"});
    done = true;
  });
  uint64_t throttled = 0, operator_throttled = 0, operator_anon = 0;
  double limit = 0, operator_limit = 0;
  while (!done) {
    auto stats = Statistics();
    if (stats.count("busy")) {
      const json& s = stats["busy"]["statistics"];
      throttled =
          std::max<uint64_t>(throttled, s.value("cpus_nr_throttled", 0));
      limit = s.value("cpus_limit", 0.0);
    }
    // The operator API's GET_CONTAINERS reads the same cgroup files.
    auto op = OperatorStatistics();
    if (op.count("busy")) {
      const json& s = op["busy"];
      operator_throttled = std::max<uint64_t>(operator_throttled,
                                              s.value("cpus_nr_throttled", 0));
      operator_anon =
          std::max<uint64_t>(operator_anon, s.value("mem_anon_bytes", 0));
      operator_limit = s.value("cpus_limit", 0.0);
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  run.join();
  EXPECT_GT(throttled, 0u);
  EXPECT_NEAR(limit, 0.2, 0.01);  // 0.1 + the executor's 0.1.
  EXPECT_GT(operator_throttled, 0u);
  EXPECT_GT(operator_anon, 0u);
  EXPECT_NEAR(operator_limit, 0.2, 0.01);
  // The agent's metrics carry the containers' figures too.
  auto metrics = HttpGet(http(), "/metrics/snapshot");
  ASSERT_TRUE(metrics.ok());
  EXPECT_TRUE(
      json::parse(*metrics).contains("containerizer/mesos/cpus_nr_throttled"));
}

TEST_F(CgroupsE2ETest, CpusOneAndThreeShareAboutOneToThree) {
  std::atomic<int> done{0};
  std::string loops =
      "--command=timeout 10 sh -c 'while :; do :; done' & "
      "timeout 10 sh -c 'while :; do :; done' & wait; exit 0";
  std::thread a([&] {
    auto r =
        cluster_->Execute({"--name=one", "--resources=cpus:1;mem:64", loops});
    ++done;
  });
  std::thread b([&] {
    auto r =
        cluster_->Execute({"--name=three", "--resources=cpus:3;mem:64", loops});
    ++done;
  });
  auto cpu = [](const json& e) {
    return e["statistics"].value("cpus_user_time_secs", 0.0) +
           e["statistics"].value("cpus_system_time_secs", 0.0);
  };
  double ratio = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (done == 0 && absl::Now() < deadline) {
    auto s0 = Statistics();
    if (!s0.count("one") || !s0.count("three") ||
        s0["one"]["statistics"].value("processes", 0) < 3 ||
        s0["three"]["statistics"].value("processes", 0) < 3) {
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    absl::SleepFor(absl::Seconds(3));
    auto s1 = Statistics();
    if (!s1.count("one") || !s1.count("three")) break;
    double one = cpu(s1["one"]) - cpu(s0["one"]);
    double three = cpu(s1["three"]) - cpu(s0["three"]);
    ASSERT_GT(one, 0) << "no cpu time measured";
    ratio = three / one;
    break;
  }
  a.join();
  b.join();
  EXPECT_GT(ratio, 1.8);
  EXPECT_LT(ratio, 5.0);
}

TEST_F(CgroupsE2ETest, KillLeavesNoProcessAndNoCgroup) {
  std::string container;
  std::atomic<bool> done{false};
  LocalCluster::ExecuteResult result;
  std::thread run([&] {
    auto r = cluster_->Execute(
        {"--name=victim", "--resources=cpus:0.5;mem:64", "--kill_after=2secs",
         "--command=sleep 1234 & sleep 1234 & sleep 1234"});
    if (r.ok()) result = *r;
    done = true;
  });
  while (!done) {
    auto stats = Statistics();
    if (stats.count("victim")) container = stats["victim"]["container_id"];
    absl::SleepFor(absl::Milliseconds(100));
  }
  run.join();
  EXPECT_TRUE(absl::StrContains(result.output, "TASK_KILLED")) << result.output;
  ASSERT_FALSE(container.empty());
  EXPECT_TRUE(WaitFor(
      [&] { return access(ContainerPath(container).c_str(), F_OK) != 0; },
      absl::Seconds(10)))
      << ContainerPath(container) << " is left";
  EXPECT_TRUE(WaitFor([] { return CountProcesses("sleep 1234") == 0; },
                      absl::Seconds(10)))
      << CountProcesses("sleep 1234") << " sleep processes left";
}

// An agent killed with SIGKILL and started again adopts the container of a
// checkpointing task with its cgroup as it was: the memory limit still
// holds, and going over it is still reported as a memory limitation.
TEST_F(CgroupsE2ETest, AdoptedContainerKeepsItsMemoryLimitAfterAnAgentCrash) {
  const std::string go = cluster_->root() + "/go-hog";
  std::atomic<bool> done{false};
  LocalCluster::ExecuteResult result;
  std::thread run([&] {
    auto r = cluster_->Execute(
        {"--name=recovered-hog", "--checkpoint", "--resources=cpus:0.5;mem:32",
         absl::StrCat("--command=while [ ! -e ", go,
                      " ]; do sleep 0.1; done; "
                      "awk 'BEGIN{s=\"x\"; while (1) s = s s}'")},
        absl::Seconds(300));
    if (r.ok()) result = *r;
    done = true;
  });
  // Running, not only launched: a task whose executor has not subscribed
  // yet is dropped by the restarted agent (REASON_AGENT_RESTARTED).
  ASSERT_TRUE(WaitFor(
      [&] { return AgentTaskState("recovered-hog") == "TASK_RUNNING" || done; },
      absl::Seconds(120)));
  ASSERT_FALSE(done) << result.output;
  std::string container =
      Statistics()["recovered-hog"].value("container_id", "");
  ASSERT_FALSE(container.empty());
  const std::string memory_max =
      Slurp(ContainerPath(container) + "/memory.max");
  ASSERT_FALSE(memory_max.empty());

  ASSERT_TRUE(cluster_->RestartAgent(0, SIGKILL, {}).ok());
  ASSERT_TRUE(cluster_->WaitForAgents(1).ok());
  // Adopted, not recreated: the same cgroup with the same limit.
  EXPECT_EQ(Slurp(ContainerPath(container) + "/memory.max"), memory_max);
  ASSERT_TRUE(WaitFor([&] { return Statistics().count("recovered-hog") > 0; },
                      absl::Seconds(60)));
  { std::ofstream(go.c_str()) << "go\n"; }
  run.join();
  EXPECT_TRUE(absl::StrContains(result.output, "TASK_FAILED")) << result.output;
  EXPECT_TRUE(absl::StrContains(result.output,
                                "reason: REASON_CONTAINER_LIMITATION_MEMORY"))
      << result.output;
  EXPECT_FALSE(absl::StrContains(result.output, "TASK_LOST")) << result.output;
  EXPECT_TRUE(WaitFor(
      [&] { return access(ContainerPath(container).c_str(), F_OK) != 0; },
      absl::Seconds(30)))
      << ContainerPath(container) << " is left";
}

}  // namespace
}  // namespace agora::testing
