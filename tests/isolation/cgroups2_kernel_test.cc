// Real-kernel tests of the cgroups v2 isolator and the launcher, in a
// private sub-tree (agora-test-<pid>-<n>) of this machine's cgroup2 mount.
//
// Lifecycle tests (create, birth in the cgroup through clone3 and through
// the cgroup.procs fallback, populated events, freeze, kill, usage,
// removal) need only a cgroup2 mount. Limit tests need the cpu, memory and
// pids controllers; where the hierarchy does not offer them (hybrid hosts
// whose controllers belong to cgroup v1) they skip with the reason, and
// with AGORA_REQUIRE_CGROUP_CONTROLLERS=1 (the VM tier) they fail instead.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "isolation/cgroup_fs.h"
#include "isolation/cgroups2_isolator.h"
#include "isolation/posix_launcher.h"

namespace agora {
namespace {

std::string FindCgroup2Mount() {
  if (const char* env = getenv("AGORA_CGROUP2_MOUNT")) return env;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // "... <mount point> <options> - cgroup2 <source> <super options>"
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    for (size_t i = 0; i + 1 < f.size(); ++i) {
      if (f[i] == "-" && f[i + 1] == "cgroup2" && f.size() > 4) return f[4];
    }
  }
  return "";
}

bool RequireControllers() {
  const char* env = getenv("AGORA_REQUIRE_CGROUP_CONTROLLERS");
  return env != nullptr && std::string(env) == "1";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WaitUntil(const std::function<bool()>& fn,
               absl::Duration timeout = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (fn()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return fn();
}

class CgroupsKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    mount_ = FindCgroup2Mount();
    if (mount_.empty() || !IsCgroup2Mount(mount_)) {
      if (RequireControllers()) FAIL() << "no cgroup2 mount found";
      GTEST_SKIP() << "no cgroup2 mount on this machine";
    }
    fs_ = NewRealCgroupFs(mount_);
    static int counter = 0;
    root_ = absl::StrCat("agora-test-", getpid(), "-", counter++);
    // Where this test process lives now, to return there after Prepare.
    std::string self = Slurp("/proc/self/cgroup");
    for (absl::string_view line : absl::StrSplit(self, '\n')) {
      if (absl::ConsumePrefix(&line, "0::")) {
        home_ = std::string(absl::StripPrefix(line, "/"));
      }
    }
    std::set<std::string> have;
    if (auto a = AvailableControllers(*fs_, ""); a.ok()) have = *a;
    std::string flag;
    for (const auto& [ctl, iso] :
         std::vector<std::pair<std::string, std::string>>{
             {"cpu", "cgroups/cpu"},
             {"memory", "cgroups/mem"},
             {"pids", "cgroups/pids"}}) {
      if (have.count(ctl)) {
        absl::StrAppend(&flag, flag.empty() ? "" : ",", iso);
      } else {
        missing_.push_back(ctl);
      }
    }
    Cgroups2Isolator::Options o;
    o.root = root_;
    if (!flag.empty()) o.isolation = *ParseIsolation(flag);
    isolator_ = std::make_unique<Cgroups2Isolator>(fs_.get(), o);
    absl::Status prepared = isolator_->Prepare(getpid());
    ASSERT_TRUE(prepared.ok()) << prepared;
    prepared_ = true;
    in_agent_leaf_ = Slurp("/proc/self/cgroup");
    ASSERT_TRUE(fs_->Write(home_, "cgroup.procs", absl::StrCat(getpid())).ok());
    char tmpl[] = "/tmp/agora-cg-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    if (!prepared_) return;
    for (const std::string& id :
         isolator_->Containers().value_or(std::vector<std::string>{})) {
      EXPECT_TRUE(isolator_->Destroy(id).ok());
    }
    for (const char* cg : {"agent/leaf", "agent", ""}) {
      std::string path = absl::StrCat(root_, *cg ? "/" : "", cg);
      absl::Status st = fs_->Remove(path);
      EXPECT_TRUE(st.ok()) << st;
    }
    if (!dir_.empty()) {
      std::string cmd = absl::StrCat("rm -rf '", dir_, "'");
      EXPECT_EQ(system(cmd.c_str()), 0);
    }
  }

  // Skips (or fails, in the VM tier) unless `controllers` are enforced.
  bool HaveControllers(const std::vector<std::string>& controllers) {
    for (const std::string& c : controllers) {
      for (const std::string& m : missing_) {
        if (c == m) {
          reason_ =
              absl::StrCat("the cgroup2 hierarchy at ", mount_, " has no '", c,
                           "' controller (it belongs to cgroup v1 on "
                           "this host); limits are tested in the VM "
                           "tier");
          return false;
        }
      }
    }
    return true;
  }

  struct Launched {
    pid_t pid = 0;
    std::shared_ptr<std::promise<int>> exit;
    std::future<int> status;
  };

  Launched Launch(PosixLauncher& launcher, const std::string& id,
                  const std::string& script, LaunchSpec spec = {}) {
    spec.program = "/bin/sh";
    spec.argv = {"sh", "-c", script};
    spec.env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};
    if (!id.empty()) spec.cgroup = isolator_->LeafPath(id);
    Launched l;
    l.exit = std::make_shared<std::promise<int>>();
    l.status = l.exit->get_future();
    absl::StatusOr<pid_t> pid = launcher.Launch(
        spec, [p = l.exit](pid_t, int status) { p->set_value(status); });
    EXPECT_TRUE(pid.ok()) << pid.status();
    l.pid = pid.value_or(0);
    return l;
  }

  std::string Events(const std::string& id) {
    return fs_->Read(isolator_->ContainerCgroup(id), "cgroup.events")
        .value_or("");
  }

  std::string mount_, root_, home_, dir_, reason_, in_agent_leaf_;
  std::vector<std::string> missing_;
  std::unique_ptr<CgroupFs> fs_;
  std::unique_ptr<Cgroups2Isolator> isolator_;
  bool prepared_ = false;
};

#define REQUIRE_CONTROLLERS(...)                   \
  do {                                             \
    if (!HaveControllers({__VA_ARGS__})) {         \
      if (RequireControllers()) FAIL() << reason_; \
      GTEST_SKIP() << reason_;                     \
    }                                              \
  } while (0)

TEST_F(CgroupsKernelTest, PrepareMovedTheAgentIntoItsLeaf) {
  EXPECT_TRUE(absl::StrContains(in_agent_leaf_, root_ + "/agent/leaf"))
      << in_agent_leaf_;
  EXPECT_TRUE(fs_->Exists(root_ + "/agent/leaf"));
}

TEST_F(CgroupsKernelTest, ProcessIsBornInItsCgroupWithClone3) {
  ASSERT_TRUE(isolator_->Create("c", CgroupLimits{}).ok());
  PosixLauncher launcher;
  std::string out = dir_ + "/cgroup";
  Launched l = Launch(launcher, "c", "cat /proc/self/cgroup > " + out);
  ASSERT_EQ(l.status.get(), 0);
  EXPECT_TRUE(absl::StrContains(Slurp(out), root_ + "/c/leaf")) << Slurp(out);
}

TEST_F(CgroupsKernelTest, ProcessIsBornInItsCgroupWithProcsFallback) {
  ASSERT_TRUE(isolator_->Create("c", CgroupLimits{}).ok());
  PosixLauncher launcher(PosixLauncher::Options{.use_clone3 = false});
  std::string out = dir_ + "/cgroup";
  Launched l = Launch(launcher, "c", "cat /proc/self/cgroup > " + out);
  ASSERT_EQ(l.status.get(), 0);
  EXPECT_TRUE(absl::StrContains(Slurp(out), root_ + "/c/leaf")) << Slurp(out);
}

TEST_F(CgroupsKernelTest, LaunchIntoMissingCgroupFails) {
  PosixLauncher launcher;
  LaunchSpec spec;
  spec.program = "/bin/true";
  spec.cgroup = isolator_->LeafPath("never-created");
  absl::StatusOr<pid_t> pid = launcher.Launch(spec, [](pid_t, int) {});
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CgroupsKernelTest, EmptyContainerIsRemovedWithoutKill) {
  ASSERT_TRUE(isolator_->Create("w", CgroupLimits{}).ok());
  const std::string cg = isolator_->ContainerCgroup("w");
  ASSERT_TRUE(isolator_->Destroy("w").ok());
  EXPECT_FALSE(fs_->Exists(cg));
  EXPECT_TRUE(isolator_->Destroy("w").ok());  // Gone already: fine.
  // A container whose leaf is gone, with a process in <id> itself: the
  // rmdir of <id> fails with EBUSY, so the process is killed first.
  ASSERT_TRUE(isolator_->Create("p", CgroupLimits{}).ok());
  const std::string p = isolator_->ContainerCgroup("p");
  ASSERT_TRUE(fs_->Remove(p + "/leaf").ok());
  PosixLauncher launcher;
  LaunchSpec spec;
  spec.program = "/bin/sleep";
  spec.argv = {"sleep", "100"};
  spec.cgroup = fs_->Path(p);
  auto exit = std::make_shared<std::promise<int>>();
  std::future<int> status = exit->get_future();
  absl::StatusOr<pid_t> pid =
      launcher.Launch(spec, [exit](pid_t, int s) { exit->set_value(s); });
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_TRUE(isolator_->Destroy("p").ok());
  EXPECT_FALSE(fs_->Exists(p));
  int s = status.get();
  EXPECT_TRUE(WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL) << s;
}

TEST_F(CgroupsKernelTest, PopulatedFreezeKillAndRemoval) {
  ASSERT_TRUE(isolator_->Create("c", CgroupLimits{}).ok());
  PosixLauncher launcher;
  Launched l =
      Launch(launcher, "c", "sleep 100 & sleep 100 & sleep 100 & wait");
  ASSERT_TRUE(WaitUntil([&] {
    return isolator_->Usage("c").value_or(CgroupUsage{}).processes ==
           std::optional<uint64_t>(4);
  })) << "expected the shell and three sleeps";
  EXPECT_TRUE(absl::StrContains(Events("c"), "populated 1"));
  std::string procs = fs_->Read(root_ + "/c/leaf", "cgroup.procs").value_or("");
  std::vector<pid_t> pids;
  for (absl::string_view s : absl::StrSplit(procs, '\n', absl::SkipEmpty())) {
    pid_t p;
    if (absl::SimpleAtoi(s, &p)) pids.push_back(p);
  }
  ASSERT_TRUE(
      fs_->Write(isolator_->ContainerCgroup("c"), "cgroup.freeze", "1").ok());
  EXPECT_TRUE(
      WaitUntil([&] { return absl::StrContains(Events("c"), "frozen 1"); }));
  ASSERT_TRUE(isolator_->Destroy("c").ok());
  EXPECT_FALSE(fs_->Exists(isolator_->ContainerCgroup("c")));
  int status = l.status.get();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  for (pid_t p : pids) {
    EXPECT_TRUE(WaitUntil([p] {
      std::string stat = Slurp(absl::StrCat("/proc/", p, "/stat"));
      return stat.empty() || absl::StrContains(stat, ") Z ");
    })) << "process "
        << p << " survived the kill";
  }
}

TEST_F(CgroupsKernelTest, UsageCountsCpuTime) {
  ASSERT_TRUE(isolator_->Create("c", CgroupLimits{}).ok());
  PosixLauncher launcher;
  Launched l = Launch(launcher, "c", "while :; do :; done");
  absl::SleepFor(absl::Milliseconds(500));
  CgroupUsage u = isolator_->Usage("c").value();
  ASSERT_TRUE(u.usage_usec.has_value());
  EXPECT_GT(*u.usage_usec, 50000u);
  EXPECT_GT(u.user_usec.value_or(0) + u.system_usec.value_or(0), 0u);
  ASSERT_TRUE(isolator_->Destroy("c").ok());
  l.status.get();
}

TEST_F(CgroupsKernelTest, PidNamespaceMakesTheProgramPidOne) {
  PosixLauncher launcher;
  LaunchSpec spec;
  spec.new_pid_namespace = true;
  std::string out = dir_ + "/pid";
  Launched l = Launch(
      launcher, "",
      "echo $$ > " + out + "; ls /proc | grep -c '^[0-9]' >> " + out, spec);
  ASSERT_EQ(l.status.get(), 0);
  std::vector<std::string> lines =
      absl::StrSplit(Slurp(out), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << Slurp(out);
  EXPECT_EQ(lines[0], "1");
  int visible = 0;
  ASSERT_TRUE(absl::SimpleAtoi(lines[1], &visible));
  EXPECT_LE(visible, 3) << "the new /proc shows only the namespace's pids";
}

TEST_F(CgroupsKernelTest, PrivateTmpIsTheGivenDirectory) {
  PosixLauncher launcher;
  LaunchSpec spec;
  std::string tmp = dir_ + "/tmp";
  ASSERT_EQ(mkdir(tmp.c_str(), 01777), 0);
  spec.private_tmp = tmp;
  std::string marker = absl::StrCat("agora-private-", getpid());
  Launched l = Launch(launcher, "", "touch /tmp/" + marker, spec);
  ASSERT_EQ(l.status.get(), 0);
  EXPECT_EQ(access((tmp + "/" + marker).c_str(), F_OK), 0);
  EXPECT_NE(access(("/tmp/" + marker).c_str(), F_OK), 0);
}

// The program is opened before the child mounts its private /tmp, so a
// binary that lives under the host's /tmp (a build tree cloned there) still
// starts.
TEST_F(CgroupsKernelTest, PrivateTmpDoesNotHideAProgramUnderTmp) {
  char host_dir[] = "/tmp/agora-program-XXXXXX";
  ASSERT_NE(mkdtemp(host_dir), nullptr);
  std::string program = std::string(host_dir) + "/sh";
  std::error_code ec;
  std::filesystem::copy_file(std::filesystem::canonical("/bin/sh"), program,
                             ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(chmod(program.c_str(), 0755), 0);
  std::string tmp = dir_ + "/tmp2";
  ASSERT_EQ(mkdir(tmp.c_str(), 01777), 0);
  PosixLauncher launcher;
  LaunchSpec spec;
  spec.private_tmp = tmp;
  spec.program = program;
  spec.argv = {"sh", "-c", "echo ran > /tmp/ran"};  // The private /tmp.
  spec.env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};
  auto exit = std::make_shared<std::promise<int>>();
  std::future<int> status = exit->get_future();
  absl::StatusOr<pid_t> pid =
      launcher.Launch(spec, [exit](pid_t, int s) { exit->set_value(s); });
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_EQ(status.get(), 0);
  EXPECT_EQ(Slurp(tmp + "/ran"), "ran\n");
  std::filesystem::remove_all(host_dir, ec);
}

TEST_F(CgroupsKernelTest, SwitchesUser) {
  absl::StatusOr<LaunchSpec::User> nobody = LookupUser("nobody");
  if (!nobody.ok()) GTEST_SKIP() << nobody.status();
  EXPECT_EQ(LookupUser("no-such-user-agora").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  PosixLauncher launcher;
  LaunchSpec spec;
  spec.user = *nobody;
  std::string out = dir_ + "/id";
  Launched l = Launch(launcher, "", "id -u > " + out, spec);
  ASSERT_EQ(l.status.get(), 0);
  EXPECT_EQ(absl::StripAsciiWhitespace(Slurp(out)), absl::StrCat(nobody->uid));
}

// ---- Limits: need the controllers (VM tier). ----

TEST_F(CgroupsKernelTest, MemoryMaxOomKillsAndIsReported) {
  REQUIRE_CONTROLLERS("memory");
  CgroupLimits limits =
      ComputeLimits({.cpus = 1, .mem_mb = 32}, {.limit_swap = true}).value();
  ASSERT_TRUE(isolator_->Create("mem", limits).ok());
  EXPECT_EQ(absl::StripAsciiWhitespace(
                fs_->Read(isolator_->ContainerCgroup("mem"), "memory.swap.max")
                    .value_or("")),
            "0");
  PosixLauncher launcher;
  Launched l =
      Launch(launcher, "mem", "exec awk 'BEGIN{s=\"x\"; while (1) s = s s}'");
  ASSERT_EQ(l.status.wait_for(std::chrono::seconds(60)),
            std::future_status::ready);
  int status = l.status.get();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_GE(isolator_->OomKills("mem").value_or(0), 1u);
  EXPECT_TRUE(absl::StrContains(isolator_->OomMessage("mem"),
                                std::to_string(32u << 20)));
}

TEST_F(CgroupsKernelTest, PidsMaxHoldsAForkBomb) {
  REQUIRE_CONTROLLERS("pids");
  CgroupLimits limits =
      ComputeLimits({.cpus = 1, .mem_mb = 64}, {.max_pids = 16}).value();
  ASSERT_TRUE(isolator_->Create("pids", limits).ok());
  PosixLauncher launcher;
  Launched l = Launch(launcher, "pids",
                      "for i in $(seq 40); do sleep 100 & done 2>/dev/null; "
                      "wait");
  absl::SleepFor(absl::Seconds(2));
  CgroupUsage u = isolator_->Usage("pids").value();
  EXPECT_LE(u.pids_current.value_or(999), 16u);
  EXPECT_GE(u.pids_current.value_or(0), 8u);
  std::string events =
      fs_->Read(isolator_->ContainerCgroup("pids"), "pids.events").value_or("");
  EXPECT_GE(ParseKeyedFile(events)["max"], 1u) << events;
  ASSERT_TRUE(isolator_->Destroy("pids").ok());
  l.status.get();
}

TEST_F(CgroupsKernelTest, CpuMaxThrottles) {
  REQUIRE_CONTROLLERS("cpu");
  CgroupLimits limits =
      ComputeLimits({.cpus = 0.1, .mem_mb = 64, .cpus_limit = 0.1}, {}).value();
  ASSERT_TRUE(isolator_->Create("cpu", limits).ok());
  PosixLauncher launcher;
  Launched l = Launch(launcher, "cpu", "while :; do :; done");
  absl::SleepFor(absl::Milliseconds(1500));
  CgroupUsage u = isolator_->Usage("cpu").value();
  ASSERT_TRUE(isolator_->Destroy("cpu").ok());
  l.status.get();
  EXPECT_GT(u.nr_throttled.value_or(0), 0u);
  EXPECT_GT(u.throttled_usec.value_or(0), 0u);
  // 10% of 1.5 s is 150 ms; wide bounds for emulated CPUs.
  EXPECT_LT(u.usage_usec.value_or(0), 600000u);
  EXPECT_GT(u.usage_usec.value_or(0), 20000u);
}

TEST_F(CgroupsKernelTest, CpuWeightSharesOneToThree) {
  REQUIRE_CONTROLLERS("cpu");
  // Each container runs one busy loop per CPU, so they contend and the
  // weights (100 vs 300) decide the split.
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  std::string loops;
  for (long i = 0; i < cpus; ++i) loops += "while :; do :; done & ";
  loops += "wait";
  ASSERT_TRUE(
      isolator_
          ->Create("one", ComputeLimits({.cpus = 1, .mem_mb = 64}, {}).value())
          .ok());
  ASSERT_TRUE(isolator_
                  ->Create("three",
                           ComputeLimits({.cpus = 3, .mem_mb = 64}, {}).value())
                  .ok());
  PosixLauncher launcher;
  Launched a = Launch(launcher, "one", loops);
  Launched b = Launch(launcher, "three", loops);
  absl::SleepFor(absl::Seconds(3));
  uint64_t one = isolator_->Usage("one")->usage_usec.value_or(0);
  uint64_t three = isolator_->Usage("three")->usage_usec.value_or(0);
  ASSERT_TRUE(isolator_->Destroy("one").ok());
  ASSERT_TRUE(isolator_->Destroy("three").ok());
  a.status.get();
  b.status.get();
  ASSERT_GT(one, 0u);
  double ratio = static_cast<double>(three) / static_cast<double>(one);
  EXPECT_GT(ratio, 1.8) << one << " vs " << three;
  EXPECT_LT(ratio, 5.0) << one << " vs " << three;
}

TEST_F(CgroupsKernelTest, IoWeightIsWritten) {
  REQUIRE_CONTROLLERS("cpu");  // The VM tier, where io is offered too.
  std::set<std::string> have =
      AvailableControllers(*fs_, "").value_or(std::set<std::string>{});
  ASSERT_TRUE(have.count("io")) << "no io controller";
  Cgroups2Isolator::Options o;
  o.root = root_ + "-io";
  o.isolation = *ParseIsolation("cgroups/io");
  Cgroups2Isolator io(fs_.get(), o);
  ASSERT_TRUE(io.Prepare(getpid()).ok());
  ASSERT_TRUE(fs_->Write(home_, "cgroup.procs", absl::StrCat(getpid())).ok());
  absl::Status created =
      io.Create("c", ComputeLimits({.cpus = 2, .mem_mb = 64}, {}).value());
  EXPECT_TRUE(created.ok()) << created;
  if (created.ok()) {
    EXPECT_TRUE(absl::StrContains(
        fs_->Read(io.ContainerCgroup("c"), "io.weight").value_or(""),
        "default 200"));
  }
  EXPECT_TRUE(io.Destroy("c").ok());
  for (const char* cg : {"/agent/leaf", "/agent", ""}) {
    EXPECT_TRUE(fs_->Remove(o.root + cg).ok());
  }
}

}  // namespace
}  // namespace agora
