#include "agent/checkpointer.h"

#include "absl/strings/str_cat.h"
#include "agent/checkpoint_state.h"

namespace agora {
namespace {

// The records of executors and tasks need to survive the agent's crash,
// which the page cache does; after a crash of the host the boot id changes
// and the agent discards them anyway (docs/recovery.md), so they are not
// flushed to disk. The agent's own id is (it names the agent the master
// removes when its host comes back).
constexpr bool kFlushTaskRecords = false;

}  // namespace

void Checkpointer::AgentInfo(const mesos::v1::AgentInfo& info) {
  writer_->WriteAtomically(AgentInfoPath(work_dir_, agent_id_),
                           EncodeRecord(info), /*sync=*/true);
  writer_->Link(agent_id_, LatestAgentPath(work_dir_), /*sync=*/true);
}

void Checkpointer::ExecutorRun(const mesos::v1::FrameworkInfo& framework,
                               const mesos::v1::ExecutorInfo& executor,
                               const std::string& container_id) {
  const std::string& fid = framework.id().value();
  const std::string& eid = executor.executor_id().value();
  std::string info = EncodeRecord(framework);
  std::string& written = framework_infos_[fid];
  if (written != info) {  // Once per framework, unless it changes.
    writer_->WriteAtomically(FrameworkInfoPath(work_dir_, agent_id_, fid), info,
                             kFlushTaskRecords);
    written = std::move(info);
  }
  writer_->WriteAtomically(ExecutorInfoPath(work_dir_, agent_id_, fid, eid),
                           EncodeRecord(executor), kFlushTaskRecords);
  writer_->Link(container_id, LatestRunPath(work_dir_, agent_id_, fid, eid),
                kFlushTaskRecords);
}

void Checkpointer::Task(const RunIds& run, const mesos::v1::Task& task) {
  writer_->WriteAtomically(TaskInfoPath(work_dir_, run, task.task_id().value()),
                           EncodeRecord(task), kFlushTaskRecords);
}

void Checkpointer::Pid(const RunIds& run, pid_t pid, uint64_t start_time) {
  writer_->WriteAtomically(ForkedStartPath(work_dir_, run),
                           absl::StrCat(start_time, "\n"), kFlushTaskRecords);
  writer_->WriteAtomically(ForkedPidPath(work_dir_, run),
                           absl::StrCat(pid, "\n"), kFlushTaskRecords);
}

void Checkpointer::Sentinel(const RunIds& run) {
  writer_->WriteAtomically(SentinelPath(work_dir_, run), "", kFlushTaskRecords);
}

void Checkpointer::RemoveExecutor(const std::string& framework,
                                  const std::string& executor) {
  writer_->Remove(ExecutorMetaDir(work_dir_, agent_id_, framework, executor));
}

void Checkpointer::RemoveFramework(const std::string& framework) {
  framework_infos_.erase(framework);
  writer_->Remove(FrameworkMetaDir(work_dir_, agent_id_, framework));
}

std::string Checkpointer::TaskUpdates(const RunIds& run,
                                      const std::string& task) const {
  return TaskUpdatesPath(work_dir_, run, task);
}

}  // namespace agora
