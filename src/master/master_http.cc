// Master: the /state model. Built on the loop; kept to one pass over the
// registries.
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "master/master.h"
#include "master/state_json.h"

namespace agora {

nlohmann::json Master::StateJson() {
  DCHECK(loop_->IsLoopThread());
  int active = 0;
  nlohmann::json agents = nlohmann::json::array();
  for (const auto& [id, agent] : agents_.all()) {
    active += agent->active ? 1 : 0;
    agents.push_back(AgentJson(*agent));
  }
  nlohmann::json frameworks = nlohmann::json::array();
  for (const auto& [id, framework] : frameworks_.all()) {
    frameworks.push_back(FrameworkJson(*framework));
  }
  nlohmann::json completed = CompletedFrameworksJson();
  return {{"version", info_.version()},
          {"id", master_id_},
          {"pid", info_.pid()},
          {"hostname", info_.hostname()},
          {"leader", info_.pid()},
          {"start_time", JsonTime(start_time_)},
          {"elected_time", JsonTime(start_time_)},
          {"activated_slaves", active},
          {"deactivated_slaves", static_cast<int>(agents.size()) - active},
          {"unreachable_slaves", 0},
          {"slaves", std::move(agents)},
          {"frameworks", std::move(frameworks)},
          {"completed_frameworks", std::move(completed)},
          {"orphan_tasks", nlohmann::json::array()},
          {"unregistered_frameworks", nlohmann::json::array()}};
}

nlohmann::json Master::FrameworksJson() {
  DCHECK(loop_->IsLoopThread());
  nlohmann::json frameworks = nlohmann::json::array();
  for (const auto& [id, framework] : frameworks_.all()) {
    frameworks.push_back(FrameworkJson(*framework));
  }
  return {{"frameworks", std::move(frameworks)},
          {"completed_frameworks", CompletedFrameworksJson()},
          {"unregistered_frameworks", nlohmann::json::array()}};
}

nlohmann::json Master::CompletedFrameworksJson() const {
  nlohmann::json completed = nlohmann::json::array();
  for (const CompletedFramework& done : frameworks_.completed()) {
    nlohmann::json tasks = nlohmann::json::array();
    for (const mesos::v1::Task& task : done.tasks) {
      tasks.push_back(TaskJson(task));
    }
    absl::StatusOr<std::set<std::string>> roles = FrameworkRoles(done.info);
    completed.push_back(
        {{"id", done.info.id().value()},
         {"name", done.info.name()},
         {"user", done.info.user()},
         {"roles", roles.ok() ? *roles : std::set<std::string>()},
         {"failover_timeout", done.info.failover_timeout()},
         {"active", false},
         {"connected", false},
         {"registered_time", JsonTime(done.registered_time)},
         {"unregistered_time", JsonTime(done.unregistered_time)},
         {"tasks", nlohmann::json::array()},
         {"completed_tasks", std::move(tasks)},
         {"offers", nlohmann::json::array()}});
  }
  return completed;
}

nlohmann::json Master::AgentJson(const Agent& agent) {
  nlohmann::json out = {
      {"id", agent.id.value()},
      {"pid", absl::StrCat("slave(1)@",
                           agent.ip.empty() ? agent.info.hostname() : agent.ip,
                           ":", agent.info.port())},
      {"hostname", agent.info.hostname()},
      {"port", agent.info.port()},
      {"resources", ResourcesJson(agent.total)},
      {"used_resources", ResourcesJson(tasks_.UsedOn(agent.id))},
      {"offered_resources", ResourcesJson(offers_.OfferedOn(agent.id))},
      {"unreserved_resources", ResourcesJson(agent.total.Unreserved())},
      {"attributes", AttributesJson(agent.info.attributes())},
      {"active", agent.active},
      {"connected", agent.connected()},
      {"registered_time", JsonTime(agent.registered_time)},
      {"version", agent.version},
  };
  AddReservationsJson(agent.total, &out);
  if (agent.reregistered_time != absl::Time()) {
    out["reregistered_time"] = JsonTime(agent.reregistered_time);
  }
  return out;
}

nlohmann::json Master::FrameworkJson(Framework& framework) {
  const mesos::v1::FrameworkInfo& info = framework.info;
  nlohmann::json tasks = nlohmann::json::array();
  for (TrackedTask* task : tasks_.TasksOf(framework.id)) {
    tasks.push_back(TaskJson(task->task));
  }
  nlohmann::json completed = nlohmann::json::array();
  for (const mesos::v1::Task& task : tasks_.CompletedOf(framework.id)) {
    completed.push_back(TaskJson(task));
  }
  nlohmann::json offers = nlohmann::json::array();
  for (const std::string& id : offers_.OffersOf(framework.id)) {
    offers.push_back(OfferJson(*offers_.Find(id)));
  }
  nlohmann::json capabilities = nlohmann::json::array();
  for (const auto& c : info.capabilities()) {
    capabilities.push_back(
        mesos::v1::FrameworkInfo::Capability::Type_Name(c.type()));
  }
  Resources used = tasks_.UsedBy(framework.id);
  Resources offered = offers_.OfferedTo(framework.id);
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
      {"active", framework.connected()},
      {"connected", framework.connected()},
      {"recovered", framework.recovered},
      {"registered_time", JsonTime(framework.registered_time)},
      {"resources", ResourcesJson(used + offered)},
      {"used_resources", ResourcesJson(used)},
      {"offered_resources", ResourcesJson(offered)},
      {"tasks", std::move(tasks)},
      {"unreachable_tasks", nlohmann::json::array()},
      {"completed_tasks", std::move(completed)},
      {"offers", std::move(offers)},
  };
  if (framework.roles.size() == 1) out["role"] = *framework.roles.begin();
  if (framework.reregistered_time != absl::Time()) {
    out["reregistered_time"] = JsonTime(framework.reregistered_time);
  }
  if (!framework.connected() && framework.unregistered_time != absl::Time()) {
    out["unregistered_time"] = JsonTime(framework.unregistered_time);
  }
  return out;
}

}  // namespace agora
