// Unit tests of the cgroups v2 isolator's logic against FakeCgroupFs: the
// --isolation names and default rule, the limits Mesos derives from
// resources, the hierarchy the agent creates, each file written, teardown,
// usage and OOM reporting.
#include "isolation/cgroups2_isolator.h"

#include <cmath>
#include <limits>

#include "absl/strings/match.h"
#include "fake_cgroup_fs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isolation/isolation_config.h"

namespace agora {
namespace {

using ::agora::testing::FakeCgroupFs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

IsolationConfig Iso(const std::string& flag) {
  absl::StatusOr<IsolationConfig> c = ParseIsolation(flag);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.value_or(IsolationConfig{});
}

TEST(IsolationConfigTest, ParsesMesosNamesAndExpandsAll) {
  EXPECT_EQ(Iso("cgroups/all").ToString(),
            "cgroups/cpu,cgroups/io,cgroups/mem,cgroups/pids");
  EXPECT_THAT(Iso("cgroups/all").Controllers(),
              ElementsAre("cpu", "io", "memory", "pids"));
  EXPECT_EQ(Iso("posix/cpu, posix/mem").ToString(), "posix/cpu,posix/mem");
  EXPECT_FALSE(Iso("posix/cpu,posix/mem").UsesCgroups());
  IsolationConfig ns = Iso("cgroups/mem,namespaces/pid,filesystem/linux");
  EXPECT_TRUE(ns.Has("namespaces/pid"));
  EXPECT_TRUE(ns.Has("filesystem/linux"));
  EXPECT_THAT(ns.Controllers(), ElementsAre("memory"));
}

TEST(IsolationConfigTest, RejectsUnknownEmptyAndConflicting) {
  EXPECT_THAT(ParseIsolation("cgroups/cpu,cgroups/gpu").status().message(),
              HasSubstr("unknown isolator 'cgroups/gpu'"));
  EXPECT_FALSE(ParseIsolation(" , ").ok());
  EXPECT_THAT(ParseIsolation("posix/mem,cgroups/mem").status().message(),
              HasSubstr("cannot be used together"));
}

TEST(IsolationConfigTest, DefaultIsCgroupsWhereControllersExist) {
  FakeCgroupFs fs;
  absl::StatusOr<IsolationConfig> c =
      ResolveIsolation("", &fs, "/sys/fs/cgroup", "agora");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ToString(), "cgroups/cpu,cgroups/mem,cgroups/pids");
}

TEST(IsolationConfigTest, DefaultIsPosixWithoutControllersOrCgroup2) {
  FakeCgroupFs hybrid({"hugetlb"});  // This CI host's cgroup2 mount.
  EXPECT_EQ(ResolveIsolation("", &hybrid, "/x", "agora")->ToString(),
            "posix/cpu,posix/mem");
  EXPECT_EQ(ResolveIsolation("", nullptr, "/x", "agora")->ToString(),
            "posix/cpu,posix/mem");
}

TEST(IsolationConfigTest, ExplicitCgroupsWithoutControllerNamesIt) {
  FakeCgroupFs hybrid({"hugetlb"});
  absl::StatusOr<IsolationConfig> c =
      ResolveIsolation("cgroups/mem", &hybrid, "/x", "agora");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(c.status().message(), HasSubstr("memory"));
  EXPECT_THAT(c.status().message(), HasSubstr("it has: hugetlb"));
  absl::StatusOr<IsolationConfig> none =
      ResolveIsolation("cgroups/cpu", nullptr, "/not/cgroup2", "agora");
  EXPECT_THAT(none.status().message(),
              HasSubstr("'/not/cgroup2' is not a cgroup2 mount"));
  // A nested root is checked against its parent.
  FakeCgroupFs fs;
  EXPECT_THAT(
      ResolveIsolation("cgroups/cpu", &fs, "/x", "a/agora").status().message(),
      HasSubstr("does not exist"));
}

TEST(ComputeLimitsTest, CpuWeightIsHundredPerCpuAtLeastOne) {
  ContainerResources r{.cpus = 1.1, .mem_mb = 96};
  CgroupLimits l = ComputeLimits(r, {}).value();
  EXPECT_EQ(l.cpu_weight, 110u);
  EXPECT_EQ(l.io_weight, 110u);
  EXPECT_FALSE(l.cpu_max_quota_us.has_value());  // No limit, no CFS.
  r.cpus = 0.001;
  EXPECT_EQ(ComputeLimits(r, {})->cpu_weight, 1u);
  r.cpus = 500;
  EXPECT_EQ(ComputeLimits(r, {})->cpu_weight, 10000u);
}

TEST(ComputeLimitsTest, CpuMaxFromLimitOrRequestWithCfs) {
  ContainerResources r{.cpus = 0.5, .mem_mb = 64};
  CgroupsLimitOptions cfs{.enable_cfs = true};
  CgroupLimits l = ComputeLimits(r, cfs).value();
  EXPECT_EQ(l.cpu_max_quota_us, 50000u);
  EXPECT_EQ(l.cpu_period_us, 100000u);
  r.cpus_limit = 2;
  EXPECT_EQ(ComputeLimits(r, {})->cpu_max_quota_us, 200000u);
  r.cpus_limit = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(ComputeLimits(r, cfs)->cpu_max_quota_us.has_value());
  ContainerResources tiny{.cpus = 0.001, .mem_mb = 1};
  EXPECT_EQ(ComputeLimits(tiny, cfs)->cpu_max_quota_us, 1000u);  // 1 ms min.
}

TEST(ComputeLimitsTest, MemoryLowAndMaxAtLeast32MB) {
  ContainerResources r{.cpus = 1, .mem_mb = 16};
  CgroupLimits l = ComputeLimits(r, {}).value();
  EXPECT_EQ(l.memory_low, 32u << 20);
  EXPECT_EQ(l.memory_max, 32u << 20);
  EXPECT_FALSE(l.swap_max_zero);
  r.mem_mb = 100;
  r.mem_limit_mb = 300;
  l = ComputeLimits(r, {.limit_swap = true}).value();
  EXPECT_EQ(l.memory_low, 100u << 20);
  EXPECT_EQ(l.memory_max, 300u << 20);
  EXPECT_TRUE(l.swap_max_zero);
  r.mem_limit_mb = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(ComputeLimits(r, {})->memory_max.has_value());
}

TEST(ComputeLimitsTest, PidsFromResourceElseFlag) {
  ContainerResources r{.cpus = 1, .mem_mb = 64};
  EXPECT_FALSE(ComputeLimits(r, {})->pids_max.has_value());
  EXPECT_EQ(ComputeLimits(r, {.max_pids = 100})->pids_max, 100u);
  r.pids = 7;
  EXPECT_EQ(ComputeLimits(r, {.max_pids = 100})->pids_max, 7u);
}

TEST(ComputeLimitsTest, RejectsBadNumbersAndLimitsBelowRequests) {
  const double nan = std::nan("");
  EXPECT_THAT(ComputeLimits({.cpus = -1, .mem_mb = 1}, {}).status().message(),
              HasSubstr("'cpus'"));
  EXPECT_FALSE(ComputeLimits({.cpus = nan, .mem_mb = 1}, {}).ok());
  EXPECT_FALSE(ComputeLimits({.cpus = 1, .mem_mb = nan}, {}).ok());
  EXPECT_FALSE(
      ComputeLimits(
          {.cpus = 1, .mem_mb = std::numeric_limits<double>::infinity()}, {})
          .ok());
  ContainerResources below{.cpus = 2, .mem_mb = 64, .cpus_limit = 1};
  EXPECT_THAT(ComputeLimits(below, {}).status().message(),
              HasSubstr("below the request"));
  ContainerResources mem_below{.cpus = 1, .mem_mb = 64, .mem_limit_mb = 32};
  EXPECT_FALSE(ComputeLimits(mem_below, {}).ok());
  ContainerResources nan_limit{.cpus = 1, .mem_mb = 64, .mem_limit_mb = nan};
  EXPECT_FALSE(ComputeLimits(nan_limit, {}).ok());
}

TEST(ParseKeyedFileTest, ParsesFlatKeyedFiles) {
  auto kv = ParseKeyedFile("usage_usec 12\nnr_throttled 3\nbad line x\n\n");
  EXPECT_EQ(kv["usage_usec"], 12u);
  EXPECT_EQ(kv["nr_throttled"], 3u);
  EXPECT_EQ(kv.count("bad"), 0u);
}

class IsolatorTest : public ::testing::Test {
 protected:
  Cgroups2Isolator::Options Opts(const std::string& flag) {
    Cgroups2Isolator::Options o;
    o.root = "agora";
    o.isolation = Iso(flag);
    o.destroy_timeout = absl::Milliseconds(200);
    return o;
  }
  FakeCgroupFs fs_;
};

TEST_F(IsolatorTest, PrepareBuildsHierarchyAndMovesAgentIntoLeaf) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/cpu,cgroups/mem,cgroups/pids"));
  ASSERT_TRUE(iso.Prepare(4242).ok());
  EXPECT_TRUE(fs_.Exists("agora/agent/leaf"));
  EXPECT_THAT(fs_.cgroups()["agora/agent/leaf"].procs, ElementsAre(4242));
  EXPECT_THAT(fs_.writes, Contains("agora/agent/leaf/cgroup.procs=4242"));
  EXPECT_THAT(fs_.writes,
              Contains("/cgroup.subtree_control=+cpu +memory +pids"));
  EXPECT_THAT(fs_.writes,
              Contains("agora/cgroup.subtree_control=+cpu +memory +pids"));
  // A second agent start is fine and re-enables nothing.
  size_t n = fs_.writes.size();
  ASSERT_TRUE(iso.Prepare(4243).ok());
  EXPECT_EQ(fs_.writes.size(), n + 1);  // Only the move.
}

// At stop the agent goes back where it came from and its cgroups go; a
// root that still holds something else stays.
TEST_F(IsolatorTest, ReleaseMovesTheAgentBackAndRemovesItsCgroups) {
  ASSERT_TRUE(fs_.Create("system").ok());
  ASSERT_TRUE(fs_.Create("system/agora-agent.service").ok());
  Cgroups2Isolator iso(&fs_, Opts("cgroups/cpu"));
  ASSERT_TRUE(iso.Prepare(4242).ok());
  ASSERT_TRUE(iso.Release(4242, "system/agora-agent.service").ok());
  EXPECT_THAT(fs_.cgroups()["system/agora-agent.service"].procs,
              ElementsAre(4242));
  EXPECT_FALSE(fs_.Exists("agora/agent"));
  EXPECT_FALSE(fs_.Exists("agora"));

  ASSERT_TRUE(iso.Prepare(4242).ok());
  ASSERT_TRUE(fs_.Create("agora/other").ok());
  ASSERT_TRUE(iso.Release(4242, "").ok());
  EXPECT_THAT(fs_.cgroups()[""].procs, ElementsAre(4242));
  EXPECT_FALSE(fs_.Exists("agora/agent"));
  EXPECT_TRUE(fs_.Exists("agora/other"));
}

// The containers of an earlier agent are the recovery's to adopt or
// destroy (Containerizer::Recover), not Prepare's.
TEST_F(IsolatorTest, PrepareLeavesContainersOfAnEarlierAgent) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/mem"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  ASSERT_TRUE(iso.Create("old", CgroupLimits{}).ok());
  fs_.Write("agora/old/leaf", "cgroup.procs", "77").IgnoreError();
  ASSERT_TRUE(iso.Prepare(1).ok());
  EXPECT_TRUE(fs_.Exists("agora/old"));
  EXPECT_THAT(fs_.writes, Not(Contains("agora/old/cgroup.kill=1")));
  EXPECT_EQ(*iso.Containers(), std::vector<std::string>{"old"});
}

TEST_F(IsolatorTest, PrepareFailsClearlyWhenRootNotWritable) {
  fs_.fail_file = "cgroup.procs";
  fs_.fail_errno = EACCES;
  Cgroups2Isolator iso(&fs_, Opts("cgroups/cpu"));
  absl::Status st = iso.Prepare(1);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(IsolatorTest, CreateWritesEveryLimitToTheContainerNotTheLeaf) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/all"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  ContainerResources r{.cpus = 1.1, .mem_mb = 96, .cpus_limit = 2.1};
  CgroupLimits l =
      ComputeLimits(r, {.limit_swap = true, .max_pids = 64}).value();
  ASSERT_TRUE(iso.Create("c1", l).ok());
  auto& files = fs_.cgroups()["agora/c1"].files;
  EXPECT_EQ(files["cpu.weight"], "110");
  EXPECT_EQ(files["cpu.max"], "210000 100000");
  EXPECT_EQ(files["memory.low"], std::to_string(96u << 20));
  EXPECT_EQ(files["memory.max"], std::to_string(96u << 20));
  EXPECT_EQ(files["memory.swap.max"], "0");
  EXPECT_EQ(files["pids.max"], "64");
  EXPECT_EQ(files["io.weight"], "default 110");
  EXPECT_TRUE(fs_.Exists("agora/c1/leaf"));
  EXPECT_EQ(iso.LeafPath("c1"), "/fake/agora/c1/leaf");
  EXPECT_THAT(*iso.Containers(), ElementsAre("c1"));
}

TEST_F(IsolatorTest, UpdateRewritesTheLimits) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/cpu,cgroups/mem"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  ASSERT_TRUE(
      iso.Create("c", ComputeLimits({.cpus = 1, .mem_mb = 64}, {}).value())
          .ok());
  ASSERT_TRUE(
      iso.Update("c", ComputeLimits({.cpus = 2, .mem_mb = 128}, {}).value())
          .ok());
  EXPECT_EQ(fs_.cgroups()["agora/c"].files["cpu.weight"], "200");
  EXPECT_EQ(fs_.cgroups()["agora/c"].files["memory.max"],
            std::to_string(128u << 20));
  EXPECT_EQ(iso.Update("gone", CgroupLimits{}).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(IsolatorTest, CreateWithoutLimitsWritesMax) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/cpu,cgroups/mem,cgroups/pids"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  ASSERT_TRUE(iso.Create("c", ComputeLimits(
                                  {.cpus = 1,
                                   .mem_mb = 64,
                                   .mem_limit_mb =
                                       std::numeric_limits<double>::infinity()},
                                  {})
                                  .value())
                  .ok());
  auto& files = fs_.cgroups()["agora/c"].files;
  EXPECT_EQ(files["cpu.max"], "max 100000");
  EXPECT_EQ(files["memory.max"], "max");
  EXPECT_EQ(files["memory.swap.max"], "max");  // Untouched without the flag.
  EXPECT_EQ(files["pids.max"], "max");
}

TEST_F(IsolatorTest, CreateSkipsValuesANewCgroupHasAndUpdateWritesAll) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/all"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  // cpu.weight 100, cpu.max "max 100000", pids.max max, io.weight 100 are
  // what mkdir gives; only the memory limits differ from a new cgroup's.
  CgroupLimits defaults = ComputeLimits({.cpus = 1, .mem_mb = 64}, {}).value();
  fs_.writes.clear();
  ASSERT_TRUE(iso.Create("c", defaults).ok());
  EXPECT_THAT(fs_.writes,
              ElementsAre(absl::StrCat("agora/c/memory.low=", 64u << 20),
                          absl::StrCat("agora/c/memory.max=", 64u << 20)));
  // An update may follow other values, so it writes every file.
  ASSERT_TRUE(
      iso.Update("c", ComputeLimits({.cpus = 2, .mem_mb = 64}, {}).value())
          .ok());
  fs_.writes.clear();
  ASSERT_TRUE(iso.Update("c", defaults).ok());
  EXPECT_THAT(
      fs_.writes,
      ElementsAre("agora/c/cpu.weight=100", "agora/c/cpu.max=max 100000",
                  absl::StrCat("agora/c/memory.low=", 64u << 20),
                  absl::StrCat("agora/c/memory.max=", 64u << 20),
                  "agora/c/pids.max=max", "agora/c/io.weight=default 100"));
  EXPECT_EQ(fs_.cgroups()["agora/c"].files["cpu.weight"], "100");
}

TEST(LimitWritesTest, LeavesOutOnlyWhatANewCgroupHasAlready) {
  CgroupLimits l;  // Every field at a new cgroup's value.
  l.swap_max_zero = true;
  IsolationConfig all = Iso("cgroups/all");
  EXPECT_THAT(LimitWrites(all, l, true),
              ElementsAre(Pair("memory.swap.max", "0")));
  l.memory_low = 1;
  l.cpu_weight = 99;
  l.cpu_max_quota_us = 100000;
  l.memory_max = 5;
  l.pids_max = 7;
  l.io_weight = 99;
  EXPECT_THAT(
      LimitWrites(all, l, true),
      ElementsAre(Pair("cpu.weight", "99"), Pair("cpu.max", "100000 100000"),
                  Pair("memory.low", "1"), Pair("memory.max", "5"),
                  Pair("memory.swap.max", "0"), Pair("pids.max", "7"),
                  Pair("io.weight", "default 99")));
  EXPECT_EQ(LimitWrites(all, l, false), LimitWrites(all, l, true));
  EXPECT_THAT(LimitWrites(Iso("cgroups/pids"), CgroupLimits{}, false),
              ElementsAre(Pair("pids.max", "max")));
}

TEST_F(IsolatorTest, FailedCreateLeavesNoCgroup) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/cpu,cgroups/mem"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  fs_.fail_file = "memory.max";  // A controller that disappeared.
  absl::Status st =
      iso.Create("c", ComputeLimits({.cpus = 1, .mem_mb = 64}, {}).value());
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("memory.max"));
  EXPECT_FALSE(fs_.Exists("agora/c"));
  EXPECT_FALSE(iso.Create("../x", CgroupLimits{}).ok());
  EXPECT_FALSE(iso.Create("agent", CgroupLimits{}).ok());
}

TEST_F(IsolatorTest, DestroyKillsThenRemovesBottomUpRetryingWhileBusy) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/pids"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  ASSERT_TRUE(iso.Create("c", CgroupLimits{}).ok());
  fs_.Write("agora/c/leaf", "cgroup.procs", "10").IgnoreError();
  ASSERT_TRUE(fs_.Create("agora/c/leaf/nested").ok());
  fs_.busy_removes = 3;
  fs_.writes.clear();
  ASSERT_TRUE(iso.Destroy("c").ok());
  EXPECT_EQ(fs_.writes.front(), "agora/c/cgroup.kill=1");
  EXPECT_FALSE(fs_.Exists("agora/c"));
  EXPECT_EQ(fs_.busy_removes, 0);
  EXPECT_TRUE(iso.Destroy("c").ok());  // Idempotent.
}

TEST_F(IsolatorTest, DestroyOfAnEmptyContainerIsTwoRemovesAndNoKill) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/pids"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  ASSERT_TRUE(iso.Create("c", CgroupLimits{}).ok());
  fs_.writes.clear();
  ASSERT_TRUE(iso.Destroy("c").ok());
  EXPECT_THAT(fs_.writes, IsEmpty());  // Nothing to kill.
  EXPECT_FALSE(fs_.Exists("agora/c/leaf"));
  EXPECT_FALSE(fs_.Exists("agora/c"));
  // A process in the container itself (not its leaf) is still killed.
  ASSERT_TRUE(iso.Create("d", CgroupLimits{}).ok());
  fs_.Write("agora/d", "cgroup.procs", "11").IgnoreError();
  fs_.writes.clear();
  ASSERT_TRUE(iso.Destroy("d").ok());
  EXPECT_THAT(fs_.writes, ElementsAre("agora/d/cgroup.kill=1"));
  EXPECT_FALSE(fs_.Exists("agora/d"));
  // A container without its leaf is removed too.
  ASSERT_TRUE(iso.Create("e", CgroupLimits{}).ok());
  ASSERT_TRUE(fs_.Remove("agora/e/leaf").ok());
  ASSERT_TRUE(iso.Destroy("e").ok());
  EXPECT_FALSE(fs_.Exists("agora/e"));
}

TEST_F(IsolatorTest, DestroyGivesUpAfterTimeout) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/pids"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  ASSERT_TRUE(iso.Create("c", CgroupLimits{}).ok());
  fs_.busy_removes = 1000000;
  absl::Status st = iso.Destroy("c");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(IsolatorTest, UsageAndOomReportTheKernelFigures) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/cpu,cgroups/mem,cgroups/pids"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  ASSERT_TRUE(iso.Create("c", ComputeLimits({.cpus = 1, .mem_mb = 64},
                                            {.enable_cfs = true})
                                  .value())
                  .ok());
  auto& f = fs_.cgroups()["agora/c"].files;
  f["cpu.stat"] =
      "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n"
      "nr_periods 30\nnr_throttled 7\nthrottled_usec 500000\n";
  f["memory.current"] = "1048576\n";
  f["memory.stat"] = "anon 524288\nfile 4096\nkernel 8192\nfile_mapped 0\n";
  f["pids.current"] = "3\n";
  fs_.Write("agora/c/leaf", "cgroup.procs", "5").IgnoreError();
  CgroupUsage u = iso.Usage("c").value();
  EXPECT_EQ(u.user_usec, 2000000u);
  EXPECT_EQ(u.system_usec, 1000000u);
  EXPECT_EQ(u.nr_periods, 30u);
  EXPECT_EQ(u.nr_throttled, 7u);
  EXPECT_EQ(u.throttled_usec, 500000u);
  EXPECT_EQ(u.cpu_quota_us, 100000u);
  EXPECT_EQ(u.memory_current, 1048576u);
  EXPECT_EQ(u.memory_max, 64u << 20);
  EXPECT_EQ(u.anon, 524288u);
  EXPECT_EQ(u.kernel, 8192u);
  EXPECT_EQ(u.pids_current, 3u);
  EXPECT_EQ(u.processes, 1u);
  EXPECT_EQ(iso.OomKills("c").value(), 0u);
  f["memory.events"] = "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n";
  EXPECT_EQ(iso.OomKills("c").value(), 1u);
  std::string message = iso.OomMessage("c");
  EXPECT_THAT(message, HasSubstr("Memory limit exceeded"));
  EXPECT_THAT(message, HasSubstr(std::to_string(64u << 20)));
  EXPECT_THAT(message, HasSubstr("anon: 524288"));
  EXPECT_FALSE(iso.Usage("gone").ok());
}

TEST_F(IsolatorTest, WithoutMemIsolationNoOomIsRead) {
  Cgroups2Isolator iso(&fs_, Opts("cgroups/cpu"));
  ASSERT_TRUE(iso.Prepare(1).ok());
  ASSERT_TRUE(iso.Create("c", CgroupLimits{}).ok());
  EXPECT_EQ(iso.OomKills("c").value(), 0u);
  EXPECT_THAT(fs_.cgroups()["agora/c"].files,
              Not(Contains(::testing::Key("memory.max"))));
}

}  // namespace
}  // namespace agora
