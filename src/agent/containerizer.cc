#include "agent/containerizer.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proc_stat.h"
#include "common/status_macros.h"
#include "glog/logging.h"

namespace agora {

Containerizer::Containerizer(Options options, EventLoop* loop,
                             Launcher* launcher, MetricsRegistry* metrics,
                             Callbacks callbacks)
    : options_(options),
      loop_(loop),
      launcher_(launcher),
      metrics_(metrics),
      callbacks_(std::move(callbacks)) {}

Containerizer::~Containerizer() {
  if (oom_timer_) loop_->Cancel(oom_timer_);
  for (const auto& [id, timer] : destroy_timers_) loop_->Cancel(timer);
}

Launcher::ExitCallback Containerizer::PostExit(const std::string& id) {
  return [loop = loop_, this, id](pid_t, int wait_status) {
    loop->Post([this, id, wait_status] { OnExited(id, wait_status); });
  };
}

absl::Status Containerizer::CreateCgroup(const std::string& id,
                                         const ContainerResources& resources,
                                         LaunchSpec* spec) {
  AGORA_ASSIGN_OR_RETURN(CgroupLimits limits,
                         ComputeLimits(resources, isolator_->options().limits));
  AGORA_RETURN_IF_ERROR(isolator_->Create(id, limits));
  spec->cgroup = isolator_->LeafPath(id);
  return absl::OkStatus();
}

absl::StatusOr<pid_t> Containerizer::Launch(
    const std::string& id, LaunchSpec spec,
    const ContainerResources& resources) {
  DCHECK(loop_->IsLoopThread());
  if (options_.private_tmp) {
    spec.private_tmp = spec.cwd + "/tmp";
    if ((mkdir(spec.private_tmp.c_str(), 01777) != 0 && errno != EEXIST) ||
        chmod(spec.private_tmp.c_str(), 01777) != 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("failed to create '", spec.private_tmp, "'"));
    }
  }
  spec.new_pid_namespace = options_.pid_namespace;
  Container container;
  container.resources = resources;
  if (isolator_ != nullptr) {
    AGORA_RETURN_IF_ERROR(CreateCgroup(id, resources, &spec));
    container.has_cgroup = true;
  }
  absl::StatusOr<pid_t> pid = launcher_->Launch(spec, PostExit(id));
  if (!pid.ok()) {
    if (container.has_cgroup) {
      containers_[id] = container;  // For the retried removal.
      DestroyCgroup(id);
      containers_.erase(id);
    }
    return pid.status();
  }
  container.pid = *pid;
  container.start_time = ProcessStartTime(*pid).value_or(0);
  containers_[id] = container;
  if (container.has_cgroup) WatchOom();
  return pid;
}

absl::Status Containerizer::Update(const std::string& id,
                                   const ContainerResources& resources) {
  auto it = containers_.find(id);
  if (it == containers_.end()) {
    return absl::NotFoundError(absl::StrCat("no container ", id));
  }
  if (isolator_ != nullptr && it->second.has_cgroup) {
    AGORA_ASSIGN_OR_RETURN(
        CgroupLimits limits,
        ComputeLimits(resources, isolator_->options().limits));
    AGORA_RETURN_IF_ERROR(isolator_->Update(id, limits));
  }
  it->second.resources = resources;
  return absl::OkStatus();
}

absl::Status Containerizer::Kill(const std::string& id) {
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second.pid == 0) {
    return absl::NotFoundError(absl::StrCat("no live container ", id));
  }
  // A cgroup holds the whole container: cgroup.kill reaches every process
  // in it, however it was started.
  return isolator_ != nullptr && it->second.has_cgroup
             ? isolator_->Kill(id)
             : launcher_->Kill(it->second.pid, SIGKILL);
}

void Containerizer::KillMany(const std::vector<std::string>& ids) {
  std::vector<pid_t> pids;
  for (const std::string& id : ids) {
    auto it = containers_.find(id);
    if (it == containers_.end() || it->second.pid == 0) continue;
    if (isolator_ != nullptr && it->second.has_cgroup) {
      absl::Status st = isolator_->Kill(id);
      if (!st.ok())
        LOG(WARNING) << "Failed to kill container " << id << ": " << st;
    } else {
      pids.push_back(it->second.pid);
    }
  }
  launcher_->KillMany(pids, SIGKILL);
}

absl::Status Containerizer::SignalMain(const std::string& id, int signal) {
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second.pid == 0 ||
      ProcessStartTime(it->second.pid) != it->second.start_time) {
    return absl::NotFoundError(absl::StrCat("no live container ", id));
  }
  if (::kill(it->second.pid, signal) != 0) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("failed to signal ", it->second.pid));
  }
  return absl::OkStatus();
}

std::optional<ContainerLimitation> Containerizer::CheckLimitation(
    const std::string& id) {
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  Container& c = it->second;
  if (c.limitation) return c.limitation;
  if (isolator_ == nullptr || !c.has_cgroup) return std::nullopt;
  absl::StatusOr<uint64_t> kills = isolator_->OomKills(id);
  if (!kills.ok() || *kills == 0) return std::nullopt;
  ContainerLimitation limit;
  limit.message = isolator_->OomMessage(id);
  LOG(INFO) << "OOM kill in container " << id << ": " << limit.message;
  mesos::v1::Resource* mem = limit.limitation.add_resources();
  mem->set_name("mem");
  mem->set_type(mesos::v1::Value::SCALAR);
  double mb = c.resources.mem_limit_mb.value_or(c.resources.mem_mb);
  absl::StatusOr<CgroupUsage> usage = isolator_->Usage(id);
  if (usage.ok() && usage->memory_max) {
    mb = static_cast<double>(*usage->memory_max) / (1 << 20);
  }
  mem->mutable_scalar()->set_value(mb);
  c.limitation = limit;
  metrics_->Increment("containerizer/mesos/container_limitations_memory");
  return c.limitation;
}

void Containerizer::WatchOom() {
  if (oom_timer_ == 0 && isolator_ != nullptr &&
      isolator_->options().isolation.Has("cgroups/mem")) {
    oom_timer_ = loop_->PostAfter(options_.oom_check_interval,
                                  [this] { OnOomCheckTimer(); });
  }
}

void Containerizer::OnOomCheckTimer() {
  oom_timer_ = 0;
  bool any = false;
  std::vector<std::pair<std::string, ContainerLimitation>> limited;
  for (auto& [id, c] : containers_) {
    if (!c.has_cgroup || c.pid == 0) continue;
    any = true;
    if (c.limitation) continue;
    std::optional<ContainerLimitation> limit = CheckLimitation(id);
    if (!limit) continue;
    // As Mesos: a container over its memory limit is destroyed.
    LOG(INFO) << "Destroying container " << id << ": memory limit exceeded";
    absl::Status st = Kill(id);
    if (!st.ok())
      LOG(WARNING) << "Failed to kill container " << id << ": " << st;
    limited.emplace_back(id, *limit);
  }
  for (const auto& [id, limit] : limited) callbacks_.limited(id, limit);
  if (any) WatchOom();
}

void Containerizer::OnExited(const std::string& id, int wait_status) {
  DCHECK(loop_->IsLoopThread());
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second.pid == 0) return;
  Container& c = it->second;
  // Destroy the rest of the container: the task of an executor that died
  // would otherwise live on unobserved.
  if (isolator_ != nullptr && c.has_cgroup) {
    CheckLimitation(id);
    DestroyCgroup(id);
  } else if (launcher_->Kill(c.pid, SIGKILL).ok()) {
    LOG(INFO) << "Killed processes left in container " << id;
  }
  std::optional<ContainerLimitation> limitation = c.limitation;
  containers_.erase(it);
  callbacks_.exited(id, wait_status, limitation);
}

void Containerizer::DestroyCgroup(const std::string& id) {
  RetryDestroy(id, absl::Now() + isolator_->options().destroy_timeout,
               absl::ZeroDuration());
}

void Containerizer::RetryDestroy(const std::string& id, absl::Time deadline,
                                 absl::Duration backoff) {
  absl::Status st = isolator_->TryDestroy(id);
  if (st.ok()) return;
  if (Cgroups2Isolator::IsBusy(st) && absl::Now() < deadline) {
    // Killed processes are still leaving (a process in uninterruptible
    // sleep can take seconds): try again from the loop instead of
    // sleeping on it, which would stall every executor and the master
    // link meanwhile.
    backoff =
        std::clamp(backoff * 2, absl::Milliseconds(1), absl::Milliseconds(50));
    destroy_timers_[id] =
        loop_->PostAfter(backoff, [this, id, deadline, backoff] {
          destroy_timers_.erase(id);
          RetryDestroy(id, deadline, backoff);
        });
    return;
  }
  LOG(ERROR) << "Failed to destroy the cgroup of container " << id << ": "
             << st;
  metrics_->Increment("containerizer/mesos/container_destroy_errors");
}

std::set<std::string> Containerizer::Recover(const std::vector<Known>& known) {
  DCHECK(loop_->IsLoopThread());
  std::set<std::string> cgroups;
  if (isolator_ != nullptr) {
    absl::StatusOr<std::vector<std::string>> ids = isolator_->Containers();
    if (ids.ok()) cgroups.insert(ids->begin(), ids->end());
  }
  std::set<std::string> adopted;
  for (const Known& k : known) {
    if (!k.pid) continue;
    Container c;
    c.pid = *k.pid;
    c.start_time = k.start_time;
    c.resources = k.resources;
    c.has_cgroup = cgroups.count(k.id) > 0;
    // With cgroups a container without its cgroup is not whole: it goes.
    if (isolator_ != nullptr && !c.has_cgroup) continue;
    absl::Status st = launcher_->Adopt(*k.pid, k.start_time, PostExit(k.id));
    if (!st.ok()) {
      LOG(INFO) << "Container " << k.id << " is gone: " << st.message();
      continue;
    }
    LOG(INFO) << "Adopted container " << k.id << " (pid " << *k.pid
              << (c.has_cgroup ? ", its cgroup as it is)" : ")");
    containers_[k.id] = c;
    adopted.insert(k.id);
  }
  std::vector<Known> unadopted;
  for (const Known& k : known) {
    if (!adopted.count(k.id)) unadopted.push_back(k);
    cgroups.erase(k.id);
  }
  DestroyUnadopted(unadopted);
  // Cgroups of containers nobody knows (orphans): what runs there goes.
  for (const std::string& id : cgroups) {
    LOG(INFO) << "Destroying orphan container " << id;
    absl::Status st = isolator_->Destroy(id);
    if (!st.ok()) {
      LOG(ERROR) << "Failed to destroy orphan container " << id << ": " << st;
      metrics_->Increment("containerizer/mesos/container_destroy_errors");
    }
  }
  if (!adopted.empty()) WatchOom();
  return adopted;
}

void Containerizer::DestroyUnadopted(const std::vector<Known>& known) {
  std::vector<pid_t> kill;
  for (const Known& k : known) {
    if (isolator_ != nullptr) {
      absl::Status st = isolator_->Destroy(k.id);  // OK when there is none.
      if (!st.ok()) {
        LOG(ERROR) << "Failed to destroy container " << k.id << ": " << st;
      }
    }
    if (!k.pid) continue;
    bool ours = ProcessStartTime(*k.pid) == k.start_time;
    bool gone = !ReadProcStat(*k.pid).has_value();
    if (ours || gone) {
      kill.push_back(*k.pid);
    } else {
      LOG(WARNING) << "Not killing pid " << *k.pid << " of container " << k.id
                   << ": it is another process now (pid reuse)";
    }
  }
  int killed = launcher_->KillMany(kill, SIGKILL);
  if (killed > 0) {
    LOG(INFO) << "Killed what was left of " << killed
              << " container(s) of the earlier agent";
  }
}

int Containerizer::DestroyStopped() {
  if (isolator_ == nullptr) return 0;
  int errors = 0;
  absl::StatusOr<std::vector<std::string>> ids = isolator_->Containers();
  if (!ids.ok()) return 1;
  for (const std::string& id : *ids) {
    if (IsLive(id)) continue;
    absl::Status st = isolator_->Destroy(id);
    if (!st.ok()) {
      LOG(ERROR) << "Failed to destroy the cgroup of container " << id << ": "
                 << st;
      ++errors;
    }
  }
  return errors;
}

bool Containerizer::IsLive(const std::string& id) const {
  auto it = containers_.find(id);
  return it != containers_.end() && it->second.pid != 0;
}

size_t Containerizer::LiveCount() const {
  size_t n = 0;
  for (const auto& [id, c] : containers_) n += c.pid != 0 ? 1 : 0;
  return n;
}

std::optional<pid_t> Containerizer::pid(const std::string& id) const {
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second.pid == 0) return std::nullopt;
  return it->second.pid;
}

std::optional<uint64_t> Containerizer::start_time(const std::string& id) const {
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second.pid == 0) return std::nullopt;
  return it->second.start_time;
}

std::optional<UsageSource> Containerizer::UsageSourceOf(
    const std::string& id) const {
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return UsageSource{id, it->second.pid, it->second.has_cgroup,
                     it->second.resources};
}

}  // namespace agora
