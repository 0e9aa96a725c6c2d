// Where the agent checkpoints, in Mesos's layout under <work_dir>/meta
// (src/slave/paths.cpp there; docs/recovery.md here):
//
//   meta/version                      the layout version (kCheckpointVersion)
//   meta/boot_id                      the host's boot id at the last start
//   meta/slaves/latest                symlink to the current agent's directory
//   meta/slaves/<agent>/slave.info    AgentInfo
//   .../frameworks/<fw>/framework.info                 FrameworkInfo
//   .../frameworks/<fw>/executors/<ex>/executor.info   ExecutorInfo
//   .../executors/<ex>/runs/latest    symlink to the current run
//   .../runs/<container>/pids/forked.pid     the executor's pid
//   .../runs/<container>/pids/forked.start   its start time (agora's own)
//   .../runs/<container>/executor.sentinel   the executor has terminated
//   .../runs/<container>/tasks/<task>/task.info     Task
//   .../runs/<container>/tasks/<task>/task.updates  status update records
//
// Thread rule: plain functions.
#ifndef AGORA_AGENT_CHECKPOINT_PATHS_H_
#define AGORA_AGENT_CHECKPOINT_PATHS_H_

#include <string>

namespace agora {

// The version this agent writes. An agent reads its own version and every
// older one; a newer one it refuses (it cannot know what it means).
constexpr int kCheckpointVersion = 1;

// The ids of one executor run, which name its directories.
struct RunIds {
  std::string agent;
  std::string framework;
  std::string executor;
  std::string container;
};

std::string MetaDir(const std::string& work_dir);
std::string CheckpointVersionPath(const std::string& work_dir);
std::string BootIdPath(const std::string& work_dir);
std::string LatestAgentPath(const std::string& work_dir);
std::string AgentMetaDir(const std::string& work_dir, const std::string& agent);
std::string AgentInfoPath(const std::string& work_dir,
                          const std::string& agent);
std::string FrameworkMetaDir(const std::string& work_dir,
                             const std::string& agent,
                             const std::string& framework);
std::string FrameworkInfoPath(const std::string& work_dir,
                              const std::string& agent,
                              const std::string& framework);
std::string ExecutorMetaDir(const std::string& work_dir,
                            const std::string& agent,
                            const std::string& framework,
                            const std::string& executor);
std::string ExecutorInfoPath(const std::string& work_dir,
                             const std::string& agent,
                             const std::string& framework,
                             const std::string& executor);
std::string LatestRunPath(const std::string& work_dir, const std::string& agent,
                          const std::string& framework,
                          const std::string& executor);
std::string RunMetaDir(const std::string& work_dir, const RunIds& run);
std::string ForkedPidPath(const std::string& work_dir, const RunIds& run);
std::string ForkedStartPath(const std::string& work_dir, const RunIds& run);
std::string SentinelPath(const std::string& work_dir, const RunIds& run);
std::string TaskMetaDir(const std::string& work_dir, const RunIds& run,
                        const std::string& task);
std::string TaskInfoPath(const std::string& work_dir, const RunIds& run,
                         const std::string& task);
std::string TaskUpdatesPath(const std::string& work_dir, const RunIds& run,
                            const std::string& task);

}  // namespace agora

#endif  // AGORA_AGENT_CHECKPOINT_PATHS_H_
