// Container lifecycle costs on a real kernel, in two private sub-trees of
// the machine's cgroup2 mount: agora-bench-<pid> (the cpu, memory and pids
// controllers enabled for its children where the hierarchy has them) and
// agora-bench-<pid>-plain (no controller enabled for its children).
//   BM_CgroupCreateDestroy/controllers:{0,1}
//                           the cgroup part alone, through the isolator:
//                           Create (mkdir <id> and <id>/leaf, the limits the
//                           enabled controllers have) + Destroy;
//   BM_CgroupSteps/controllers:{0,1}
//                           the same kernel steps one by one, each timed on
//                           its own (counters us_<step>, microseconds per
//                           container): mkdir, mkdir_leaf, each limit file
//                           the isolator writes (open by full path, write,
//                           close), cgroup.kill (on the empty cgroup, which
//                           the isolator skips), rmdir_leaf, rmdir;
//   BM_CgroupWrites/dirfd:{0,1}
//                           five interface-file writes by full path, or by
//                           openat relative to the cgroup's directory
//                           (the isolator opens by full path: no gain
//                           measured, see docs/performance.md);
//   BM_CgroupInterleaved    CgroupCreateDestroy without and with
//                           controllers, tmpfs mkdir + rmdir and getppid
//                           interleaved in one loop (counters, see there);
//   BM_CgroupV1CreateDestroy
//                           opt-in (AGORA_BENCH_CGROUP_V1): the same
//                           controllers' objects made and freed through
//                           cgroup v1 hierarchies (see there);
//   BM_ContainerLifecycle   create + launch /bin/true born in the leaf
//                           (clone3 CLONE_INTO_CGROUP) + reap + destroy;
//   BM_PosixLaunch          the same launch without a cgroup (baseline).
// Calibration operations (to compare a host with an emulated guest):
//   BM_Getppid              one system call round trip;
//   BM_TmpfsMkdirRmdir      mkdir + rmdir of a directory on tmpfs;
//   BM_TmpfsOpenWriteClose  open(O_CREAT|O_TRUNC) + 16-byte write + close of
//                           a tmpfs file.
// Containers per second = items_per_second. Needs root and a cgroup2 mount
// (AGORA_CGROUP2_MOUNT overrides the search of /proc/self/mountinfo); the
// with-controllers variants skip where the hierarchy has no cpu, memory and
// pids. The tmpfs benchmarks use AGORA_BENCH_TMPFS, else /dev/shm.
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "isolation/cgroup_fs.h"
#include "isolation/cgroups2_isolator.h"
#include "isolation/posix_launcher.h"

namespace agora {
namespace {

std::string Cgroup2Mount() {
  if (const char* env = getenv("AGORA_CGROUP2_MOUNT")) return env;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    for (size_t i = 0; i + 1 < f.size(); ++i) {
      if (f[i] == "-" && f[i + 1] == "cgroup2" && f.size() > 4) return f[4];
    }
  }
  return "";
}

struct Env {
  std::unique_ptr<CgroupFs> fs;
  // Children of `root` get cpu, memory and pids where the hierarchy has
  // them (has_controllers); children of `plain_root` get no controller.
  std::unique_ptr<Cgroups2Isolator> isolator, plain;
  std::string root, plain_root, home, error;
  bool has_controllers = false;

  Env() {
    std::string mount = Cgroup2Mount();
    if (geteuid() != 0 || mount.empty() || !IsCgroup2Mount(mount)) {
      error = "needs root and a cgroup2 mount";
      return;
    }
    fs = NewRealCgroupFs(mount);
    root = absl::StrCat("agora-bench-", getpid());
    plain_root = root + "-plain";
    std::ifstream self("/proc/self/cgroup");
    std::string line;
    while (std::getline(self, line)) {
      if (line.rfind("0::/", 0) == 0) home = line.substr(4);
    }
    std::set<std::string> have =
        AvailableControllers(*fs, "").value_or(std::set<std::string>{});
    has_controllers =
        have.count("cpu") && have.count("memory") && have.count("pids");
    Cgroups2Isolator::Options o;
    o.root = root;
    if (has_controllers) {
      o.isolation = *ParseIsolation("cgroups/cpu,cgroups/mem,cgroups/pids");
    }
    isolator = std::make_unique<Cgroups2Isolator>(fs.get(), o);
    o.root = plain_root;
    o.isolation = IsolationConfig{};
    plain = std::make_unique<Cgroups2Isolator>(fs.get(), o);
    for (Cgroups2Isolator* iso : {isolator.get(), plain.get()}) {
      absl::Status st = iso->Prepare(getpid());
      if (!st.ok()) {
        error = std::string(st.message());
        break;
      }
    }
    fs->Write(home, "cgroup.procs", absl::StrCat(getpid())).IgnoreError();
  }
  ~Env() {
    if (!fs) return;
    for (const std::string& r : {root, plain_root}) {
      for (const char* cg : {"/agent/leaf", "/agent", ""}) {
        fs->Remove(r + cg).IgnoreError();
      }
    }
  }
};

Env& TheEnv() {
  static Env* env = new Env();
  return *env;
}

// Null when the benchmark cannot run here (and then marked skipped).
Cgroups2Isolator* IsolatorFor(benchmark::State& state, bool controllers) {
  Env& env = TheEnv();
  if (!env.error.empty()) {
    state.SkipWithError(env.error.c_str());
    return nullptr;
  }
  if (controllers && !env.has_controllers) {
    state.SkipWithError(
        "the cgroup2 hierarchy offers no cpu, memory and pids controllers");
    return nullptr;
  }
  return controllers ? env.isolator.get() : env.plain.get();
}

// With --benchmark_repetitions: the least of the repetitions, next to
// Google Benchmark's mean, median and stddev (the least disturbed run on a
// shared machine).
double Min(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}

CgroupLimits Limits() {
  return ComputeLimits(
             {.cpus = 0.6,
              .mem_mb = 96,
              .cpus_limit = {},
              .mem_limit_mb = {},
              .pids = {}},
             {.enable_cfs = true, .limit_swap = false, .max_pids = 100})
      .value();
}

LaunchSpec TrueSpec() {
  LaunchSpec spec;
  spec.program = "/bin/true";
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  return spec;
}

void BM_CgroupCreateDestroy(benchmark::State& state) {
  Cgroups2Isolator* iso = IsolatorFor(state, state.range(0) != 0);
  if (iso == nullptr) return;
  CgroupLimits limits = Limits();
  int n = 0;
  for (auto _ : state) {
    std::string id = absl::StrCat("c", n++);
    if (!iso->Create(id, limits).ok() || !iso->Destroy(id).ok()) {
      state.SkipWithError("create/destroy failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CgroupCreateDestroy)
    ->ArgName("controllers")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->ComputeStatistics("min", Min);

// open + one write + close of `file` below the directory `dir`; false on
// any error.
bool WriteAt(int dir, const char* file, const std::string& value) {
  int fd = openat(dir, file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, value.data(), value.size()) ==
            static_cast<ssize_t>(value.size());
  close(fd);
  return ok;
}

void BM_CgroupSteps(benchmark::State& state) {
  const bool controllers = state.range(0) != 0;
  Cgroups2Isolator* iso = IsolatorFor(state, controllers);
  if (iso == nullptr) return;
  const std::string parent = TheEnv().fs->Path(iso->options().root);
  std::vector<std::pair<std::string, std::string>> files;
  if (controllers) {
    files = LimitWrites(iso->options().isolation, Limits(), true);
  }
  // Step i's total time; steps: mkdir, mkdir_leaf, the files, kill,
  // rmdir_leaf, rmdir.
  std::vector<std::string> names = {"mkdir", "mkdir_leaf"};
  for (const auto& [file, value] : files) names.push_back(file);
  for (const char* n : {"kill", "rmdir_leaf", "rmdir"}) names.push_back(n);
  std::vector<double> total_ns(names.size(), 0);
  using Clock = std::chrono::steady_clock;
  int n = 0;
  for (auto _ : state) {
    const std::string cg = absl::StrCat(parent, "/s", n++);
    const std::string leaf = cg + "/leaf";
    const std::string kill = cg + "/cgroup.kill";
    std::vector<std::string> paths;
    for (const auto& [file, value] : files) {
      paths.push_back(absl::StrCat(cg, "/", file));
    }
    size_t step = 0;
    bool ok = true;
    Clock::time_point t = Clock::now();
    auto lap = [&](bool step_ok) {
      Clock::time_point now = Clock::now();
      total_ns[step++] +=
          std::chrono::duration<double, std::nano>(now - t).count();
      t = now;
      ok = ok && step_ok;
    };
    lap(mkdir(cg.c_str(), 0755) == 0);
    lap(mkdir(leaf.c_str(), 0755) == 0);
    for (size_t i = 0; i < files.size(); ++i) {
      lap(WriteAt(AT_FDCWD, paths[i].c_str(), files[i].second));
    }
    lap(WriteAt(AT_FDCWD, kill.c_str(), "1"));
    lap(rmdir(leaf.c_str()) == 0);
    lap(rmdir(cg.c_str()) == 0);
    if (!ok) {
      state.SkipWithError(absl::StrCat("a step failed for ", cg).c_str());
      break;
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    state.counters["us_" + names[i]] = benchmark::Counter(
        total_ns[i] / 1000, benchmark::Counter::kAvgIterations);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CgroupSteps)
    ->ArgName("controllers")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->ComputeStatistics("min", Min);

// Five writes to a cgroup's interface file, either each open(2) by its
// full path (dirfd:0) or relative to the cgroup's directory opened once
// (dirfd:1, open and close of the directory included). The file is
// cgroup.max.descendants, present without any controller.
void BM_CgroupWrites(benchmark::State& state) {
  Cgroups2Isolator* iso = IsolatorFor(state, false);
  if (iso == nullptr) return;
  const std::string cg = TheEnv().fs->Path(iso->options().root) + "/w";
  if (mkdir(cg.c_str(), 0755) != 0) {
    state.SkipWithError(absl::StrCat("mkdir ", cg, " failed").c_str());
    return;
  }
  const std::string file = cg + "/cgroup.max.descendants";
  const bool dirfd = state.range(0) != 0;
  for (auto _ : state) {
    bool ok = true;
    if (dirfd) {
      int dir = open(cg.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      for (int i = 0; i < 5; ++i) {
        ok = WriteAt(dir, "cgroup.max.descendants", "max") && ok;
      }
      if (dir >= 0) close(dir);
    } else {
      for (int i = 0; i < 5; ++i) {
        ok = WriteAt(AT_FDCWD, file.c_str(), "max") && ok;
      }
    }
    if (!ok) {
      state.SkipWithError("write failed");
      break;
    }
  }
  rmdir(cg.c_str());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CgroupWrites)
    ->ArgName("dirfd")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->ComputeStatistics("min", Min);

// A fresh directory on tmpfs for the calibration benchmarks, removed by the
// caller; empty (and the benchmark skipped) when there is no tmpfs.
std::string TmpfsDir(benchmark::State& state) {
  const char* env = getenv("AGORA_BENCH_TMPFS");
  std::string base = env != nullptr ? env : "/dev/shm";
  struct statfs fs;
  if (statfs(base.c_str(), &fs) != 0 ||
      static_cast<unsigned long>(fs.f_type) != TMPFS_MAGIC) {
    state.SkipWithError(
        absl::StrCat("'", base, "' is not a tmpfs (set AGORA_BENCH_TMPFS)")
            .c_str());
    return "";
  }
  std::string dir = base + "/agora-bench-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    state.SkipWithError(absl::StrCat("mkdtemp in '", base, "' failed").c_str());
    return "";
  }
  return dir;
}

// The cgroup part and the calibration operations interleaved in one loop,
// so that each sees the same conditions (an emulated guest's speed drifts
// with the load on its host): per iteration, Create + Destroy of a
// container without controllers (us_plain) and, where the hierarchy has
// them, with cpu, memory and pids (us_controllers), mkdir + rmdir on tmpfs
// (us_tmpfs_mkdir_rmdir) and 100 getppid calls (ns_getppid, per call).
// Their ratios are the figures to compare between host and guest.
void BM_CgroupInterleaved(benchmark::State& state) {
  Cgroups2Isolator* plain = IsolatorFor(state, false);
  if (plain == nullptr) return;
  Env& env = TheEnv();
  Cgroups2Isolator* controllers =
      env.has_controllers ? env.isolator.get() : nullptr;
  std::string tmpfs = TmpfsDir(state);
  if (tmpfs.empty()) return;
  const std::string sub = tmpfs + "/d";
  CgroupLimits limits = Limits();
  using Clock = std::chrono::steady_clock;
  double plain_ns = 0, controllers_ns = 0, tmpfs_ns = 0, getppid_ns = 0;
  auto since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::nano>(Clock::now() - t).count();
  };
  int n = 0;
  for (auto _ : state) {
    std::string id = absl::StrCat("i", n++);
    bool ok = true;
    Clock::time_point t = Clock::now();
    ok = plain->Create(id, limits).ok() && plain->Destroy(id).ok();
    plain_ns += since(t);
    if (controllers != nullptr) {
      t = Clock::now();
      ok = controllers->Create(id, limits).ok() &&
           controllers->Destroy(id).ok() && ok;
      controllers_ns += since(t);
    }
    t = Clock::now();
    ok = mkdir(sub.c_str(), 0755) == 0 && rmdir(sub.c_str()) == 0 && ok;
    tmpfs_ns += since(t);
    t = Clock::now();
    for (int i = 0; i < 100; ++i)
      benchmark::DoNotOptimize(syscall(SYS_getppid));
    getppid_ns += since(t) / 100;
    if (!ok) {
      state.SkipWithError("an operation failed");
      break;
    }
  }
  rmdir(tmpfs.c_str());
  auto avg = [](double v) {
    return benchmark::Counter(v, benchmark::Counter::kAvgIterations);
  };
  state.counters["us_plain"] = avg(plain_ns / 1000);
  if (controllers != nullptr) {
    state.counters["us_controllers"] = avg(controllers_ns / 1000);
  }
  state.counters["us_tmpfs_mkdir_rmdir"] = avg(tmpfs_ns / 1000);
  state.counters["ns_getppid"] = avg(getppid_ns);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CgroupInterleaved)->UseRealTime()->ComputeStatistics("min", Min);

// Cross-check on hosts whose cpu, memory and pids controllers belong to
// cgroup v1 (opt-in: AGORA_BENCH_CGROUP_V1 names the directory holding the
// cpu, memory and pids v1 mounts, e.g. /sys/fs/cgroup). The same kernel
// objects as a cgroup2 container with controllers (a task group, a memory
// cgroup, a pids cgroup) made and freed through v1: per iteration, mkdir
// agora-bench-v1-<pid>-<n> at the top of each of the three hierarchies,
// the v1 counterparts of the limits (cpu.shares, cpu.cfs_quota_us,
// memory.soft_limit_in_bytes, memory.limit_in_bytes, pids.max), rmdir all
// three. Existing cgroups are never written.
void BM_CgroupV1CreateDestroy(benchmark::State& state) {
  const char* base = getenv("AGORA_BENCH_CGROUP_V1");
  if (geteuid() != 0) {
    state.SkipWithError("needs root");
    return;
  }
  const std::vector<std::string> hierarchies = {"cpu", "memory", "pids"};
  for (const std::string& h : hierarchies) {
    struct statfs fs;
    std::string dir = absl::StrCat(base, "/", h);
    if (statfs(dir.c_str(), &fs) != 0 ||
        static_cast<unsigned long>(fs.f_type) != CGROUP_SUPER_MAGIC ||
        access((dir + "/tasks").c_str(), F_OK) != 0) {
      state.SkipWithError(
          absl::StrCat("'", dir, "' is not a cgroup v1 hierarchy").c_str());
      return;
    }
  }
  CgroupLimits l = Limits();
  // hierarchy index, file, value.
  const std::vector<std::tuple<int, std::string, std::string>> files = {
      {0, "cpu.shares", absl::StrCat(l.cpu_weight * 1024 / 100)},
      {0, "cpu.cfs_quota_us", absl::StrCat(*l.cpu_max_quota_us)},
      {1, "memory.soft_limit_in_bytes", absl::StrCat(l.memory_low)},
      {1, "memory.limit_in_bytes", absl::StrCat(*l.memory_max)},
      {2, "pids.max", absl::StrCat(*l.pids_max)}};
  int n = 0;
  for (auto _ : state) {
    std::vector<std::string> dirs;
    for (const std::string& h : hierarchies) {
      dirs.push_back(
          absl::StrCat(base, "/", h, "/agora-bench-v1-", getpid(), "-", n));
    }
    ++n;
    bool ok = true;
    for (const std::string& d : dirs) ok = mkdir(d.c_str(), 0755) == 0 && ok;
    for (const auto& [h, file, value] : files) {
      ok = WriteAt(AT_FDCWD, absl::StrCat(dirs[h], "/", file).c_str(), value) &&
           ok;
    }
    for (const std::string& d : dirs) ok = rmdir(d.c_str()) == 0 && ok;
    if (!ok) {
      state.SkipWithError("a v1 step failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
// Registered by main() only when AGORA_BENCH_CGROUP_V1 is set.

void BM_ContainerLifecycle(benchmark::State& state) {
  Env& env = TheEnv();
  if (!env.error.empty()) {
    state.SkipWithError(env.error.c_str());
    return;
  }
  PosixLauncher launcher;
  CgroupLimits limits = Limits();
  int n = 0;
  for (auto _ : state) {
    std::string id = absl::StrCat("l", n++);
    if (!env.isolator->Create(id, limits).ok()) {
      state.SkipWithError("create failed");
      break;
    }
    LaunchSpec spec = TrueSpec();
    spec.cgroup = env.isolator->LeafPath(id);
    auto done = std::make_shared<std::promise<void>>();
    auto pid = launcher.Launch(spec, [done](pid_t, int) { done->set_value(); });
    if (!pid.ok()) {
      state.SkipWithError("launch failed");
      break;
    }
    done->get_future().wait();
    if (!env.isolator->Destroy(id).ok()) {
      state.SkipWithError("destroy failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ContainerLifecycle)->UseRealTime()->ComputeStatistics("min", Min);

void BM_PosixLaunch(benchmark::State& state) {
  PosixLauncher launcher;
  for (auto _ : state) {
    auto done = std::make_shared<std::promise<void>>();
    auto pid =
        launcher.Launch(TrueSpec(), [done](pid_t, int) { done->set_value(); });
    if (!pid.ok()) {
      state.SkipWithError("launch failed");
      break;
    }
    done->get_future().wait();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PosixLaunch)->UseRealTime()->ComputeStatistics("min", Min);

void BM_Getppid(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_getppid));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Getppid)->UseRealTime()->ComputeStatistics("min", Min);

void BM_TmpfsMkdirRmdir(benchmark::State& state) {
  std::string dir = TmpfsDir(state);
  if (dir.empty()) return;
  const std::string sub = dir + "/d";
  for (auto _ : state) {
    if (mkdir(sub.c_str(), 0755) != 0 || rmdir(sub.c_str()) != 0) {
      state.SkipWithError("mkdir/rmdir on tmpfs failed");
      break;
    }
  }
  rmdir(dir.c_str());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TmpfsMkdirRmdir)->UseRealTime()->ComputeStatistics("min", Min);

void BM_TmpfsOpenWriteClose(benchmark::State& state) {
  std::string dir = TmpfsDir(state);
  if (dir.empty()) return;
  const std::string file = dir + "/f";
  for (auto _ : state) {
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "0123456789abcdef", 16) != 16) {
      state.SkipWithError("open/write on tmpfs failed");
      if (fd >= 0) close(fd);
      break;
    }
    close(fd);
  }
  unlink(file.c_str());
  rmdir(dir.c_str());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TmpfsOpenWriteClose)->UseRealTime()->ComputeStatistics("min", Min);

}  // namespace
}  // namespace agora

int main(int argc, char** argv) {
  if (getenv("AGORA_BENCH_CGROUP_V1") != nullptr) {
    benchmark::RegisterBenchmark("BM_CgroupV1CreateDestroy",
                                 agora::BM_CgroupV1CreateDestroy)
        ->UseRealTime()
        ->ComputeStatistics("min", agora::Min);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  delete &agora::TheEnv();
  return 0;
}
