// UnreachableTasks: the tasks that were running on agents the master marked
// unreachable, per framework and per agent, so that /state, /tasks and
// reconciliation can still name them and a reregistering agent can take
// them back. Bounded per framework (Mesos's
// --max_unreachable_tasks_per_framework, 1000): the oldest entry goes first.
//
// Thread rule: master loop only.
#ifndef AGORA_MASTER_UNREACHABLE_TASKS_H_
#define AGORA_MASTER_UNREACHABLE_TASKS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/strong_id.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

class UnreachableTasks {
 public:
  explicit UnreachableTasks(size_t max_per_framework);

  // Records `task` (its framework_id and agent_id set) as unreachable,
  // replacing an entry with the same (framework, task id).
  void Add(mesos::v1::Task task);
  const mesos::v1::Task* Find(const FrameworkId& framework,
                              const std::string& task_id) const;
  // The framework's unreachable tasks, ordered by task id.
  std::vector<const mesos::v1::Task*> Of(const FrameworkId& framework) const;
  // Forgets and returns every unreachable task on `agent` (it reregistered
  // or was marked gone), ordered by (framework, task id).
  std::vector<mesos::v1::Task> TakeOn(const AgentId& agent);
  void RemoveFramework(const FrameworkId& framework);
  size_t size() const { return size_; }
  size_t CountInState(mesos::v1::TaskState state) const;

 private:
  struct Entry {
    mesos::v1::Task task;
    uint64_t sequence = 0;  // Insertion order, for eviction.
  };
  struct PerFramework {
    std::map<std::string, Entry> tasks;      // By task id.
    std::map<uint64_t, std::string> by_age;  // Sequence -> task id.
  };

  void Erase(PerFramework* framework, const std::string& task_id);

  const size_t max_per_framework_;
  uint64_t next_sequence_ = 0;
  size_t size_ = 0;
  std::map<FrameworkId, PerFramework> frameworks_;
};

}  // namespace agora

#endif  // AGORA_MASTER_UNREACHABLE_TASKS_H_
