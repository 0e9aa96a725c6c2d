#include "agent/container_usage.h"

#include <cmath>

#include "absl/time/clock.h"
#include "isolation/posix_launcher.h"

namespace agora {
namespace {

using mesos::v1::ResourceStatistics;

double Seconds(uint64_t usec) { return static_cast<double>(usec) / 1e6; }

void FillFromCgroup(const CgroupUsage& u, ResourceStatistics& s,
                    ContainerUsageExtras* extras) {
  if (u.processes) s.set_processes(static_cast<uint32_t>(*u.processes));
  if (u.user_usec) s.set_cpus_user_time_secs(Seconds(*u.user_usec));
  if (u.system_usec) s.set_cpus_system_time_secs(Seconds(*u.system_usec));
  if (u.cpu_quota_us && u.cpu_period_us && *u.cpu_period_us > 0) {
    s.set_cpus_limit(static_cast<double>(*u.cpu_quota_us) /
                     static_cast<double>(*u.cpu_period_us));
  }
  if (u.nr_periods) s.set_cpus_nr_periods(static_cast<uint32_t>(*u.nr_periods));
  if (u.nr_throttled) {
    s.set_cpus_nr_throttled(static_cast<uint32_t>(*u.nr_throttled));
  }
  if (u.throttled_usec) {
    s.set_cpus_throttled_time_secs(Seconds(*u.throttled_usec));
  }
  if (u.memory_current) s.set_mem_total_bytes(*u.memory_current);
  if (u.memory_max) s.set_mem_limit_bytes(*u.memory_max);
  if (u.memory_low) s.set_mem_soft_limit_bytes(*u.memory_low);
  if (u.anon) s.set_mem_anon_bytes(*u.anon);
  if (u.file) {
    s.set_mem_file_bytes(*u.file);
    s.set_mem_cache_bytes(*u.file);
  }
  if (u.file_mapped) s.set_mem_mapped_file_bytes(*u.file_mapped);
  if (u.kernel) s.set_mem_kmem_usage_bytes(*u.kernel);
  if (u.swap_current) s.set_mem_swap_bytes(*u.swap_current);
  if (extras != nullptr) {
    extras->mem_oom_events = u.oom;
    extras->mem_oom_kill_events = u.oom_kill;
    extras->pids_current = u.pids_current;
    extras->pids_max = u.pids_max;
  }
}

void FillFromProcesses(const ProcessTreeUsage& u, ResourceStatistics& s) {
  s.set_processes(u.processes);
  s.set_threads(u.threads);
  s.set_cpus_user_time_secs(u.user_secs);
  s.set_cpus_system_time_secs(u.system_secs);
  s.set_mem_rss_bytes(u.rss_bytes);
  s.set_mem_total_bytes(u.rss_bytes);
}

}  // namespace

ResourceStatistics ContainerStatistics(const UsageSource& e,
                                       const Cgroups2Isolator* isolator,
                                       ContainerUsageExtras* extras) {
  const ContainerResources& r = e.resources;
  ResourceStatistics s;
  s.set_timestamp(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  s.set_cpus_limit(r.cpus_limit && !std::isinf(*r.cpus_limit) ? *r.cpus_limit
                                                              : r.cpus);
  s.set_mem_limit_bytes(
      static_cast<uint64_t>(r.mem_limit_mb.value_or(r.mem_mb) * (1 << 20)));
  bool from_cgroup = false;
  if (isolator != nullptr && e.has_cgroup) {
    absl::StatusOr<CgroupUsage> u = isolator->Usage(e.container_id);
    if (u.ok()) {
      FillFromCgroup(*u, s, extras);
      from_cgroup = true;
      if (u->memory_current) return s;
    }
  }
  if (e.pid == 0) return s;
  absl::StatusOr<ProcessTreeUsage> p = ReadProcessTreeUsage(e.pid);
  if (!p.ok()) return s;
  if (from_cgroup) {
    // A cgroup without the memory controller (posix/mem with the linux
    // launcher): processes and CPU came from it, memory and threads come
    // from the processes.
    s.set_threads(p->threads);
    s.set_mem_rss_bytes(p->rss_bytes);
    s.set_mem_total_bytes(p->rss_bytes);
  } else {
    FillFromProcesses(*p, s);
  }
  return s;
}

}  // namespace agora
