// Containerizer: the agent's containers, by container id, beneath the
// executor management (container_manager.h), as Mesos's Containerizer sits
// beneath its agent. A container is a process tree started through the
// Launcher and, with a Cgroups2Isolator, a cgroup holding it with the
// limits of its resources (docs/cgroups.md). The containerizer launches,
// updates, kills and destroys containers, reads their usage, notices OOM
// kills in memory.events, and at agent start-up recovers the containers an
// earlier agent left: those whose process still runs (same pid and start
// time) are adopted, with their cgroup as it is; every other container
// cgroup under the root is destroyed.
//
// When a container's main process exits, the rest of the container is
// destroyed (its cgroup killed and removed, or, without one, what is left
// of its process session killed) and `exited` reports it with the OOM
// limitation when there was one.
//
// Thread rule: loop thread only; launcher exits are posted to the loop.
#ifndef AGORA_AGENT_CONTAINERIZER_H_
#define AGORA_AGENT_CONTAINERIZER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/container_usage.h"
#include "common/event_loop.h"
#include "common/metrics.h"
#include "isolation/cgroups2_isolator.h"
#include "isolation/launcher.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

// Why a container ended, beyond its exit status: a resource limitation
// (an OOM kill), as Mesos's ContainerTermination.
struct ContainerLimitation {
  mesos::v1::TaskResourceLimitation limitation;
  std::string message;  // "Memory limit exceeded: ..."
};

class Containerizer {
 public:
  struct Options {
    bool pid_namespace = false;  // Isolator namespaces/pid.
    bool private_tmp = false;    // Isolator filesystem/linux.
    // How often memory.events is checked for OOM kills.
    absl::Duration oom_check_interval = absl::Milliseconds(250);
  };
  struct Callbacks {
    // The container's main process exited with `wait_status` (-1: unknown,
    // as for an adopted process); the container is gone.
    std::function<void(const std::string& id, int wait_status,
                       const std::optional<ContainerLimitation>& limitation)>
        exited;
    // The container went over its memory limit; it is being destroyed and
    // `exited` follows.
    std::function<void(const std::string& id, const ContainerLimitation&)>
        limited;
  };

  // A container an earlier agent launched, from its checkpoint.
  struct Known {
    std::string id;
    std::optional<pid_t> pid;  // Unknown when its launch was not recorded.
    uint64_t start_time = 0;
    ContainerResources resources;
  };

  // `launcher` and `metrics` must outlive this.
  Containerizer(Options options, EventLoop* loop, Launcher* launcher,
                MetricsRegistry* metrics, Callbacks callbacks);
  ~Containerizer();

  Containerizer(const Containerizer&) = delete;
  Containerizer& operator=(const Containerizer&) = delete;

  // The cgroups isolator (null: no cgroups). Set before any launch; must
  // outlive this.
  void set_isolator(Cgroups2Isolator* isolator) { isolator_ = isolator; }
  Cgroups2Isolator* isolator() const { return isolator_; }

  // Starts `spec` as container `id`: its cgroup with the limits of
  // `resources` (when isolating; the process is born in it), a pid
  // namespace and a private /tmp in <spec.cwd>/tmp per the options. On
  // error nothing is left of the container.
  absl::StatusOr<pid_t> Launch(const std::string& id, LaunchSpec spec,
                               const ContainerResources& resources);
  // Rewrites the limits of a running container.
  absl::Status Update(const std::string& id,
                      const ContainerResources& resources);
  // SIGKILL to every process of the container; `exited` follows.
  absl::Status Kill(const std::string& id);
  // Kill() of each of `ids`, sharing one walk of /proc between those
  // without a cgroup.
  void KillMany(const std::vector<std::string>& ids);
  // `signal` to the container's main process alone, when it still is the
  // process launched or adopted (start time checked). NotFound otherwise.
  absl::Status SignalMain(const std::string& id, int signal);
  // The container's OOM limitation, reading memory.events now.
  std::optional<ContainerLimitation> CheckLimitation(const std::string& id);

  // Adopts the containers of `known` whose process still runs, as above,
  // and destroys every other container (cgroup, or the leftovers of its
  // process session). Returns the ids adopted. Call once, before Launch.
  std::set<std::string> Recover(const std::vector<Known>& known);
  // Kills containers of an earlier agent that are not adopted and removes
  // their cgroups. Without a cgroup a container is its process session: a
  // pid that still names the process launched is killed with its session;
  // a pid that is gone may still lead the session of orphans (the kernel
  // does not reuse a number that is still a session id), which are killed;
  // a pid now naming another process is not ours, nor is its session.
  void DestroyUnadopted(const std::vector<Known>& known);

  // Agent stop: removes the cgroups of containers without a live process
  // (kill them first). Returns how many removals failed.
  int DestroyStopped();

  bool IsLive(const std::string& id) const;
  size_t LiveCount() const;
  std::optional<pid_t> pid(const std::string& id) const;
  std::optional<uint64_t> start_time(const std::string& id) const;
  // What a usage reading of the container needs (container_usage.h), to
  // read it now or on another thread.
  std::optional<UsageSource> UsageSourceOf(const std::string& id) const;

 private:
  struct Container {
    pid_t pid = 0;  // 0 once the main process exited.
    uint64_t start_time = 0;
    bool has_cgroup = false;
    ContainerResources resources;
    std::optional<ContainerLimitation> limitation;
  };

  absl::Status CreateCgroup(const std::string& id,
                            const ContainerResources& resources,
                            LaunchSpec* spec);
  void OnExited(const std::string& id, int wait_status);
  void WatchOom();
  void OnOomCheckTimer();
  // Removes the container's cgroup; while its killed processes are still
  // leaving, retries on loop timers up to the isolator's destroy_timeout.
  void DestroyCgroup(const std::string& id);
  void RetryDestroy(const std::string& id, absl::Time deadline,
                    absl::Duration backoff);
  Launcher::ExitCallback PostExit(const std::string& id);

  const Options options_;
  EventLoop* const loop_;
  Launcher* const launcher_;
  MetricsRegistry* const metrics_;
  const Callbacks callbacks_;
  Cgroups2Isolator* isolator_ = nullptr;
  std::map<std::string, Container> containers_;
  EventLoop::TimerId oom_timer_ = 0;
  // Containers whose cgroup removal waits for a retry.
  std::map<std::string, EventLoop::TimerId> destroy_timers_;
};

}  // namespace agora

#endif  // AGORA_AGENT_CONTAINERIZER_H_
