// Container usage: Mesos's ResourceStatistics for one executor's container,
// read from its cgroup (cgroups isolators: cpu.stat, cpu.max,
// memory.current/max/low/stat, memory.swap.current, cgroup.procs) or from
// its process tree in /proc (posix isolators). One reading feeds
// /monitor/statistics, the containerizer/mesos/* gauges of
// /metrics/snapshot and the operator API's GET_CONTAINERS, so all three
// show the same figures.
//
// Thread rule: the agent loop (it reads the container manager's records).
#ifndef AGORA_AGENT_CONTAINER_USAGE_H_
#define AGORA_AGENT_CONTAINER_USAGE_H_

#include <cstdint>
#include <optional>

#include "agent/container_manager.h"
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

// `executor`'s container usage now. The limits (cpus_limit,
// mem_limit_bytes) come from its resources when nothing better is read;
// usage fields are absent when the container has no process or its files
// cannot be read. `isolator` may be null (posix isolation); `extras` may be
// null.
mesos::v1::ResourceStatistics ContainerStatistics(
    const ExecutorRecord& executor, const Cgroups2Isolator* isolator,
    ContainerUsageExtras* extras = nullptr);

}  // namespace agora

#endif  // AGORA_AGENT_CONTAINER_USAGE_H_
