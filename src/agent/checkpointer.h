// Checkpointer: what the agent records under <work_dir>/meta
// (checkpoint_paths.h) as its executors and tasks come and go, for the
// frameworks that checkpoint (FrameworkInfo.checkpoint), and its own
// AgentInfo. Every write goes through the CheckpointWriter, in order; the
// status updates themselves are the status update manager's
// (TaskUpdatesPath gives it the file).
//
// Thread rule: the agent's loop.
#ifndef AGORA_AGENT_CHECKPOINTER_H_
#define AGORA_AGENT_CHECKPOINTER_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "agent/checkpoint_paths.h"
#include "agent/checkpoint_writer.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

class Checkpointer {
 public:
  // `writer` must outlive this.
  Checkpointer(std::string work_dir, CheckpointWriter* writer)
      : work_dir_(std::move(work_dir)), writer_(writer) {}

  // The agent's id, known once it registered (or recovered it).
  void set_agent_id(std::string id) { agent_id_ = std::move(id); }
  const std::string& agent_id() const { return agent_id_; }
  const std::string& work_dir() const { return work_dir_; }

  // slave.info and meta/slaves/latest.
  void AgentInfo(const mesos::v1::AgentInfo& info);
  // framework.info, executor.info and runs/latest of a new executor run.
  void ExecutorRun(const mesos::v1::FrameworkInfo& framework,
                   const mesos::v1::ExecutorInfo& executor,
                   const std::string& container_id);
  void Task(const RunIds& run, const mesos::v1::Task& task);
  // forked.start, then forked.pid (a pid file is never without its start).
  void Pid(const RunIds& run, pid_t pid, uint64_t start_time);
  // executor.sentinel: the executor's end was handled.
  void Sentinel(const RunIds& run);
  // The executor's (every run's) records, once it is forgotten.
  void RemoveExecutor(const std::string& framework,
                      const std::string& executor);
  void RemoveFramework(const std::string& framework);
  std::string TaskUpdates(const RunIds& run, const std::string& task) const;
  RunIds Run(const std::string& framework, const std::string& executor,
             const std::string& container) const {
    return RunIds{agent_id_, framework, executor, container};
  }

 private:
  const std::string work_dir_;
  CheckpointWriter* const writer_;
  std::string agent_id_;
  // What framework.info holds, per framework.
  std::map<std::string, std::string> framework_infos_;
};

}  // namespace agora

#endif  // AGORA_AGENT_CHECKPOINTER_H_
