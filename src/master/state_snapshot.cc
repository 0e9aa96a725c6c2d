#include "master/state_snapshot.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/proto_json.h"
#include "common/resources_proto.h"
#include "glog/logging.h"
#include "master/state_json.h"

namespace agora {

size_t TaskBlob::Add(const mesos::v1::Task& task) {
  const size_t size = task.ByteSizeLong();
  const size_t offset = bytes_.size();
  bytes_.resize(offset + size);
  task.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(&bytes_[offset]));
  spans_.emplace_back(offset, size);
  return spans_.size() - 1;
}

mesos::v1::Task TaskBlob::Get(size_t i) const {
  mesos::v1::Task task;
  const auto& [offset, size] = spans_.at(i);
  CHECK(task.ParseFromArray(bytes_.data() + offset, static_cast<int>(size)));
  return task;
}

namespace {

// Sums over the snapshot's tasks and offers, computed while rendering.
struct Usage {
  std::map<AgentId, Resources> used_on;
  std::map<AgentId, Resources> offered_on;
  std::map<FrameworkId, Resources> used_by;
  std::map<FrameworkId, Resources> offered_to;
  std::map<std::string, Resources> allocated_to_role;
  std::map<std::string, Resources> offered_to_role;
};

Resources TaskResources(const mesos::v1::Task& task) {
  absl::StatusOr<Resources> resources = FromProto(task.resources());
  return resources.ok() ? *std::move(resources) : Resources();
}

// The allocation role of `task` ("" when its resources carry none).
std::string TaskRole(const mesos::v1::Task& task) {
  if (task.resources().empty() || !task.resources(0).has_allocation_info()) {
    return "";
  }
  return task.resources(0).allocation_info().role();
}

void CountActiveTask(const mesos::v1::Task& task, const FrameworkId& framework,
                     Usage* usage) {
  if (IsTerminalState(task.state()) ||
      task.state() == mesos::v1::TASK_UNREACHABLE) {
    return;
  }
  Resources resources = TaskResources(task);
  usage->used_on[AgentId(task.agent_id().value())] += resources;
  usage->used_by[framework] += resources;
  usage->allocated_to_role[TaskRole(task)] += resources;
}

void CountFramework(const StateSnapshot& state,
                    const FrameworkSnapshot& framework, Usage* usage) {
  for (size_t i = framework.tasks.begin; i < framework.tasks.end; ++i) {
    CountActiveTask(state.tasks.Get(i), framework.id, usage);
  }
  for (const ExecutorSnapshot& e : framework.executors) {
    usage->used_on[e.agent] += e.executor.resources;
    usage->used_by[framework.id] += e.executor.resources;
  }
  for (const OutstandingOffer& offer : framework.offers) {
    usage->offered_on[offer.agent] += offer.resources;
    usage->offered_to[framework.id] += offer.resources;
    usage->offered_to_role[offer.role] += offer.resources;
  }
}

Usage CountUsage(const StateSnapshot& state) {
  Usage usage;
  for (const FrameworkSnapshot& framework : state.frameworks) {
    CountFramework(state, framework, &usage);
  }
  return usage;
}

Resources Lookup(const std::map<AgentId, Resources>& m, const AgentId& id) {
  auto it = m.find(id);
  return it == m.end() ? Resources() : it->second;
}

Resources Lookup(const std::map<FrameworkId, Resources>& m,
                 const FrameworkId& id) {
  auto it = m.find(id);
  return it == m.end() ? Resources() : it->second;
}

nlohmann::json TasksJson(const StateSnapshot& state, TaskRange range) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = range.begin; i < range.end; ++i) {
    out.push_back(TaskJson(state.tasks.Get(i)));
  }
  return out;
}

nlohmann::json ExecutorJson(const ExecutorSnapshot& e) {
  const mesos::v1::ExecutorInfo& info = e.executor.info;
  nlohmann::json out = {{"executor_id", info.executor_id().value()},
                        {"name", info.name()},
                        {"framework_id", info.framework_id().value()},
                        {"resources", ResourcesJson(e.executor.resources)},
                        {"slave_id", e.agent.value()}};
  if (info.has_command()) out["command"] = {{"value", info.command().value()}};
  return out;
}

std::string AgentPid(const AgentSnapshot& agent) {
  return absl::StrCat("slave(1)@",
                      agent.ip.empty() ? agent.info.hostname() : agent.ip, ":",
                      agent.info.port());
}

nlohmann::json AgentJson(const AgentSnapshot& agent, const Usage& usage) {
  nlohmann::json out = {
      {"id", agent.id.value()},
      {"pid", AgentPid(agent)},
      {"hostname", agent.info.hostname()},
      {"port", agent.info.port()},
      {"resources", ResourcesJson(agent.total)},
      {"used_resources", ResourcesJson(Lookup(usage.used_on, agent.id))},
      {"offered_resources", ResourcesJson(Lookup(usage.offered_on, agent.id))},
      {"reserved_resources", nlohmann::json::object()},
      {"unreserved_resources", ResourcesJson(agent.total.Unreserved())},
      {"attributes", AttributesJson(agent.info.attributes())},
      {"active", agent.active},
      {"deactivated", false},
      {"connected", agent.connected},
      {"registered_time", JsonTime(agent.registered_time)},
      {"version", agent.version},
      {"capabilities", nlohmann::json::array()},
  };
  AddReservationsJson(agent.total, &out);
  if (agent.reregistered_time != absl::Time()) {
    out["reregistered_time"] = JsonTime(agent.reregistered_time);
  }
  return out;
}

nlohmann::json RecoveredAgentJson(const mesos::v1::AgentInfo& info) {
  absl::StatusOr<Resources> resources = FromProto(info.resources());
  return {
      {"id", info.id().value()},
      {"hostname", info.hostname()},
      {"port", info.port()},
      {"resources", ResourcesJson(resources.ok() ? *resources : Resources())},
      {"attributes", AttributesJson(info.attributes())}};
}

nlohmann::json FrameworkJson(const StateSnapshot& state,
                             const FrameworkSnapshot& framework,
                             const Usage& usage) {
  const mesos::v1::FrameworkInfo& info = framework.info;
  nlohmann::json offers = nlohmann::json::array();
  for (const OutstandingOffer& offer : framework.offers) {
    offers.push_back(OfferJson(offer));
  }
  nlohmann::json executors = nlohmann::json::array();
  for (const ExecutorSnapshot& e : framework.executors) {
    executors.push_back(ExecutorJson(e));
  }
  nlohmann::json capabilities = nlohmann::json::array();
  for (const auto& c : info.capabilities()) {
    capabilities.push_back(
        mesos::v1::FrameworkInfo::Capability::Type_Name(c.type()));
  }
  Resources used = Lookup(usage.used_by, framework.id);
  Resources offered = Lookup(usage.offered_to, framework.id);
  nlohmann::json out = {
      {"id", framework.id.value()},
      {"name", info.name()},
      {"user", info.user()},
      {"roles", framework.roles},
      {"principal", info.principal()},
      {"hostname", info.hostname()},
      {"webui_url", info.webui_url()},
      {"failover_timeout", info.failover_timeout()},
      {"checkpoint", info.checkpoint()},
      {"capabilities", std::move(capabilities)},
      {"active", framework.connected},
      {"connected", framework.connected},
      {"recovered", framework.recovered},
      {"registered_time", JsonTime(framework.registered_time)},
      {"unregistered_time",
       framework.connected ? 0.0 : JsonTime(framework.unregistered_time)},
      {"resources", ResourcesJson(used + offered)},
      {"used_resources", ResourcesJson(used)},
      {"offered_resources", ResourcesJson(offered)},
      {"tasks", TasksJson(state, framework.tasks)},
      {"unreachable_tasks", TasksJson(state, framework.unreachable_tasks)},
      {"completed_tasks", TasksJson(state, framework.completed_tasks)},
      {"offers", std::move(offers)},
      {"executors", std::move(executors)},
  };
  if (framework.roles.size() == 1) out["role"] = *framework.roles.begin();
  if (framework.reregistered_time != absl::Time()) {
    out["reregistered_time"] = JsonTime(framework.reregistered_time);
  }
  return out;
}

nlohmann::json FrameworkListsJson(const StateSnapshot& state,
                                  const Usage& usage,
                                  const std::optional<std::string>& only,
                                  nlohmann::json* out) {
  nlohmann::json frameworks = nlohmann::json::array();
  for (const FrameworkSnapshot& framework : state.frameworks) {
    if (only.has_value() && framework.id.value() != *only) continue;
    frameworks.push_back(FrameworkJson(state, framework, usage));
  }
  nlohmann::json completed = nlohmann::json::array();
  for (const FrameworkSnapshot& framework : state.completed_frameworks) {
    if (only.has_value() && framework.id.value() != *only) continue;
    completed.push_back(FrameworkJson(state, framework, Usage()));
  }
  (*out)["frameworks"] = std::move(frameworks);
  (*out)["completed_frameworks"] = std::move(completed);
  (*out)["unregistered_frameworks"] = nlohmann::json::array();
  return *out;
}

nlohmann::json UnreachableAgentsJson(const StateSnapshot& state) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [id, time] : state.unreachable_agents) {
    out.push_back({{"id", id}, {"timestamp", JsonTime(time)}});
  }
  return out;
}

}  // namespace

nlohmann::json RenderState(const StateSnapshot& state) {
  Usage usage = CountUsage(state);
  int active = 0;
  nlohmann::json agents = nlohmann::json::array();
  for (const AgentSnapshot& agent : state.agents) {
    active += agent.active ? 1 : 0;
    agents.push_back(AgentJson(agent, usage));
  }
  nlohmann::json recovered = nlohmann::json::array();
  for (const auto& info : state.recovered_agents) {
    recovered.push_back(RecoveredAgentJson(info));
  }
  nlohmann::json out = {
      {"version", state.version},
      {"id", state.id},
      {"pid", state.pid},
      {"hostname", state.hostname},
      {"leader", state.pid},
      {"leader_info", nlohmann::json::parse(ProtoToJson(state.info))},
      {"start_time", JsonTime(state.start_time)},
      {"elected_time", JsonTime(state.elected_time)},
      {"activated_slaves", active},
      {"deactivated_slaves", static_cast<int>(state.agents.size()) - active},
      {"unreachable_slaves", static_cast<int>(state.unreachable_agents.size())},
      {"slaves", std::move(agents)},
      {"recovered_slaves", std::move(recovered)},
      {"orphan_tasks", nlohmann::json::array()},
  };
  FrameworkListsJson(state, usage, std::nullopt, &out);
  return out;
}

nlohmann::json RenderFrameworks(
    const StateSnapshot& state,
    const std::optional<std::string>& framework_id) {
  nlohmann::json out = nlohmann::json::object();
  FrameworkListsJson(state, CountUsage(state), framework_id, &out);
  return out;
}

nlohmann::json RenderAgents(const StateSnapshot& state,
                            const std::optional<std::string>& agent_id) {
  Usage usage = CountUsage(state);
  nlohmann::json agents = nlohmann::json::array();
  for (const AgentSnapshot& agent : state.agents) {
    if (agent_id.has_value() && agent.id.value() != *agent_id) continue;
    agents.push_back(AgentJson(agent, usage));
  }
  nlohmann::json recovered = nlohmann::json::array();
  for (const auto& info : state.recovered_agents) {
    if (agent_id.has_value() && info.id().value() != *agent_id) continue;
    recovered.push_back(RecoveredAgentJson(info));
  }
  // "unreachable_slaves" is Agora's addition: Mesos lists them nowhere.
  return {{"slaves", std::move(agents)},
          {"recovered_slaves", std::move(recovered)},
          {"unreachable_slaves", UnreachableAgentsJson(state)}};
}

nlohmann::json RenderTasks(const StateSnapshot& state, const TaskQuery& query) {
  std::vector<mesos::v1::Task> tasks;
  auto collect = [&](const FrameworkSnapshot& framework) {
    if (query.framework_id.has_value() &&
        framework.id.value() != *query.framework_id) {
      return;
    }
    for (TaskRange range : {framework.tasks, framework.unreachable_tasks,
                            framework.completed_tasks}) {
      for (size_t i = range.begin; i < range.end; ++i) {
        mesos::v1::Task task = state.tasks.Get(i);
        if (query.task_id.has_value() &&
            task.task_id().value() != *query.task_id) {
          continue;
        }
        tasks.push_back(std::move(task));
      }
    }
  };
  for (const FrameworkSnapshot& f : state.frameworks) collect(f);
  for (const FrameworkSnapshot& f : state.completed_frameworks) collect(f);
  // Mesos's order: by the first status's timestamp, descending unless
  // order=asc; tasks without statuses last (first when ascending).
  auto earlier = [](const mesos::v1::Task& a, const mesos::v1::Task& b) {
    if (a.statuses().empty() || b.statuses().empty()) {
      return a.statuses().empty() && !b.statuses().empty();
    }
    return a.statuses(0).timestamp() < b.statuses(0).timestamp();
  };
  if (query.ascending) {
    std::stable_sort(tasks.begin(), tasks.end(), earlier);
  } else {
    std::stable_sort(tasks.begin(), tasks.end(),
                     [&](const auto& a, const auto& b) {
                       if (b.statuses().empty() || a.statuses().empty()) {
                         return b.statuses().empty() && !a.statuses().empty();
                       }
                       return earlier(b, a);
                     });
  }
  nlohmann::json out = nlohmann::json::array();
  size_t end = std::min(query.offset + query.limit, tasks.size());
  for (size_t i = query.offset; i < end; ++i) out.push_back(TaskJson(tasks[i]));
  return {{"tasks", std::move(out)}};
}

nlohmann::json RenderRoles(const StateSnapshot& state) {
  Usage usage = CountUsage(state);
  std::map<std::string, std::vector<std::string>> roles;
  for (const FrameworkSnapshot& framework : state.frameworks) {
    for (const std::string& role : framework.roles) {
      roles[role].push_back(framework.id.value());
    }
  }
  for (const auto& [role, resources] : usage.allocated_to_role) {
    if (!role.empty()) roles[role];
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [role, frameworks] : roles) {
    auto get = [&](const std::map<std::string, Resources>& m) {
      auto it = m.find(role);
      return it == m.end() ? Resources() : it->second;
    };
    Resources allocated = get(usage.allocated_to_role);
    Resources offered = get(usage.offered_to_role);
    Resources reserved;
    for (const AgentSnapshot& agent : state.agents) {
      reserved += agent.total.ReservedTo(role);
    }
    out.push_back({{"name", role},
                   {"weight", 1.0},
                   {"quota",
                    {{"role", role},
                     {"guarantee", nlohmann::json::object()},
                     {"limit", nlohmann::json::object()},
                     {"consumed", ResourcesJson(allocated)}}},
                   {"resources", ResourcesJson(allocated + offered)},
                   {"allocated", ResourcesJson(allocated)},
                   {"offered", ResourcesJson(offered)},
                   {"reserved", ResourcesJson(reserved)},
                   {"frameworks", frameworks}});
  }
  return {{"roles", std::move(out)}};
}

}  // namespace agora
