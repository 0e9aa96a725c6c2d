// AgentOperator: the agent side of the Mesos v1 operator API
// (mesos.v1.agent.Call -> mesos.v1.agent.Response), one dispatch for both
// transports: gRPC agora.v1.AgentOperator/Call (AgentOperatorService) and
// HTTP POST /api/v1 (common/proto_http.h). Served calls: GET_HEALTH, GET_FLAGS,
// GET_VERSION, GET_METRICS, GET_STATE, GET_CONTAINERS, GET_FRAMEWORKS,
// GET_EXECUTORS, GET_TASKS, GET_AGENT. GET_CONTAINERS carries each
// container's usage from container_usage.h, the figures of
// /monitor/statistics.
//
// Thread rule: Handle() runs on the agent loop (the transports post to it).
#ifndef AGORA_AGENT_AGENT_OPERATOR_H_
#define AGORA_AGENT_AGENT_OPERATOR_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "agent/container_manager.h"
#include "common/event_loop.h"
#include "common/metrics.h"
#include "mesos/v1/agent/agent.pb.h"

namespace agora {

class AgentOperator {
 public:
  // What the calls read; every pointer must outlive this.
  struct Sources {
    const EventLoop* loop = nullptr;
    std::string version;
    const std::map<std::string, std::string>* flags = nullptr;
    const mesos::v1::AgentInfo* agent_info = nullptr;  // Id once registered.
    const ContainerManager* containers = nullptr;
    const MetricsRegistry* metrics = nullptr;
  };

  explicit AgentOperator(Sources sources) : sources_(std::move(sources)) {}

  // Loop thread. The Response of `call`'s type, or:
  //   InvalidArgument  no type; GET_METRICS without get_metrics
  //   Unimplemented    a type this agent does not serve (UNKNOWN included),
  //                    named in the message
  absl::StatusOr<mesos::v1::agent::Response> Handle(
      const mesos::v1::agent::Call& call) const;

 private:
  using Response = mesos::v1::agent::Response;

  Response::GetFlags GetFlags() const;
  Response::GetMetrics GetMetrics() const;
  Response::GetContainers GetContainers(
      const mesos::v1::agent::Call::GetContainers& request) const;
  Response::GetFrameworks GetFrameworks() const;
  Response::GetExecutors GetExecutors() const;
  Response::GetTasks GetTasks() const;

  const Sources sources_;
};

}  // namespace agora

#endif  // AGORA_AGENT_AGENT_OPERATOR_H_
