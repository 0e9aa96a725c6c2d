// Container usage: Mesos's ResourceStatistics for one executor's container,
// read from its cgroup (cgroups isolators: cpu.stat, cpu.max,
// memory.current/max/low/stat, memory.swap.current, cgroup.procs) or from
// its process tree in /proc (posix isolators). One reading feeds
// /monitor/statistics, the containerizer/mesos/* gauges of
// /metrics/snapshot and the operator API's GET_CONTAINERS, so all three
// show the same figures.
//
// Thread rule: plain functions that read files; the agent calls them off
// its loop, on a UsageSource copied on the loop (Containerizer).
#ifndef AGORA_AGENT_CONTAINER_USAGE_H_
#define AGORA_AGENT_CONTAINER_USAGE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "isolation/cgroups2_isolator.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

// Figures of a cgroup that ResourceStatistics has no field for
// (memory.events, pids.*); /monitor/statistics adds them as mem_oom_events,
// mem_oom_kill_events, pids_current and pids_max.
struct ContainerUsageExtras {
  std::optional<uint64_t> mem_oom_events;
  std::optional<uint64_t> mem_oom_kill_events;
  std::optional<uint64_t> pids_current;
  std::optional<uint64_t> pids_max;
};

// What a reading of one container needs.
struct UsageSource {
  std::string container_id;
  pid_t pid = 0;  // Its main process; 0 once exited.
  bool has_cgroup = false;
  ContainerResources resources;
};

// The container's usage now. The limits (cpus_limit,
// mem_limit_bytes) come from its resources when nothing better is read;
// usage fields are absent when the container has no process or its files
// cannot be read. `isolator` may be null (posix isolation); `extras` may be
// null.
mesos::v1::ResourceStatistics ContainerStatistics(
    const UsageSource& container, const Cgroups2Isolator* isolator,
    ContainerUsageExtras* extras = nullptr);

}  // namespace agora

#endif  // AGORA_AGENT_CONTAINER_USAGE_H_
