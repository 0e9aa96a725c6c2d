// Agent, HTTP side: /health, /state (Mesos's agent /state shape), /flags,
// /monitor/statistics, /metrics/snapshot (Mesos's slave/* names) and the
// operator API's POST /api/v1. Handlers take what they need on the loop
// through RunOnLoop (503 when it does not respond); /state and
// /monitor/statistics render, and read cgroups and /proc, on the HTTP
// thread.
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/agent.h"
#include "agent/agent_resources.h"
#include "agent/container_usage.h"
#include "common/json_dump.h"
#include "common/proto_http.h"
#include "common/proto_json.h"
#include "common/resources_proto.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace agora {
namespace {

using json = nlohmann::json;
using State = ExecutorRecord::State;

json ResourcesJson(const ProtoResources& proto) {
  json j = {{"cpus", 0.0}, {"gpus", 0.0}, {"mem", 0.0}, {"disk", 0.0}};
  absl::StatusOr<Resources> resources = FromProto(proto);
  if (!resources.ok()) return j;
  for (const std::string& name : resources->ScalarNames()) {
    j[name] = resources->GetScalar(name).ToDouble();
  }
  std::map<std::string, Ranges> ranges;
  for (const Resource& r : resources->items()) {
    if (r.kind == Resource::Kind::kRanges) ranges[r.name].Add(r.ranges);
    if (r.kind == Resource::Kind::kSet) {
      j[r.name] = absl::StrCat("{", absl::StrJoin(r.set, ","), "}");
    }
  }
  for (const auto& [name, value] : ranges) j[name] = value.ToString();
  return j;
}

json StatusesJson(const mesos::v1::Task& task) {
  json statuses = json::array();
  for (const auto& s : task.statuses()) {
    statuses.push_back({{"state", mesos::v1::TaskState_Name(s.state())},
                        {"timestamp", s.timestamp()}});
  }
  return statuses;
}

json TaskJson(const mesos::v1::Task& t) {
  return {{"id", t.task_id().value()},
          {"name", t.name()},
          {"framework_id", t.framework_id().value()},
          {"executor_id", t.executor_id().value()},
          {"slave_id", t.agent_id().value()},
          {"state", mesos::v1::TaskState_Name(t.state())},
          {"resources", ResourcesJson(t.resources())},
          {"statuses", StatusesJson(t)}};
}

json ExecutorJson(const ExecutorRecord& e) {
  json tasks = json::array(), queued = json::array(), completed = json::array();
  ProtoResources used = e.info.resources();
  for (const auto& [id, task] : e.tasks) {
    if (e.queued.count(id)) {
      queued.push_back(TaskJson(task));
    } else if (IsTerminalState(task.state())) {
      completed.push_back(TaskJson(task));
    } else {
      tasks.push_back(TaskJson(task));
      used.MergeFrom(task.resources());
    }
  }
  for (const auto& task : e.completed_tasks)
    completed.push_back(TaskJson(task));
  return {{"id", e.info.executor_id().value()},
          {"name", e.info.name()},
          {"source", e.command_executor ? e.info.executor_id().value() : ""},
          {"framework_id", e.info.framework_id().value()},
          {"container", e.container_id},
          {"directory", e.directory},
          {"resources", ResourcesJson(used)},
          {"tasks", tasks},
          {"queued_tasks", queued},
          {"completed_tasks", completed}};
}

json FrameworkJson(const FrameworkRecord& f) {
  json executors = json::array(), completed = json::array();
  for (const auto& [id, e] : f.executors) executors.push_back(ExecutorJson(e));
  for (const auto& e : f.completed_executors)
    completed.push_back(ExecutorJson(e));
  json roles = json::array();
  for (const auto& r : f.info.roles()) roles.push_back(r);
  return {{"id", f.info.id().value()},
          {"name", f.info.name()},
          {"user", f.info.user()},
          {"hostname", f.info.hostname()},
          {"failover_timeout", f.info.failover_timeout()},
          {"checkpoint", f.info.checkpoint()},
          {"role", f.info.role()},
          {"roles", roles},
          {"executors", executors},
          {"completed_executors", completed}};
}

json AttributesJson(const mesos::v1::AgentInfo& info) {
  json j = json::object();
  for (const auto& a : info.attributes()) {
    if (a.type() == mesos::v1::Value::SCALAR) {
      j[a.name()] = a.scalar().value();
    } else {
      j[a.name()] = AttributeValueString(a);
    }
  }
  return j;
}

// Mesos's ResourceStatistics for one container in JSON (container_usage.h),
// with the cgroup figures it has no field for: mem_oom_events,
// mem_oom_kill_events, pids_current, pids_max.
json ContainerStatisticsJson(const UsageSource& e,
                             const Cgroups2Isolator* isolator) {
  ContainerUsageExtras extras;
  json s = json::parse(ProtoToJson(ContainerStatistics(e, isolator, &extras)));
  auto put = [&s](const char* key, const std::optional<uint64_t>& v) {
    if (v) s[key] = *v;
  };
  put("mem_oom_events", extras.mem_oom_events);
  put("mem_oom_kill_events", extras.mem_oom_kill_events);
  put("pids_current", extras.pids_current);
  put("pids_max", extras.pids_max);
  return s;
}

HttpResponse JsonOr503(std::optional<std::string> body) {
  if (!body) return {503, "text/plain", "agent loop did not respond"};
  return {200, "application/json", std::move(*body)};
}

}  // namespace

absl::Status Agent::StartHttp() {
  http_.Get("/health", [](const httplib::Request&) {
    return HttpResponse{200, "text/plain", ""};
  });
  // Copied on the loop, rendered (and, for the statistics, read from the
  // cgroups and /proc) here on the HTTP thread: the loop never waits on a
  // file or on JSON.
  auto state = [this](const httplib::Request&) {
    std::optional<std::shared_ptr<const StateCopy>> copy =
        RunOnLoop<std::shared_ptr<const StateCopy>>(
            &loop_, [this] { return TakeStateCopy(); });
    if (!copy) return JsonOr503(std::nullopt);
    return JsonOr503(RenderState(**copy));
  };
  http_.Get("/state", state);
  http_.Get("/state.json", state);
  http_.Get("/metrics/snapshot", [this](const httplib::Request&) {
    return JsonOr503(
        RunOnLoop<std::string>(&loop_, [this] { return MetricsJson(); }));
  });
  auto statistics = [this](const httplib::Request&) {
    std::optional<std::vector<ContainerCopy>> copies =
        RunOnLoop<std::vector<ContainerCopy>>(
            &loop_, [this] { return TakeContainerCopies(); });
    if (!copies) return JsonOr503(std::nullopt);
    return JsonOr503(RenderStatistics(*copies));
  };
  http_.Get("/monitor/statistics", statistics);
  http_.Get("/monitor/statistics.json", statistics);
  http_.Get("/flags", [this](const httplib::Request&) {
    json flags = json::object();
    for (const auto& [name, value] : options_.flags) flags[name] = value;
    return HttpResponse{200, "application/json",
                        DumpJson(json{{"flags", flags}})};
  });
  AddOperatorApiRoutes();
  absl::StatusOr<int> port = http_.Start(options_.ip, options_.http_port);
  if (!port.ok()) return port.status();
  http_port_ = *port;
  return absl::OkStatus();
}

// POST /api/v1: the operator API (proto_http.h), dispatched on the loop.
void Agent::AddOperatorApiRoutes() {
  using mesos::v1::agent::Call;
  using mesos::v1::agent::Response;
  http_.Post("/api/v1", [this](const httplib::Request& req) {
    return ServeProtoApi<Call, Response>(
        ProtoHttpRequestOf(req), [this](const Call& call) {
          return RunOnLoop<absl::StatusOr<Response>>(
              &loop_, [this, call] { return operator_api_.Handle(call); });
        });
  });
  http_.Get("/api/v1", [](const httplib::Request&) {
    return HttpResponse{405, "text/plain", "expecting 'POST' for /api/v1"};
  });
}

struct Agent::ContainerCopy {
  std::string executor_id;
  std::string executor_name;
  std::string framework_id;
  bool command_executor = false;
  UsageSource source;
};

std::vector<Agent::ContainerCopy> Agent::TakeContainerCopies() const {
  std::vector<ContainerCopy> out;
  for (const auto& [fid, f] : containers_.frameworks()) {
    for (const auto& [eid, e] : f.executors) {
      std::optional<UsageSource> source =
          containers_.containerizer().UsageSourceOf(e.container_id);
      if (e.pid == 0 || !source) continue;
      out.push_back(
          ContainerCopy{eid, e.info.name(), fid, e.command_executor, *source});
    }
  }
  return out;
}

std::string Agent::RenderStatistics(
    const std::vector<ContainerCopy>& copies) const {
  json out = json::array();
  for (const ContainerCopy& c : copies) {
    out.push_back(
        {{"executor_id", c.executor_id},
         {"executor_name", c.executor_name},
         {"framework_id", c.framework_id},
         {"source", c.command_executor ? c.executor_id : ""},
         {"container_id", c.source.container_id},
         {"statistics", ContainerStatisticsJson(c.source, isolator_.get())}});
  }
  return DumpJson(out);
}

struct Agent::StateCopy {
  std::map<std::string, FrameworkRecord> frameworks;
  std::deque<FrameworkRecord> completed;
  mesos::v1::AgentInfo info;
  std::string master_hostname;
  bool registered = false;
  Resources total;
  int grpc_port = 0;
};

std::shared_ptr<const Agent::StateCopy> Agent::TakeStateCopy() const {
  auto copy = std::make_shared<StateCopy>();
  copy->frameworks = containers_.frameworks();
  copy->completed = containers_.completed_frameworks();
  copy->info = info_;
  copy->master_hostname = master_info_ ? master_info_->hostname() : "";
  copy->registered = registered_;
  copy->total = total_;
  copy->grpc_port = grpc_port_;
  return copy;
}

std::string Agent::RenderState(const StateCopy& s) const {
  json frameworks = json::array(), completed = json::array();
  for (const auto& [id, f] : s.frameworks) {
    frameworks.push_back(FrameworkJson(f));
  }
  for (const auto& f : s.completed) completed.push_back(FrameworkJson(f));
  json flags = json::object();
  for (const auto& [name, value] : options_.flags) flags[name] = value;
  json j = {
      {"version", "0.1.0"},
      {"start_time", absl::ToDoubleSeconds(start_time_ - absl::UnixEpoch())},
      {"id", s.info.id().value()},
      {"pid", absl::StrCat("slave(1)@", options_.ip, ":", s.grpc_port)},
      {"hostname", s.info.hostname()},
      {"port", s.grpc_port},
      {"resources", ResourcesJson(s.info.resources())},
      {"attributes", AttributesJson(s.info)},
      {"master_hostname", s.master_hostname},
      {"registered", s.registered},
      {"flags", flags},
      {"isolation", IsolationSummary()},
      {"frameworks", frameworks},
      {"completed_frameworks", completed}};
  // Reservations as Mesos's agent reports them, from the total with the
  // checkpointed dynamic reservations.
  std::map<std::string, Resources> reserved;
  for (const Resource& r : s.total.items()) {
    if (!r.IsUnreserved()) reserved[r.ReservationRole()] += r;
  }
  json reserved_json = json::object();
  for (const auto& [role, resources] : reserved) {
    reserved_json[role] = ResourcesJson(ToProto(resources));
  }
  j["reserved_resources"] = std::move(reserved_json);
  j["unreserved_resources"] = ResourcesJson(ToProto(s.total.Unreserved()));
  return DumpJson(j);
}

void Agent::RegisterMetrics() {
  for (const char* name :
       {"slave/tasks_finished", "slave/tasks_failed", "slave/tasks_killed",
        "slave/tasks_lost", "slave/tasks_error", "slave/tasks_dropped",
        "slave/tasks_gone", "slave/tasks_gone_by_operator",
        "slave/executors_terminated", "slave/valid_status_updates",
        "slave/invalid_status_updates", "slave/valid_framework_messages",
        "slave/invalid_framework_messages", "slave/container_launch_errors",
        "slave/recovery_errors", "containerizer/mesos/container_destroy_errors",
        "containerizer/mesos/container_limitations_memory"}) {
    metrics_.Increment(name, 0);
  }
  metrics_.AddGauge("slave/registered",
                    [this] { return registered_ ? 1.0 : 0.0; });
  metrics_.AddGauge("slave/uptime_secs", [this] {
    return absl::ToDoubleSeconds(absl::Now() - start_time_);
  });
  metrics_.AddGauge("slave/frameworks_active", [this] {
    return static_cast<double>(containers_.frameworks().size());
  });
  RegisterStateGauges();
  RegisterResourceGauges();
  // Sums over the live containers of the figures /monitor/statistics shows
  // per container.
  // One snapshot reads every container's files once: the sums are cached
  // for 100 ms, which one /metrics/snapshot request stays within.
  auto sum = [this](const char* key) {
    absl::Time now = absl::Now();
    if (now - usage_sums_time_ > absl::Milliseconds(100)) {
      usage_sums_.clear();
      for (const auto& [fid, f] : containers_.frameworks()) {
        for (const auto& [eid, e] : f.executors) {
          std::optional<UsageSource> source =
              containers_.containerizer().UsageSourceOf(e.container_id);
          if (e.pid == 0 || !source) continue;
          json s = ContainerStatisticsJson(*source, isolator_.get());
          for (const auto& [k, v] : s.items()) {
            if (v.is_number()) usage_sums_[k] += v.get<double>();
          }
        }
      }
      usage_sums_time_ = now;
    }
    auto it = usage_sums_.find(key);
    return it == usage_sums_.end() ? 0.0 : it->second;
  };
  metrics_.AddGauge("containerizer/mesos/containers_running", [this] {
    return static_cast<double>(containers_.LiveExecutorCount());
  });
  for (const char* key :
       {"cpus_user_time_secs", "cpus_system_time_secs", "cpus_nr_periods",
        "cpus_nr_throttled", "cpus_throttled_time_secs", "mem_total_bytes",
        "mem_anon_bytes", "mem_file_bytes", "mem_oom_kill_events",
        "pids_current", "processes"}) {
    metrics_.AddGauge(absl::StrCat("containerizer/mesos/", key),
                      [sum, key] { return sum(key); });
  }
}

void Agent::RegisterStateGauges() {
  auto count_tasks = [this](mesos::v1::TaskState state) {
    double n = 0;
    for (const auto& [fid, f] : containers_.frameworks()) {
      for (const auto& [eid, e] : f.executors) {
        for (const auto& [tid, t] : e.tasks) n += t.state() == state ? 1 : 0;
      }
    }
    return n;
  };
  for (auto state : {mesos::v1::TASK_STAGING, mesos::v1::TASK_STARTING,
                     mesos::v1::TASK_RUNNING, mesos::v1::TASK_KILLING}) {
    std::string name = mesos::v1::TaskState_Name(state).substr(5);
    for (char& c : name) c = static_cast<char>(tolower(c));
    metrics_.AddGauge("slave/tasks_" + name,
                      [count_tasks, state] { return count_tasks(state); });
  }
  auto count_executors = [this](State state) {
    double n = 0;
    for (const auto& [fid, f] : containers_.frameworks()) {
      for (const auto& [eid, e] : f.executors) n += e.state == state ? 1 : 0;
    }
    return n;
  };
  metrics_.AddGauge("slave/executors_registering",
                    [=] { return count_executors(State::kRegistering); });
  metrics_.AddGauge("slave/executors_running",
                    [=] { return count_executors(State::kRunning); });
  metrics_.AddGauge("slave/executors_terminating",
                    [=] { return count_executors(State::kTerminating); });
}

void Agent::RegisterResourceGauges() {
  // Live executors' own resources (the command executor's overhead
  // included) plus those of their unfinished tasks.
  auto used = [this](const std::string& name) {
    ProtoResources all;
    for (const auto& [fid, f] : containers_.frameworks()) {
      for (const auto& [eid, e] : f.executors) {
        if (e.state == State::kTerminated) continue;
        all.MergeFrom(e.info.resources());
        for (const auto& [tid, t] : e.tasks) {
          if (!IsTerminalState(t.state())) all.MergeFrom(t.resources());
        }
      }
    }
    absl::StatusOr<Resources> r = FromProto(all);
    return r.ok() ? r->GetScalar(name).ToDouble() : 0.0;
  };
  for (std::string name : {"cpus", "gpus", "mem", "disk"}) {
    double total = options_.resources.GetScalar(name).ToDouble();
    metrics_.AddGauge("slave/" + name + "_total", [total] { return total; });
    metrics_.AddGauge("slave/" + name + "_used",
                      [used, name] { return used(name); });
    metrics_.AddGauge("slave/" + name + "_percent", [used, name, total] {
      return total > 0 ? used(name) / total : 0.0;
    });
  }
}

std::string Agent::MetricsJson() const {
  json j = json::object();
  for (const auto& [name, value] : metrics_.Snapshot()) j[name] = value;
  return DumpJson(j);
}

}  // namespace agora
