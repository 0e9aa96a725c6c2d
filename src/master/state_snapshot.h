// StateSnapshot: a copy of everything the read-only HTTP endpoints show
// (/state, /frameworks, /slaves, /tasks, /roles), taken on the master's loop
// and rendered to JSON on the HTTP thread, so that a large cluster's /state
// does not stall the loop (Mesos renders /state on its master actor).
//
// Taking one is a single pass over the registries; the tasks, the bulk of a
// large state, are serialized back to back into one buffer (protobuf
// serialization, no per-task allocation) and parsed again only while
// rendering. Sums (used and offered resources per agent, framework and role)
// are computed while rendering, not on the loop. docs/performance.md has the
// figures.
//
// Thread rule: built on the master's loop (Master::Snapshot()), immutable
// afterwards and safe to read from any thread.
#ifndef AGORA_MASTER_STATE_SNAPSHOT_H_
#define AGORA_MASTER_STATE_SNAPSHOT_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/resources.h"
#include "common/strong_id.h"
#include "master/offer_book.h"
#include "master/task_tracker.h"
#include "mesos/v1/mesos.pb.h"
#include "nlohmann/json.hpp"

namespace agora {

// Tasks serialized back to back.
class TaskBlob {
 public:
  // Appends `task`; returns its index.
  size_t Add(const mesos::v1::Task& task);
  size_t size() const { return spans_.size(); }
  // Parses task `i` (< size()).
  mesos::v1::Task Get(size_t i) const;

 private:
  std::string bytes_;
  std::vector<std::pair<size_t, size_t>> spans_;  // (offset, size)
};

// A half-open range of task indices in the snapshot's TaskBlob.
struct TaskRange {
  size_t begin = 0;
  size_t end = 0;
};

struct AgentSnapshot {
  AgentId id;
  mesos::v1::AgentInfo info;
  Resources total;
  std::string ip;
  std::string version;
  bool active = false;
  bool connected = false;
  absl::Time registered_time;
  absl::Time reregistered_time;
};

struct ExecutorSnapshot {
  AgentId agent;
  TrackedExecutor executor;
};

struct FrameworkSnapshot {
  FrameworkId id;
  mesos::v1::FrameworkInfo info;
  std::set<std::string> roles;
  bool connected = false;
  bool recovered = false;
  absl::Time registered_time;
  absl::Time reregistered_time;
  absl::Time unregistered_time;
  std::vector<OutstandingOffer> offers;
  std::vector<ExecutorSnapshot> executors;
  TaskRange tasks;
  TaskRange unreachable_tasks;
  TaskRange completed_tasks;
};

struct StateSnapshot {
  // The master.
  std::string version;
  std::string id;
  std::string pid;
  std::string hostname;
  mesos::v1::MasterInfo info;  // This master, the leader.
  absl::Time start_time;
  absl::Time elected_time;
  absl::Time taken_at;

  std::vector<AgentSnapshot> agents;
  // In the registry, not reregistered since this master started.
  std::vector<mesos::v1::AgentInfo> recovered_agents;
  // Marked unreachable / gone, with the time.
  std::vector<std::pair<std::string, absl::Time>> unreachable_agents;
  std::vector<std::pair<std::string, absl::Time>> gone_agents;
  std::vector<FrameworkSnapshot> frameworks;
  std::vector<FrameworkSnapshot> completed_frameworks;
  TaskBlob tasks;
};

// Query of /tasks (Mesos's parameters).
struct TaskQuery {
  size_t limit = 100;
  size_t offset = 0;
  bool ascending = false;  // order=asc; Mesos's default is "des".
  std::optional<std::string> framework_id;
  std::optional<std::string> task_id;
};

// The JSON bodies of Mesos's endpoints. Pure functions of the snapshot.
nlohmann::json RenderState(const StateSnapshot& state);
// /frameworks, optionally only `framework_id`.
nlohmann::json RenderFrameworks(const StateSnapshot& state,
                                const std::optional<std::string>& framework_id);
// /slaves, optionally only `agent_id`.
nlohmann::json RenderAgents(const StateSnapshot& state,
                            const std::optional<std::string>& agent_id);
nlohmann::json RenderTasks(const StateSnapshot& state, const TaskQuery& query);
nlohmann::json RenderRoles(const StateSnapshot& state);

}  // namespace agora

#endif  // AGORA_MASTER_STATE_SNAPSHOT_H_
