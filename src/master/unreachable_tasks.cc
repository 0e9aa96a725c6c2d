#include "master/unreachable_tasks.h"

#include <utility>

namespace agora {

UnreachableTasks::UnreachableTasks(size_t max_per_framework)
    : max_per_framework_(max_per_framework) {}

void UnreachableTasks::Add(mesos::v1::Task task) {
  PerFramework& framework =
      frameworks_[FrameworkId(task.framework_id().value())];
  const std::string task_id = task.task_id().value();
  Erase(&framework, task_id);
  uint64_t sequence = next_sequence_++;
  framework.tasks[task_id] = Entry{std::move(task), sequence};
  framework.by_age[sequence] = task_id;
  ++size_;
  while (framework.tasks.size() > max_per_framework_) {
    Erase(&framework, framework.by_age.begin()->second);
  }
}

void UnreachableTasks::Erase(PerFramework* framework,
                             const std::string& task_id) {
  auto it = framework->tasks.find(task_id);
  if (it == framework->tasks.end()) return;
  framework->by_age.erase(it->second.sequence);
  framework->tasks.erase(it);
  --size_;
}

const mesos::v1::Task* UnreachableTasks::Find(
    const FrameworkId& framework, const std::string& task_id) const {
  auto f = frameworks_.find(framework);
  if (f == frameworks_.end()) return nullptr;
  auto it = f->second.tasks.find(task_id);
  return it == f->second.tasks.end() ? nullptr : &it->second.task;
}

std::vector<const mesos::v1::Task*> UnreachableTasks::Of(
    const FrameworkId& framework) const {
  std::vector<const mesos::v1::Task*> out;
  auto f = frameworks_.find(framework);
  if (f == frameworks_.end()) return out;
  for (const auto& [id, entry] : f->second.tasks) out.push_back(&entry.task);
  return out;
}

std::vector<mesos::v1::Task> UnreachableTasks::TakeOn(const AgentId& agent) {
  std::vector<mesos::v1::Task> out;
  for (auto f = frameworks_.begin(); f != frameworks_.end();) {
    std::vector<std::string> ids;
    for (const auto& [id, entry] : f->second.tasks) {
      if (entry.task.agent_id().value() == agent.value()) ids.push_back(id);
    }
    for (const std::string& id : ids) {
      out.push_back(std::move(f->second.tasks.at(id).task));
      Erase(&f->second, id);
    }
    f = f->second.tasks.empty() ? frameworks_.erase(f) : std::next(f);
  }
  return out;
}

size_t UnreachableTasks::CountInState(mesos::v1::TaskState state) const {
  size_t n = 0;
  for (const auto& [id, framework] : frameworks_) {
    for (const auto& [task_id, entry] : framework.tasks) {
      n += entry.task.state() == state ? 1 : 0;
    }
  }
  return n;
}

void UnreachableTasks::RemoveFramework(const FrameworkId& framework) {
  auto f = frameworks_.find(framework);
  if (f == frameworks_.end()) return;
  size_ -= f->second.tasks.size();
  frameworks_.erase(f);
}

}  // namespace agora
