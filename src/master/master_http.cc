// Master: the snapshot behind the read-only HTTP endpoints. The loop only
// copies (state_snapshot.h); rendering happens on the HTTP thread.
#include <map>
#include <memory>

#include "glog/logging.h"
#include "master/master.h"
#include "master/state_snapshot.h"

namespace agora {
namespace {

void AddTasks(const std::vector<TrackedTask*>& tasks, TaskBlob* blob,
              TaskRange* range) {
  range->begin = blob->size();
  for (const TrackedTask* task : tasks) blob->Add(task->task);
  range->end = blob->size();
}

}  // namespace

std::shared_ptr<const StateSnapshot> Master::Snapshot() {
  DCHECK(loop_->IsLoopThread());
  auto state = std::make_shared<StateSnapshot>();
  state->version = info_.version();
  state->id = master_id_;
  state->pid = info_.pid();
  state->hostname = info_.hostname();
  state->info = info_;
  state->start_time = start_time_;
  state->elected_time = elected_time_.value_or(start_time_);
  state->taken_at = loop_->Now();
  state->agents.reserve(agents_.all().size());
  for (const auto& [id, agent] : agents_.all()) {
    state->agents.push_back(AgentSnapshot{
        id, agent->info, agent->total, agent->ip, agent->version, agent->active,
        agent->connected(), agent->registered_time, agent->reregistered_time});
  }
  for (const auto& [id, info] : registrar_.agents()) {
    if (agents_.Find(AgentId(id)) == nullptr) {
      state->recovered_agents.push_back(info);
    }
  }
  state->unreachable_agents.assign(registrar_.unreachable().begin(),
                                   registrar_.unreachable().end());
  state->gone_agents.assign(registrar_.gone().begin(), registrar_.gone().end());
  for (const auto& [id, framework] : frameworks_.all()) {
    FrameworkSnapshot& out = state->frameworks.emplace_back();
    out.id = id;
    out.info = framework->info;
    out.roles = framework->roles;
    out.connected = framework->connected();
    out.recovered = framework->recovered;
    out.registered_time = framework->registered_time;
    out.reregistered_time = framework->reregistered_time;
    out.unregistered_time = framework->unregistered_time;
    for (const std::string& offer : offers_.OffersOf(id)) {
      out.offers.push_back(*offers_.Find(offer));
    }
    AddTasks(tasks_.TasksOf(id), &state->tasks, &out.tasks);
    out.unreachable_tasks.begin = state->tasks.size();
    for (const mesos::v1::Task* task : unreachable_tasks_.Of(id)) {
      state->tasks.Add(*task);
    }
    out.unreachable_tasks.end = state->tasks.size();
    out.completed_tasks.begin = state->tasks.size();
    for (const mesos::v1::Task& task : tasks_.CompletedOf(id)) {
      state->tasks.Add(task);
    }
    out.completed_tasks.end = state->tasks.size();
  }
  std::map<FrameworkId, FrameworkSnapshot*> by_id;
  for (FrameworkSnapshot& framework : state->frameworks) {
    by_id[framework.id] = &framework;
  }
  tasks_.ForEachExecutor([&by_id](const AgentId& agent,
                                  const FrameworkId& framework,
                                  const TrackedExecutor& executor) {
    auto it = by_id.find(framework);
    if (it != by_id.end()) {
      it->second->executors.push_back(ExecutorSnapshot{agent, executor});
    }
  });
  for (const CompletedFramework& done : frameworks_.completed()) {
    FrameworkSnapshot& out = state->completed_frameworks.emplace_back();
    out.id = FrameworkId(done.info.id().value());
    out.info = done.info;
    absl::StatusOr<std::set<std::string>> roles = FrameworkRoles(done.info);
    if (roles.ok()) out.roles = *std::move(roles);
    out.registered_time = done.registered_time;
    out.unregistered_time = done.unregistered_time;
    out.completed_tasks.begin = state->tasks.size();
    for (const mesos::v1::Task& task : done.tasks) state->tasks.Add(task);
    out.completed_tasks.end = state->tasks.size();
  }
  return state;
}

}  // namespace agora
