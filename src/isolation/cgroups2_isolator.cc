#include "isolation/cgroups2_isolator.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace agora {
namespace {

constexpr char kAgentCgroup[] = "agent";
constexpr char kLeaf[] = "leaf";

absl::Status CheckRequest(const char* name, double value) {
  if (std::isnan(value) || std::isinf(value) || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource '", name,
                     "' must be a finite non-negative number, got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckLimit(const char* name, std::optional<double> limit,
                        double request) {
  if (!limit) return absl::OkStatus();
  if (std::isnan(*limit) || *limit < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limit '", name, "' must be a non-negative number, got ", *limit));
  }
  if (*limit < request) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit '", name, "' (", *limit, ") is below the request (",
                     request, ")"));
  }
  return absl::OkStatus();
}

uint64_t Clamp(double v, uint64_t lo, uint64_t hi) {
  if (!(v >= static_cast<double>(lo))) return lo;
  if (v >= static_cast<double>(hi)) return hi;
  return static_cast<uint64_t>(v);
}

// "max" or a number.
std::optional<uint64_t> ParseMaxOrNumber(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  uint64_t v;
  if (s != "max" && absl::SimpleAtoi(s, &v)) return v;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<CgroupLimits> ComputeLimits(const ContainerResources& r,
                                           const CgroupsLimitOptions& options) {
  AGORA_RETURN_IF_ERROR(CheckRequest("cpus", r.cpus));
  AGORA_RETURN_IF_ERROR(CheckRequest("mem", r.mem_mb));
  if (r.pids) AGORA_RETURN_IF_ERROR(CheckRequest("pids", *r.pids));
  AGORA_RETURN_IF_ERROR(CheckLimit("cpus", r.cpus_limit, r.cpus));
  AGORA_RETURN_IF_ERROR(CheckLimit("mem", r.mem_limit_mb, r.mem_mb));
  CgroupLimits l;
  l.cpu_weight = Clamp(100.0 * r.cpus, 1, 10000);
  l.io_weight = l.cpu_weight;
  l.cpu_period_us = kCpuPeriodUs;
  if (r.cpus_limit) {
    if (!std::isinf(*r.cpus_limit)) {
      l.cpu_max_quota_us = std::max<uint64_t>(
          static_cast<uint64_t>(*r.cpus_limit * kCpuPeriodUs), kMinCpuQuotaUs);
    }
  } else if (options.enable_cfs) {
    l.cpu_max_quota_us = std::max<uint64_t>(
        static_cast<uint64_t>(r.cpus * kCpuPeriodUs), kMinCpuQuotaUs);
  }
  const uint64_t request_bytes = static_cast<uint64_t>(r.mem_mb * (1 << 20));
  l.memory_low = std::max(request_bytes, kMinContainerMemoryBytes);
  if (r.mem_limit_mb) {
    if (!std::isinf(*r.mem_limit_mb)) {
      l.memory_max =
          std::max(static_cast<uint64_t>(*r.mem_limit_mb * (1 << 20)),
                   kMinContainerMemoryBytes);
    }
  } else {
    l.memory_max = l.memory_low;
  }
  l.swap_max_zero = options.limit_swap;
  if (r.pids) {
    l.pids_max = static_cast<uint64_t>(*r.pids);
  } else if (options.max_pids) {
    l.pids_max = *options.max_pids;
  }
  return l;
}

std::vector<std::pair<std::string, std::string>> LimitWrites(
    const IsolationConfig& iso, const CgroupLimits& l, bool new_cgroup) {
  std::vector<std::pair<std::string, std::string>> writes;
  // Adds the write unless a new cgroup has `value` already.
  auto add = [&](const char* file, std::string value, const char* initial) {
    if (!new_cgroup || value != initial) writes.emplace_back(file, value);
  };
  if (iso.Has("cgroups/cpu")) {
    add("cpu.weight", absl::StrCat(l.cpu_weight), "100");
    add("cpu.max",
        absl::StrCat(l.cpu_max_quota_us ? absl::StrCat(*l.cpu_max_quota_us)
                                        : std::string("max"),
                     " ", l.cpu_period_us),
        "max 100000");
  }
  if (iso.Has("cgroups/mem")) {
    add("memory.low", absl::StrCat(l.memory_low), "0");
    add("memory.max",
        l.memory_max ? absl::StrCat(*l.memory_max) : std::string("max"), "max");
    if (l.swap_max_zero) add("memory.swap.max", "0", "max");
  }
  if (iso.Has("cgroups/pids")) {
    add("pids.max", l.pids_max ? absl::StrCat(*l.pids_max) : std::string("max"),
        "max");
  }
  if (iso.Has("cgroups/io")) {
    add("io.weight", absl::StrCat("default ", l.io_weight), "default 100");
  }
  return writes;
}

std::map<std::string, uint64_t> ParseKeyedFile(const std::string& content) {
  std::map<std::string, uint64_t> out;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    std::vector<absl::string_view> kv =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t v;
    if (kv.size() == 2 && absl::SimpleAtoi(kv[1], &v)) {
      out[std::string(kv[0])] = v;
    }
  }
  return out;
}

Cgroups2Isolator::Cgroups2Isolator(CgroupFs* fs, Options options)
    : fs_(fs), options_(std::move(options)) {}

std::string Cgroups2Isolator::ContainerCgroup(const std::string& id) const {
  return JoinCgroup(options_.root, id);
}

std::string Cgroups2Isolator::LeafPath(const std::string& id) const {
  return fs_->Path(JoinCgroup(ContainerCgroup(id), kLeaf));
}

absl::Status Cgroups2Isolator::EnableControllers(const std::string& cgroup) {
  std::vector<std::string> wanted = options_.isolation.Controllers();
  if (wanted.empty()) return absl::OkStatus();
  AGORA_ASSIGN_OR_RETURN(std::string enabled,
                         fs_->Read(cgroup, "cgroup.subtree_control"));
  std::set<std::string> have;
  for (absl::string_view c :
       absl::StrSplit(enabled, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    have.insert(std::string(c));
  }
  std::vector<std::string> add;
  for (const std::string& c : wanted) {
    if (!have.count(c)) add.push_back("+" + c);
  }
  if (add.empty()) return absl::OkStatus();
  absl::Status st =
      fs_->Write(cgroup, "cgroup.subtree_control", absl::StrJoin(add, " "));
  if (!st.ok()) {
    return absl::Status(
        st.code(),
        absl::StrCat("cannot enable controllers ", absl::StrJoin(add, " "),
                     " in '", fs_->Path(cgroup), "': ", st.message()));
  }
  return absl::OkStatus();
}

absl::Status Cgroups2Isolator::Prepare(pid_t agent_pid) {
  const std::string& root = options_.root;
  const std::string agent = JoinCgroup(root, kAgentCgroup);
  const std::string agent_leaf = JoinCgroup(agent, kLeaf);
  for (const std::string& cg : {root, agent, agent_leaf}) {
    absl::Status st = fs_->Create(cg);
    if (!st.ok() && !absl::IsAlreadyExists(st)) {
      return absl::Status(
          st.code(),
          absl::StrCat("cgroups root is not usable: ", st.message()));
    }
  }
  AGORA_RETURN_IF_ERROR(
      fs_->Write(agent_leaf, "cgroup.procs", absl::StrCat(agent_pid)));
  AGORA_RETURN_IF_ERROR(EnableControllers(ParentCgroup(root)));
  return EnableControllers(root);
}

absl::Status Cgroups2Isolator::Release(pid_t agent_pid,
                                       const std::string& return_to) {
  const std::string agent = JoinCgroup(options_.root, kAgentCgroup);
  AGORA_RETURN_IF_ERROR(
      fs_->Write(return_to, "cgroup.procs", absl::StrCat(agent_pid)));
  for (const std::string& cg : {JoinCgroup(agent, kLeaf), agent}) {
    absl::Status st = fs_->Remove(cg);
    if (!st.ok() && !absl::IsNotFound(st)) return st;
  }
  absl::Status st = fs_->Remove(options_.root);
  if (st.ok() || absl::IsNotFound(st) || IsBusy(st)) return absl::OkStatus();
  return st;
}

absl::Status Cgroups2Isolator::WriteLimits(const std::string& cg,
                                           const CgroupLimits& l,
                                           bool new_cgroup) {
  for (const auto& [file, value] :
       LimitWrites(options_.isolation, l, new_cgroup)) {
    AGORA_RETURN_IF_ERROR(fs_->Write(cg, file, value));
  }
  return absl::OkStatus();
}

absl::Status Cgroups2Isolator::Create(const std::string& id,
                                      const CgroupLimits& limits) {
  if (id.empty() || id.find('/') != std::string::npos || id == kAgentCgroup ||
      id[0] == '.') {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid container id '", id, "'"));
  }
  const std::string cg = ContainerCgroup(id);
  AGORA_RETURN_IF_ERROR(fs_->Create(cg));
  absl::Status st = fs_->Create(JoinCgroup(cg, kLeaf));
  if (st.ok()) st = WriteLimits(cg, limits, /*new_cgroup=*/true);
  if (!st.ok()) {
    absl::Status cleanup = Destroy(id);
    if (!cleanup.ok()) {
      return absl::Status(
          st.code(),
          absl::StrCat(st.message(), "; cleanup: ", cleanup.message()));
    }
  }
  return st;
}

absl::Status Cgroups2Isolator::Update(const std::string& id,
                                      const CgroupLimits& limits) {
  const std::string cg = ContainerCgroup(id);
  if (!fs_->Exists(cg)) {
    return absl::NotFoundError(
        absl::StrCat("container ", id, " has no cgroup"));
  }
  return WriteLimits(cg, limits, /*new_cgroup=*/false);
}

absl::StatusOr<CgroupUsage> Cgroups2Isolator::Usage(
    const std::string& id) const {
  const std::string cg = ContainerCgroup(id);
  if (!fs_->Exists(cg)) {
    return absl::NotFoundError(
        absl::StrCat("container ", id, " has no cgroup"));
  }
  CgroupUsage u;
  auto read = [&](const char* file) -> std::optional<std::string> {
    absl::StatusOr<std::string> c = fs_->Read(cg, file);
    if (!c.ok()) return std::nullopt;
    return *std::move(c);
  };
  if (auto procs = fs_->Read(JoinCgroup(cg, kLeaf), "cgroup.procs");
      procs.ok()) {
    u.processes = 0;
    for (absl::string_view line : absl::StrSplit(*procs, '\n')) {
      if (!absl::StripAsciiWhitespace(line).empty()) ++*u.processes;
    }
  }
  if (auto stat = read("cpu.stat")) {
    auto kv = ParseKeyedFile(*stat);
    auto get = [&kv](const char* k) -> std::optional<uint64_t> {
      auto it = kv.find(k);
      if (it == kv.end()) return std::nullopt;
      return it->second;
    };
    u.usage_usec = get("usage_usec");
    u.user_usec = get("user_usec");
    u.system_usec = get("system_usec");
    u.nr_periods = get("nr_periods");
    u.nr_throttled = get("nr_throttled");
    u.throttled_usec = get("throttled_usec");
  }
  if (auto max = read("cpu.max")) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(*max, absl::ByAnyChar(" \n"), absl::SkipEmpty());
    if (parts.size() == 2) {
      u.cpu_quota_us = ParseMaxOrNumber(parts[0]);
      uint64_t period;
      if (absl::SimpleAtoi(parts[1], &period)) u.cpu_period_us = period;
    }
  }
  if (auto v = read("memory.current")) u.memory_current = ParseMaxOrNumber(*v);
  if (auto v = read("memory.max")) u.memory_max = ParseMaxOrNumber(*v);
  if (auto v = read("memory.low")) u.memory_low = ParseMaxOrNumber(*v);
  if (auto v = read("memory.swap.current")) {
    u.swap_current = ParseMaxOrNumber(*v);
  }
  if (auto v = read("memory.stat")) {
    auto kv = ParseKeyedFile(*v);
    auto set = [&kv](const char* k, std::optional<uint64_t>* out) {
      auto it = kv.find(k);
      if (it != kv.end()) *out = it->second;
    };
    set("anon", &u.anon);
    set("file", &u.file);
    set("kernel", &u.kernel);
    set("file_mapped", &u.file_mapped);
  }
  if (auto v = read("memory.events")) {
    auto kv = ParseKeyedFile(*v);
    if (kv.count("oom")) u.oom = kv["oom"];
    if (kv.count("oom_kill")) u.oom_kill = kv["oom_kill"];
  }
  if (auto v = read("pids.current")) u.pids_current = ParseMaxOrNumber(*v);
  if (auto v = read("pids.max")) u.pids_max = ParseMaxOrNumber(*v);
  return u;
}

absl::StatusOr<uint64_t> Cgroups2Isolator::OomKills(
    const std::string& id) const {
  if (!options_.isolation.Has("cgroups/mem")) return 0;
  AGORA_ASSIGN_OR_RETURN(std::string events,
                         fs_->Read(ContainerCgroup(id), "memory.events"));
  auto kv = ParseKeyedFile(events);
  auto it = kv.find("oom_kill");
  return it == kv.end() ? 0 : it->second;
}

std::string Cgroups2Isolator::OomMessage(const std::string& id) const {
  const std::string cg = ContainerCgroup(id);
  std::string message = "Memory limit exceeded: ";
  absl::StatusOr<std::string> max = fs_->Read(cg, "memory.max");
  absl::StrAppend(&message, "memory.max ",
                  max.ok() ? absl::StripAsciiWhitespace(*max) : "unknown");
  absl::StatusOr<std::string> peak = fs_->Read(cg, "memory.peak");
  if (peak.ok()) {
    absl::StrAppend(&message, ", memory.peak ",
                    absl::StripAsciiWhitespace(*peak));
  }
  absl::StatusOr<std::string> stat = fs_->Read(cg, "memory.stat");
  if (stat.ok()) {
    auto kv = ParseKeyedFile(*stat);
    absl::StrAppend(&message,
                    "\nMEMORY STATISTICS post-OOM:\nanon: ", kv["anon"],
                    "\nfile: ", kv["file"], "\nkernel: ", kv["kernel"], "\n");
  }
  return message;
}

absl::Status Cgroups2Isolator::Kill(const std::string& id) {
  const std::string cg = ContainerCgroup(id);
  absl::Status st = fs_->Write(cg, "cgroup.kill", "1");
  if (!absl::IsNotFound(st) || !fs_->Exists(cg)) return st;
  // Kernels before 5.14 have no cgroup.kill: SIGKILL each process of the
  // leaf (processes live only there), repeated until none is left so that
  // a fork racing the kill is caught too.
  for (int round = 0; round < 100; ++round) {
    absl::StatusOr<std::string> procs =
        fs_->Read(JoinCgroup(cg, kLeaf), "cgroup.procs");
    if (!procs.ok()) return procs.status();
    bool any = false;
    for (absl::string_view line : absl::StrSplit(*procs, '\n')) {
      int pid;
      if (absl::SimpleAtoi(line, &pid) && pid > 0) {
        any = true;
        ::kill(pid, SIGKILL);
      }
    }
    if (!any) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(1));
  }
  return absl::OkStatus();
}

absl::Status Cgroups2Isolator::RemoveTreeOnce(const std::string& cg) {
  absl::StatusOr<std::vector<std::string>> children = fs_->Children(cg);
  if (!children.ok()) {
    return absl::IsNotFound(children.status()) ? absl::OkStatus()
                                               : children.status();
  }
  for (const std::string& child : *children) {
    AGORA_RETURN_IF_ERROR(RemoveTreeOnce(JoinCgroup(cg, child)));
  }
  absl::Status st = fs_->Remove(cg);
  return absl::IsNotFound(st) ? absl::OkStatus() : st;
}

bool Cgroups2Isolator::IsBusy(const absl::Status& s) {
  return absl::IsFailedPrecondition(s) || absl::IsUnavailable(s) ||
         absl::IsResourceExhausted(s);
}

absl::Status Cgroups2Isolator::TryDestroy(const std::string& id) {
  const std::string cg = ContainerCgroup(id);
  // rmdir succeeds only on a cgroup without processes and children, so
  // when both succeed there was nothing to kill. NotFound: already gone.
  // Anything else (mostly EBUSY): kill, then remove the whole tree.
  absl::Status st = fs_->Remove(JoinCgroup(cg, kLeaf));
  if (st.ok() || absl::IsNotFound(st)) {
    st = fs_->Remove(cg);
    if (st.ok() || absl::IsNotFound(st)) return absl::OkStatus();
  }
  absl::Status kill = Kill(id);
  if (!kill.ok() && !absl::IsNotFound(kill)) return kill;
  return RemoveTreeOnce(cg);
}

absl::Status Cgroups2Isolator::Destroy(const std::string& id) {
  absl::Time deadline = absl::Now() + options_.destroy_timeout;
  absl::Duration backoff = absl::Microseconds(100);
  for (;;) {
    absl::Status st = TryDestroy(id);
    if (st.ok() || !IsBusy(st) || absl::Now() >= deadline) return st;
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(50));
  }
}

absl::StatusOr<std::vector<std::string>> Cgroups2Isolator::Containers() const {
  AGORA_ASSIGN_OR_RETURN(std::vector<std::string> children,
                         fs_->Children(options_.root));
  children.erase(std::remove(children.begin(), children.end(), kAgentCgroup),
                 children.end());
  std::sort(children.begin(), children.end());
  return children;
}

}  // namespace agora
