// TaskTracker: the tasks the master knows, per framework and per agent, with
// their latest state, status history and the update awaiting the
// framework's acknowledgement; the frameworks' executors per agent; and a
// bounded list of completed tasks per framework (Mesos's
// --max_completed_tasks_per_framework).
//
// A task is "active" from launch until the framework acknowledges its
// terminal update; its resources count as used until its state becomes
// terminal (the master releases them to the allocator at that moment).
//
// Thread rule: master loop only.
#ifndef AGORA_MASTER_TASK_TRACKER_H_
#define AGORA_MASTER_TASK_TRACKER_H_

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/resources.h"
#include "common/strong_id.h"
#include "common/task_states.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

struct TrackedTask {
  FrameworkId framework;
  AgentId agent;
  // `state` is the latest known state; `status_update_state` and
  // `status_update_uuid` describe the last forwarded update (the uuid is
  // cleared once acknowledged).
  mesos::v1::Task task;
  Resources resources;  // With allocation roles.

  const std::string& task_id() const { return task.task_id().value(); }
  bool terminal() const { return IsTerminalState(task.state()); }
};

struct TrackedExecutor {
  mesos::v1::ExecutorInfo info;
  Resources resources;  // With allocation roles.
};

class TaskTracker {
 public:
  static constexpr size_t kMaxStatusesPerTask = 32;

  explicit TaskTracker(size_t max_completed_per_framework);

  // Adds an active task; the (framework, task id) must not be active yet.
  TrackedTask* Add(const FrameworkId& framework, const AgentId& agent,
                   mesos::v1::Task task, Resources resources);
  TrackedTask* Find(const FrameworkId& framework, const std::string& task_id);
  // Active tasks, ordered by task id.
  std::vector<TrackedTask*> TasksOf(const FrameworkId& framework);
  // Active tasks on `agent`, ordered by (framework, task id).
  std::vector<TrackedTask*> TasksOn(const AgentId& agent);

  // Appends `status` (without its data) to the task's history, bounded.
  static void AddStatus(TrackedTask* task, mesos::v1::TaskStatus status);

  // Forgets an active task without completing it (its agent became
  // unreachable); nullopt when unknown.
  std::optional<TrackedTask> Remove(const FrameworkId& framework,
                                    const std::string& task_id);
  // Moves an active task into its framework's completed list.
  void Complete(const FrameworkId& framework, const std::string& task_id);
  // Forgets every active and completed task and executor of `framework`;
  // returns the active ones then the completed ones.
  std::vector<mesos::v1::Task> RemoveFramework(const FrameworkId& framework);
  const std::deque<mesos::v1::Task>& CompletedOf(
      const FrameworkId& framework) const;

  // Executors (custom executors only: command executors are the agent's
  // business and not charged).
  void AddExecutor(const AgentId& agent, const FrameworkId& framework,
                   mesos::v1::ExecutorInfo info, Resources resources);
  const TrackedExecutor* FindExecutor(const AgentId& agent,
                                      const FrameworkId& framework,
                                      const std::string& executor_id) const;
  std::optional<TrackedExecutor> RemoveExecutor(const AgentId& agent,
                                                const FrameworkId& framework,
                                                const std::string& executor_id);
  std::vector<std::string> ExecutorIds(const AgentId& agent,
                                       const FrameworkId& framework) const;
  std::vector<const TrackedExecutor*> ExecutorsOf(
      const FrameworkId& framework) const;
  // Calls `fn(agent, framework, executor)` for every executor, ordered by
  // (agent, framework, executor id).
  template <typename Fn>
  void ForEachExecutor(Fn fn) const {
    for (const auto& [key, executors] : executors_) {
      for (const auto& [id, executor] : executors) {
        fn(key.first, key.second, executor);
      }
    }
  }

  // Resources of non-terminal tasks plus executors, allocation roles kept.
  Resources UsedOn(const AgentId& agent) const;
  Resources UsedBy(const FrameworkId& framework) const;
  std::map<FrameworkId, Resources> UsedOnByFramework(
      const AgentId& agent) const;
  // Active tasks per state.
  std::map<mesos::v1::TaskState, int> CountByState() const;

 private:
  using Key = std::pair<FrameworkId, std::string>;
  using ExecutorKey = std::pair<AgentId, FrameworkId>;

  // Calls `fn` for each active task of `framework`, in task id order.
  template <typename Fn>
  void ForEachOf(const FrameworkId& framework, Fn fn) const {
    for (auto it = tasks_.lower_bound(Key{framework, ""});
         it != tasks_.end() && it->first.first == framework; ++it) {
      fn(it->second);
    }
  }

  const size_t max_completed_;
  std::map<Key, TrackedTask> tasks_;
  std::map<AgentId, std::set<Key>> by_agent_;
  std::map<FrameworkId, std::deque<mesos::v1::Task>> completed_;
  std::map<ExecutorKey, std::map<std::string, TrackedExecutor>> executors_;
};

}  // namespace agora

#endif  // AGORA_MASTER_TASK_TRACKER_H_
