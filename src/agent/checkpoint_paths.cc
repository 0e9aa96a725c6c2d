#include "agent/checkpoint_paths.h"

#include "absl/strings/str_cat.h"

namespace agora {

std::string MetaDir(const std::string& work_dir) {
  return absl::StrCat(work_dir, "/meta");
}

std::string CheckpointVersionPath(const std::string& work_dir) {
  return absl::StrCat(MetaDir(work_dir), "/version");
}

std::string BootIdPath(const std::string& work_dir) {
  return absl::StrCat(MetaDir(work_dir), "/boot_id");
}

std::string LatestAgentPath(const std::string& work_dir) {
  return absl::StrCat(MetaDir(work_dir), "/slaves/latest");
}

std::string AgentMetaDir(const std::string& work_dir,
                         const std::string& agent) {
  return absl::StrCat(MetaDir(work_dir), "/slaves/", agent);
}

std::string AgentInfoPath(const std::string& work_dir,
                          const std::string& agent) {
  return absl::StrCat(AgentMetaDir(work_dir, agent), "/slave.info");
}

std::string FrameworkMetaDir(const std::string& work_dir,
                             const std::string& agent,
                             const std::string& framework) {
  return absl::StrCat(AgentMetaDir(work_dir, agent), "/frameworks/", framework);
}

std::string FrameworkInfoPath(const std::string& work_dir,
                              const std::string& agent,
                              const std::string& framework) {
  return absl::StrCat(FrameworkMetaDir(work_dir, agent, framework),
                      "/framework.info");
}

std::string ExecutorMetaDir(const std::string& work_dir,
                            const std::string& agent,
                            const std::string& framework,
                            const std::string& executor) {
  return absl::StrCat(FrameworkMetaDir(work_dir, agent, framework),
                      "/executors/", executor);
}

std::string ExecutorInfoPath(const std::string& work_dir,
                             const std::string& agent,
                             const std::string& framework,
                             const std::string& executor) {
  return absl::StrCat(ExecutorMetaDir(work_dir, agent, framework, executor),
                      "/executor.info");
}

std::string LatestRunPath(const std::string& work_dir, const std::string& agent,
                          const std::string& framework,
                          const std::string& executor) {
  return absl::StrCat(ExecutorMetaDir(work_dir, agent, framework, executor),
                      "/runs/latest");
}

std::string RunMetaDir(const std::string& work_dir, const RunIds& run) {
  return absl::StrCat(
      ExecutorMetaDir(work_dir, run.agent, run.framework, run.executor),
      "/runs/", run.container);
}

std::string ForkedPidPath(const std::string& work_dir, const RunIds& run) {
  return absl::StrCat(RunMetaDir(work_dir, run), "/pids/forked.pid");
}

std::string ForkedStartPath(const std::string& work_dir, const RunIds& run) {
  return absl::StrCat(RunMetaDir(work_dir, run), "/pids/forked.start");
}

std::string SentinelPath(const std::string& work_dir, const RunIds& run) {
  return absl::StrCat(RunMetaDir(work_dir, run), "/executor.sentinel");
}

std::string TaskMetaDir(const std::string& work_dir, const RunIds& run,
                        const std::string& task) {
  return absl::StrCat(RunMetaDir(work_dir, run), "/tasks/", task);
}

std::string TaskInfoPath(const std::string& work_dir, const RunIds& run,
                         const std::string& task) {
  return absl::StrCat(TaskMetaDir(work_dir, run, task), "/task.info");
}

std::string TaskUpdatesPath(const std::string& work_dir, const RunIds& run,
                            const std::string& task) {
  return absl::StrCat(TaskMetaDir(work_dir, run, task), "/task.updates");
}

}  // namespace agora
