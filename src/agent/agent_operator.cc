#include "agent/agent_operator.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/container_usage.h"
#include "common/task_states.h"
#include "glog/logging.h"

namespace agora {
namespace {

using mesos::v1::agent::Call;
using mesos::v1::agent::Response;
using State = ExecutorRecord::State;

// Every framework the agent knows, the completed ones last.
std::vector<const FrameworkRecord*> AllFrameworks(const ContainerManager& c) {
  std::vector<const FrameworkRecord*> out;
  for (const auto& [id, f] : c.frameworks()) out.push_back(&f);
  for (const auto& f : c.completed_frameworks()) out.push_back(&f);
  return out;
}

// Every executor of `frameworks`, live and completed.
std::vector<const ExecutorRecord*> AllExecutors(
    const std::vector<const FrameworkRecord*>& frameworks) {
  std::vector<const ExecutorRecord*> out;
  for (const FrameworkRecord* f : frameworks) {
    for (const auto& [id, e] : f->executors) out.push_back(&e);
    for (const auto& e : f->completed_executors) out.push_back(&e);
  }
  return out;
}

// Sorts `executor`'s tasks into GET_TASKS's lists.
void AddTasksOf(const ExecutorRecord& e, Response::GetTasks& out) {
  for (const auto& [id, task] : e.tasks) {
    if (e.queued.count(id)) {
      *out.add_queued_tasks() = task;
    } else if (IsTerminalState(task.state())) {
      *out.add_terminated_tasks() = task;
    } else {
      *out.add_launched_tasks() = task;
    }
  }
  for (const auto& task : e.completed_tasks) *out.add_completed_tasks() = task;
}

Response::GetContainers::Container ContainerOf(
    const ExecutorRecord& e, const Containerizer& containerizer) {
  Response::GetContainers::Container c;
  *c.mutable_framework_id() = e.info.framework_id();
  *c.mutable_executor_id() = e.info.executor_id();
  c.set_executor_name(e.info.name());
  c.mutable_container_id()->set_value(e.container_id);
  mesos::v1::ContainerStatus* status = c.mutable_container_status();
  *status->mutable_container_id() = c.container_id();
  if (e.pid > 0) status->set_executor_pid(static_cast<uint32_t>(e.pid));
  UsageSource source = containerizer.UsageSourceOf(e.container_id)
                           .value_or(UsageSource{e.container_id, 0, false,
                                                 e.container_resources});
  *c.mutable_resource_statistics() =
      ContainerStatistics(source, containerizer.isolator());
  return c;
}

}  // namespace

absl::StatusOr<Response> AgentOperator::Handle(const Call& call) const {
  DCHECK(sources_.loop->IsLoopThread());
  if (!call.has_type()) {
    return absl::InvalidArgumentError("expecting 'type' to be present");
  }
  Response r;
  switch (call.type()) {
    case Call::GET_HEALTH:
      r.set_type(Response::GET_HEALTH);
      r.mutable_get_health()->set_healthy(true);
      return r;
    case Call::GET_FLAGS:
      r.set_type(Response::GET_FLAGS);
      *r.mutable_get_flags() = GetFlags();
      return r;
    case Call::GET_VERSION:
      r.set_type(Response::GET_VERSION);
      r.mutable_get_version()->mutable_version_info()->set_version(
          sources_.version);
      return r;
    case Call::GET_METRICS:
      if (!call.has_get_metrics()) {
        return absl::InvalidArgumentError(
            "expecting 'get_metrics' to be present");
      }
      r.set_type(Response::GET_METRICS);
      *r.mutable_get_metrics() = GetMetrics();
      return r;
    case Call::GET_STATE:
      r.set_type(Response::GET_STATE);
      *r.mutable_get_state()->mutable_get_tasks() = GetTasks();
      *r.mutable_get_state()->mutable_get_executors() = GetExecutors();
      *r.mutable_get_state()->mutable_get_frameworks() = GetFrameworks();
      return r;
    case Call::GET_CONTAINERS:
      r.set_type(Response::GET_CONTAINERS);
      *r.mutable_get_containers() = GetContainers(call.get_containers());
      return r;
    case Call::GET_FRAMEWORKS:
      r.set_type(Response::GET_FRAMEWORKS);
      *r.mutable_get_frameworks() = GetFrameworks();
      return r;
    case Call::GET_EXECUTORS:
      r.set_type(Response::GET_EXECUTORS);
      *r.mutable_get_executors() = GetExecutors();
      return r;
    case Call::GET_TASKS:
      r.set_type(Response::GET_TASKS);
      *r.mutable_get_tasks() = GetTasks();
      return r;
    case Call::GET_AGENT:
      r.set_type(Response::GET_AGENT);
      *r.mutable_get_agent()->mutable_agent_info() = *sources_.agent_info;
      return r;
    default:
      return absl::UnimplementedError(
          absl::StrCat("agent operator call ", Call::Type_Name(call.type()),
                       " is not served by this agent"));
  }
}

Response::GetFlags AgentOperator::GetFlags() const {
  Response::GetFlags out;
  for (const auto& [name, value] : *sources_.flags) {
    mesos::v1::Flag* flag = out.add_flags();
    flag->set_name(name);
    flag->set_value(value);
  }
  return out;
}

Response::GetMetrics AgentOperator::GetMetrics() const {
  Response::GetMetrics out;
  for (const auto& [name, value] : sources_.metrics->Snapshot()) {
    mesos::v1::Metric* metric = out.add_metrics();
    metric->set_name(name);
    metric->set_value(value);
  }
  return out;
}

// Every executor container not terminated, as Mesos lists them. Agora has
// no nested or standalone containers, so show_nested and show_standalone
// add nothing.
Response::GetContainers AgentOperator::GetContainers(
    const Call::GetContainers& /*request*/) const {
  Response::GetContainers out;
  const ContainerManager& c = *sources_.containers;
  for (const auto& [fid, f] : c.frameworks()) {
    for (const auto& [eid, e] : f.executors) {
      if (e.state == State::kTerminated) continue;
      *out.add_containers() = ContainerOf(e, c.containerizer());
    }
  }
  return out;
}

Response::GetFrameworks AgentOperator::GetFrameworks() const {
  Response::GetFrameworks out;
  const ContainerManager& c = *sources_.containers;
  for (const auto& [id, f] : c.frameworks()) {
    *out.add_frameworks()->mutable_framework_info() = f.info;
  }
  for (const auto& f : c.completed_frameworks()) {
    *out.add_completed_frameworks()->mutable_framework_info() = f.info;
  }
  return out;
}

Response::GetExecutors AgentOperator::GetExecutors() const {
  Response::GetExecutors out;
  for (const FrameworkRecord* f : AllFrameworks(*sources_.containers)) {
    for (const auto& [id, e] : f->executors) {
      *out.add_executors()->mutable_executor_info() = e.info;
    }
    for (const auto& e : f->completed_executors) {
      *out.add_completed_executors()->mutable_executor_info() = e.info;
    }
  }
  return out;
}

Response::GetTasks AgentOperator::GetTasks() const {
  Response::GetTasks out;
  for (const ExecutorRecord* e :
       AllExecutors(AllFrameworks(*sources_.containers))) {
    AddTasksOf(*e, out);
  }
  return out;
}

}  // namespace agora
