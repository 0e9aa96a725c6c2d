// Cgroups2Isolator: the agent's cgroup2 hierarchy and its containers.
//
//   <hierarchy>/<root>/                 controllers enabled for children
//   <hierarchy>/<root>/agent/leaf/      the agent process itself
//   <hierarchy>/<root>/<container>/     the container's limits and usage
//   <hierarchy>/<root>/<container>/leaf the container's processes
//
// Processes live only in leaves (cgroup2's no-internal-process rule), so
// the limits written to <container> bound everything below it. Every
// file written is listed in docs/cgroups.md. All cgroup access goes
// through a CgroupFs, which tests replace with a fake.
//
// Thread rule: not thread-safe; the agent calls it from its loop only,
// except the const readers (Usage, OomKills, OomMessage), which only read
// files and may run on any thread while the loop uses the rest.
#ifndef AGORA_ISOLATION_CGROUPS2_ISOLATOR_H_
#define AGORA_ISOLATION_CGROUPS2_ISOLATOR_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "isolation/cgroup_fs.h"
#include "isolation/isolation_config.h"

namespace agora {

// What a container asks for: the sum of its executor's and tasks'
// resources (requests), and their limits when given (TaskInfo.limits).
struct ContainerResources {
  double cpus = 0;
  double mem_mb = 0;
  std::optional<double> cpus_limit;  // +inf: no limit.
  std::optional<double> mem_limit_mb;
  std::optional<double> pids;  // A "pids" scalar resource.
};

struct CgroupsLimitOptions {
  bool enable_cfs = false;  // --cgroups_enable_cfs: cpu.max = request.
  bool limit_swap = false;  // --cgroups_limit_swap: memory.swap.max = 0.
  std::optional<uint64_t> max_pids;  // --cgroups_max_pids_per_container.
};

// The values the isolator writes; nullopt means "max" (no limit).
struct CgroupLimits {
  uint64_t cpu_weight = 100;
  std::optional<uint64_t> cpu_max_quota_us;
  uint64_t cpu_period_us = 100000;
  uint64_t memory_low = 0;
  std::optional<uint64_t> memory_max;
  bool swap_max_zero = false;
  std::optional<uint64_t> pids_max;
  uint64_t io_weight = 100;
};

constexpr uint64_t kMinContainerMemoryBytes = 32ull << 20;  // Mesos's 32 MB.
constexpr uint64_t kCpuPeriodUs = 100000;                   // 100 ms.
constexpr uint64_t kMinCpuQuotaUs = 1000;                   // 1 ms.

// Mesos's rules: cpu.weight = max(1, 100 x cpus) (at most 10000);
// cpu.max = limits.cpus, else the request with enable_cfs, else max;
// memory.low = max(request, 32 MB); memory.max = max(limits.mem or the
// request, 32 MB); pids.max = the pids resource, else max_pids, else max;
// io.weight = cpu.weight clamped to [1, 10000]. InvalidArgument for a
// negative, NaN or infinite request, or a limit below its request.
absl::StatusOr<CgroupLimits> ComputeLimits(const ContainerResources& resources,
                                           const CgroupsLimitOptions& options);

// The (file, value) writes that set `limits` on a container cgroup for the
// isolators in `isolation`, in the order the isolator writes them. With
// `new_cgroup` (a cgroup just made by mkdir) the values a new cgroup has
// already are left out: cpu.weight 100, cpu.max "max 100000", memory.max
// and pids.max "max", io.weight "default 100".
std::vector<std::pair<std::string, std::string>> LimitWrites(
    const IsolationConfig& isolation, const CgroupLimits& limits,
    bool new_cgroup);

// "key value" lines (cpu.stat, memory.stat, memory.events, cgroup.events,
// pids.events) -> map. Lines that do not parse are skipped.
std::map<std::string, uint64_t> ParseKeyedFile(const std::string& content);

// The figures the agent reports as ResourceStatistics.
struct CgroupUsage {
  std::optional<uint64_t> processes;  // Count of cgroup.procs entries.
  std::optional<uint64_t> user_usec, system_usec, usage_usec;
  std::optional<uint64_t> nr_periods, nr_throttled, throttled_usec;
  std::optional<uint64_t> cpu_quota_us, cpu_period_us;  // cpu.max
  std::optional<uint64_t> memory_current, memory_max, memory_low;
  std::optional<uint64_t> anon, file, kernel, file_mapped, swap_current;
  std::optional<uint64_t> oom, oom_kill;  // memory.events
  std::optional<uint64_t> pids_current, pids_max;
};

class Cgroups2Isolator {
 public:
  struct Options {
    std::string root = "agora";  // Relative to the CgroupFs's mount point.
    IsolationConfig isolation;
    CgroupsLimitOptions limits;
    // How long Destroy() waits for killed processes to leave.
    absl::Duration destroy_timeout = absl::Seconds(5);
  };

  // `fs` must outlive this.
  Cgroups2Isolator(CgroupFs* fs, Options options);

  // Creates <root> and <root>/agent/leaf, moves `agent_pid` into that leaf,
  // and enables the isolators' controllers in <root>'s parent (when
  // needed) and in <root>. Container cgroups an earlier agent left under
  // <root> stay: its recovery adopts or destroys them. Errors name the
  // file and the missing controller.
  absl::Status Prepare(pid_t agent_pid);

  // At agent stop, after the containers are destroyed: moves `agent_pid`
  // into `return_to` (its cgroup before Prepare(); "" is the hierarchy's
  // root) and removes <root>/agent/leaf, <root>/agent and, when nothing
  // else is left in it, <root>. A <root> still holding other cgroups stays.
  absl::Status Release(pid_t agent_pid, const std::string& return_to);

  // Creates <root>/<id> and its leaf and writes `limits` for the enabled
  // controllers (LimitWrites with new_cgroup). On any error nothing is left
  // behind.
  absl::Status Create(const std::string& container_id,
                      const CgroupLimits& limits);

  // Rewrites the limits of an existing container (more tasks joined it).
  absl::Status Update(const std::string& container_id,
                      const CgroupLimits& limits);

  // The absolute path of the container's leaf (where processes are born).
  std::string LeafPath(const std::string& container_id) const;
  std::string ContainerCgroup(const std::string& container_id) const;

  absl::StatusOr<CgroupUsage> Usage(const std::string& container_id) const;
  // memory.events oom_kill of the container (0 without cgroups/mem).
  absl::StatusOr<uint64_t> OomKills(const std::string& container_id) const;
  // "Memory limit exceeded: ..." with memory.max, memory.peak when the
  // kernel has it, and memory.stat's anon/file/kernel.
  std::string OomMessage(const std::string& container_id) const;

  // SIGKILLs every process of the container (cgroup.kill).
  absl::Status Kill(const std::string& container_id);
  // Removes leaf and container. An empty container (the usual case: its
  // processes have exited) takes just the two rmdirs. When the kernel
  // reports it busy (processes or nested cgroups left): cgroup.kill, then
  // removes everything below it bottom-up, retrying while the kernel still
  // reports it busy (up to destroy_timeout). OK when it does not exist.
  absl::Status Destroy(const std::string& container_id);
  // One attempt of Destroy() that never sleeps: the two rmdirs, else
  // cgroup.kill and one bottom-up pass. OK when the container is gone; a
  // busy status (IsBusy) while killed processes are still leaving, for the
  // caller to try again later; any other error as it is.
  absl::Status TryDestroy(const std::string& container_id);
  // True for the statuses the kernel's EBUSY (and its kin) map to.
  static bool IsBusy(const absl::Status& status);

  // The container ids with a cgroup under <root>.
  absl::StatusOr<std::vector<std::string>> Containers() const;

  const Options& options() const { return options_; }

 private:
  absl::Status EnableControllers(const std::string& cgroup);
  absl::Status WriteLimits(const std::string& cgroup,
                           const CgroupLimits& limits, bool new_cgroup);
  // rmdir of `cgroup` and everything below it, bottom-up, once.
  absl::Status RemoveTreeOnce(const std::string& cgroup);

  CgroupFs* const fs_;
  const Options options_;
};

}  // namespace agora

#endif  // AGORA_ISOLATION_CGROUPS2_ISOLATOR_H_
