// Container lifecycle costs on a real kernel, in a private sub-tree
// (agora-bench-<pid>) of the machine's cgroup2 mount:
//   BM_CgroupCreateDestroy  the cgroup part alone: mkdir <id> and <id>/leaf,
//                           write the limits the isolators have, cgroup.kill,
//                           rmdir bottom-up;
//   BM_ContainerLifecycle   create + launch /bin/true born in the leaf
//                           (clone3 CLONE_INTO_CGROUP) + reap + destroy;
//   BM_PosixLaunch          the same launch without a cgroup (baseline).
// Containers per second = items_per_second. Needs root and a cgroup2 mount
// (AGORA_CGROUP2_MOUNT overrides the search of /proc/self/mountinfo).
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <memory>
#include <set>
#include <string>
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
  std::unique_ptr<Cgroups2Isolator> isolator;
  std::string root, home, error;

  Env() {
    std::string mount = Cgroup2Mount();
    if (geteuid() != 0 || mount.empty() || !IsCgroup2Mount(mount)) {
      error = "needs root and a cgroup2 mount";
      return;
    }
    fs = NewRealCgroupFs(mount);
    root = absl::StrCat("agora-bench-", getpid());
    std::ifstream self("/proc/self/cgroup");
    std::string line;
    while (std::getline(self, line)) {
      if (line.rfind("0::/", 0) == 0) home = line.substr(4);
    }
    std::set<std::string> have =
        AvailableControllers(*fs, "").value_or(std::set<std::string>{});
    std::string flag;
    for (const auto& [c, iso] :
         std::vector<std::pair<std::string, std::string>>{
             {"cpu", "cgroups/cpu"},
             {"memory", "cgroups/mem"},
             {"pids", "cgroups/pids"}}) {
      if (have.count(c)) absl::StrAppend(&flag, flag.empty() ? "" : ",", iso);
    }
    Cgroups2Isolator::Options o;
    o.root = root;
    if (!flag.empty()) o.isolation = *ParseIsolation(flag);
    isolator = std::make_unique<Cgroups2Isolator>(fs.get(), o);
    absl::Status st = isolator->Prepare(getpid());
    if (!st.ok()) {
      error = std::string(st.message());
      return;
    }
    fs->Write(home, "cgroup.procs", absl::StrCat(getpid())).IgnoreError();
  }
  ~Env() {
    if (!fs) return;
    for (const char* cg : {"/agent/leaf", "/agent", ""}) {
      fs->Remove(root + cg).IgnoreError();
    }
  }
};

Env& TheEnv() {
  static Env* env = new Env();
  return *env;
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
  Env& env = TheEnv();
  if (!env.error.empty()) {
    state.SkipWithError(env.error.c_str());
    return;
  }
  CgroupLimits limits = Limits();
  int n = 0;
  for (auto _ : state) {
    std::string id = absl::StrCat("c", n++);
    if (!env.isolator->Create(id, limits).ok() ||
        !env.isolator->Destroy(id).ok()) {
      state.SkipWithError("create/destroy failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CgroupCreateDestroy)->UseRealTime();

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
BENCHMARK(BM_ContainerLifecycle)->UseRealTime();

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
BENCHMARK(BM_PosixLaunch)->UseRealTime();

}  // namespace
}  // namespace agora

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  delete &agora::TheEnv();
  return 0;
}
