#include "master/task_tracker.h"

#include "glog/logging.h"

namespace agora {

TaskTracker::TaskTracker(size_t max_completed_per_framework)
    : max_completed_(max_completed_per_framework) {}

TrackedTask* TaskTracker::Add(const FrameworkId& framework,
                              const AgentId& agent, mesos::v1::Task task,
                              Resources resources) {
  Key key{framework, task.task_id().value()};
  CHECK(tasks_.count(key) == 0) << "task " << key.second << " added twice";
  TrackedTask tracked;
  tracked.framework = framework;
  tracked.agent = agent;
  tracked.task = std::move(task);
  tracked.resources = std::move(resources);
  by_agent_[agent].insert(key);
  return &tasks_.emplace(key, std::move(tracked)).first->second;
}

TrackedTask* TaskTracker::Find(const FrameworkId& framework,
                               const std::string& task_id) {
  auto it = tasks_.find(Key{framework, task_id});
  return it == tasks_.end() ? nullptr : &it->second;
}

std::vector<TrackedTask*> TaskTracker::TasksOf(const FrameworkId& framework) {
  std::vector<TrackedTask*> out;
  for (auto it = tasks_.lower_bound(Key{framework, ""});
       it != tasks_.end() && it->first.first == framework; ++it) {
    out.push_back(&it->second);
  }
  return out;
}

std::vector<TrackedTask*> TaskTracker::TasksOn(const AgentId& agent) {
  std::vector<TrackedTask*> out;
  auto it = by_agent_.find(agent);
  if (it == by_agent_.end()) return out;
  for (const Key& key : it->second) out.push_back(&tasks_.at(key));
  return out;
}

void TaskTracker::AddStatus(TrackedTask* task, mesos::v1::TaskStatus status) {
  status.clear_data();
  auto* statuses = task->task.mutable_statuses();
  *statuses->Add() = std::move(status);
  if (statuses->size() > static_cast<int>(kMaxStatusesPerTask)) {
    statuses->DeleteSubrange(0, 1);
  }
}

std::optional<TrackedTask> TaskTracker::Remove(const FrameworkId& framework,
                                               const std::string& task_id) {
  auto it = tasks_.find(Key{framework, task_id});
  if (it == tasks_.end()) return std::nullopt;
  auto agent = by_agent_.find(it->second.agent);
  agent->second.erase(it->first);
  if (agent->second.empty()) by_agent_.erase(agent);
  TrackedTask out = std::move(it->second);
  tasks_.erase(it);
  return out;
}

void TaskTracker::Complete(const FrameworkId& framework,
                           const std::string& task_id) {
  auto it = tasks_.find(Key{framework, task_id});
  if (it == tasks_.end()) return;
  auto agent = by_agent_.find(it->second.agent);
  agent->second.erase(it->first);
  if (agent->second.empty()) by_agent_.erase(agent);
  std::deque<mesos::v1::Task>& done = completed_[framework];
  done.push_back(std::move(it->second.task));
  while (done.size() > max_completed_) done.pop_front();
  tasks_.erase(it);
}

std::vector<mesos::v1::Task> TaskTracker::RemoveFramework(
    const FrameworkId& framework) {
  std::vector<mesos::v1::Task> out;
  for (TrackedTask* task : TasksOf(framework)) {
    Key key{framework, task->task_id()};
    auto agent = by_agent_.find(task->agent);
    agent->second.erase(key);
    if (agent->second.empty()) by_agent_.erase(agent);
    out.push_back(std::move(task->task));
    tasks_.erase(key);
  }
  auto done = completed_.find(framework);
  if (done != completed_.end()) {
    out.insert(out.end(), done->second.begin(), done->second.end());
    completed_.erase(done);
  }
  for (auto it = executors_.begin(); it != executors_.end();) {
    it = it->first.second == framework ? executors_.erase(it) : std::next(it);
  }
  return out;
}

const std::deque<mesos::v1::Task>& TaskTracker::CompletedOf(
    const FrameworkId& framework) const {
  static const std::deque<mesos::v1::Task> kEmpty;
  auto it = completed_.find(framework);
  return it == completed_.end() ? kEmpty : it->second;
}

void TaskTracker::AddExecutor(const AgentId& agent,
                              const FrameworkId& framework,
                              mesos::v1::ExecutorInfo info,
                              Resources resources) {
  std::string id = info.executor_id().value();
  executors_[ExecutorKey{agent, framework}][id] =
      TrackedExecutor{std::move(info), std::move(resources)};
}

const TrackedExecutor* TaskTracker::FindExecutor(
    const AgentId& agent, const FrameworkId& framework,
    const std::string& executor_id) const {
  auto it = executors_.find(ExecutorKey{agent, framework});
  if (it == executors_.end()) return nullptr;
  auto e = it->second.find(executor_id);
  return e == it->second.end() ? nullptr : &e->second;
}

std::optional<TrackedExecutor> TaskTracker::RemoveExecutor(
    const AgentId& agent, const FrameworkId& framework,
    const std::string& executor_id) {
  auto it = executors_.find(ExecutorKey{agent, framework});
  if (it == executors_.end()) return std::nullopt;
  auto e = it->second.find(executor_id);
  if (e == it->second.end()) return std::nullopt;
  TrackedExecutor out = std::move(e->second);
  it->second.erase(e);
  if (it->second.empty()) executors_.erase(it);
  return out;
}

std::vector<std::string> TaskTracker::ExecutorIds(
    const AgentId& agent, const FrameworkId& framework) const {
  std::vector<std::string> out;
  auto it = executors_.find(ExecutorKey{agent, framework});
  if (it == executors_.end()) return out;
  for (const auto& [id, executor] : it->second) out.push_back(id);
  return out;
}

std::vector<const TrackedExecutor*> TaskTracker::ExecutorsOf(
    const FrameworkId& framework) const {
  std::vector<const TrackedExecutor*> out;
  for (const auto& [key, executors] : executors_) {
    if (key.second != framework) continue;
    for (const auto& [id, executor] : executors) out.push_back(&executor);
  }
  return out;
}

Resources TaskTracker::UsedOn(const AgentId& agent) const {
  Resources out;
  for (const auto& [framework, used] : UsedOnByFramework(agent)) out += used;
  return out;
}

Resources TaskTracker::UsedBy(const FrameworkId& framework) const {
  Resources out;
  ForEachOf(framework, [&out](const TrackedTask& task) {
    if (!task.terminal()) out += task.resources;
  });
  for (const TrackedExecutor* executor : ExecutorsOf(framework)) {
    out += executor->resources;
  }
  return out;
}

std::map<FrameworkId, Resources> TaskTracker::UsedOnByFramework(
    const AgentId& agent) const {
  std::map<FrameworkId, Resources> out;
  auto keys = by_agent_.find(agent);
  if (keys != by_agent_.end()) {
    for (const Key& key : keys->second) {
      const TrackedTask& task = tasks_.at(key);
      if (!task.terminal()) out[task.framework] += task.resources;
    }
  }
  for (auto it = executors_.lower_bound(ExecutorKey{agent, FrameworkId()});
       it != executors_.end() && it->first.first == agent; ++it) {
    for (const auto& [id, executor] : it->second) {
      out[it->first.second] += executor.resources;
    }
  }
  return out;
}

std::map<mesos::v1::TaskState, int> TaskTracker::CountByState() const {
  std::map<mesos::v1::TaskState, int> out;
  for (const auto& [key, task] : tasks_) ++out[task.task.state()];
  return out;
}

}  // namespace agora
