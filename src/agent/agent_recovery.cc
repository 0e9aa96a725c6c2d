// Agent, recovery at start-up (docs/recovery.md): read the checkpoint,
// decide (reconnect, or discard it after a reboot or with
// --recover=cleanup), re-adopt or destroy the earlier agent's executors,
// wait for the adopted ones to resubscribe, then reregister.
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/agent.h"
#include "agent/checkpoint_paths.h"
#include "common/file_util.h"
#include "common/flags_util.h"
#include "common/proc_stat.h"
#include "common/resources_proto.h"
#include "glog/logging.h"

namespace agora {
namespace {

// Mesos's reconfiguration policy "equal", on what Agora reports: the
// hostname and the resources may not change under a recovered agent id.
absl::Status CheckSameAgent(const mesos::v1::AgentInfo& checkpointed,
                            const AgentOptions& options,
                            const std::string& path) {
  if (checkpointed.hostname() != options.hostname) {
    return absl::FailedPreconditionError(absl::StrCat(
        "agent recovery: the hostname changed from '", checkpointed.hostname(),
        "' (", path, ") to '", options.hostname,
        "'; restart with --recover=cleanup to register as a new agent"));
  }
  absl::StatusOr<Resources> old = FromProto(checkpointed.resources());
  if (!old.ok() || !(*old == options.resources)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "agent recovery: --resources changed from ",
        old.ok() ? old->ToString() : std::string("(unreadable)"), " (", path,
        ") to ", options.resources.ToString(),
        "; restart with --recover=cleanup to register as a new agent"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CheckpointState> Agent::ReadCheckpointForStart() {
  const std::string& work_dir = options_.work_dir;
  absl::StatusOr<CheckpointState> state =
      ReadCheckpoint(work_dir, options_.strict);
  if (!state.ok()) {
    return absl::Status(state.status().code(),
                        absl::StrCat("agent recovery (--strict=true): ",
                                     state.status().message()));
  }
  if (state->agent_id.empty()) return state;  // A first start.
  absl::StatusOr<std::string> boot_id = ReadBootId();
  if (!boot_id.ok()) {
    LOG(WARNING) << "Cannot read the host's boot id (" << boot_id.status()
                 << "); assuming no reboot";
  }
  if (boot_id.ok() && state->boot_id && *state->boot_id != *boot_id) {
    discard_reason_ = "the host rebooted (its boot id changed)";
  } else if (options_.recover == AgentOptions::Recover::kCleanup) {
    discard_reason_ = "--recover=cleanup";
  } else if (!state->agent_info) {
    discard_reason_ = absl::StrCat(AgentInfoPath(work_dir, state->agent_id),
                                   " is missing or unreadable");
  }
  if (!discard_reason_.empty()) {
    recovery_ = Recovery::kDiscard;
    return state;
  }
  absl::Status same = CheckSameAgent(*state->agent_info, options_,
                                     AgentInfoPath(work_dir, state->agent_id));
  if (!same.ok()) return same;
  recovery_ = Recovery::kReconnect;
  return state;
}

void Agent::ApplyRecovery(const CheckpointState& state) {
  DCHECK(loop_.IsLoopThread());
  recovery_started_ = absl::Now();
  if (recovery_ == Recovery::kNone) {
    recovery_done_ = true;
    return;
  }
  if (recovery_ == Recovery::kDiscard) {
    LOG(INFO) << "Not recovering agent " << state.agent_id << ": "
              << discard_reason_ << "; killing what it left running and "
              << "registering as a new agent";
    containers_.DestroyCheckpointedContainers(state);
    checkpoint_writer_.Remove(AgentMetaDir(options_.work_dir, state.agent_id));
    checkpoint_writer_.Remove(LatestAgentPath(options_.work_dir));
    previous_agent_id_ = state.agent_id;
    recovery_done_ = true;
    return;
  }
  info_.mutable_id()->set_value(state.agent_id);
  checkpointer_.set_agent_id(state.agent_id);
  containers_.set_agent_info(info_);
  std::vector<std::pair<mesos::v1::FrameworkID, mesos::v1::TaskID>> done =
      RecoverStreams(state);
  int adopted = containers_.Recover(state);
  // Tasks whose terminal update was acknowledged are completed.
  for (const auto& [framework, task] : done) {
    containers_.OnTaskStreamDone(framework, task);
  }
  LOG(INFO) << "Recovering agent " << state.agent_id << ": " << adopted
            << " executor(s) still running, " << updates_.StreamCount()
            << " task status stream(s) open, " << state.skipped.size()
            << " container(s) skipped";
  metrics_.Increment("slave/recovery_errors",
                     static_cast<int64_t>(state.skipped.size()));
  recovering_ = true;
  if (containers_.AwaitingReregistration() == 0) OnRecoveryComplete();
  // Else the executors' time starts when the socket listens.
}

void Agent::OnExecutorSocketListening() {
  servers_ready_ = true;
  if (recovering_) {
    ArmReregistrationTimer();
    NudgeRecoveredExecutors();
  }
  MaybeStartDetectingMaster();
}

void Agent::ArmReregistrationTimer() {
  if (reregistration_timer_) loop_.Cancel(reregistration_timer_);
  absl::Duration timeout = options_.executor_reregistration_timeout;
  reregistration_timer_ = loop_.PostAfter(timeout, [this, timeout] {
    reregistration_timer_ = 0;
    containers_.OnReregistrationTimeout(timeout);
    OnRecoveryComplete();
  });
}

void Agent::OnExecutorReregistered(size_t awaiting) {
  if (!recovering_) return;
  if (awaiting == 0) return OnRecoveryComplete();
  // Mesos gives all executors one fixed window. A host busy with a
  // thousand executors reconnecting can need longer than that to take
  // them all, and killing live tasks because the host is slow is what
  // recovery must not do: while executors keep coming, the window counts
  // from the last one.
  if (servers_ready_) ArmReregistrationTimer();
}

std::vector<std::pair<mesos::v1::FrameworkID, mesos::v1::TaskID>>
Agent::RecoverStreams(const CheckpointState& state) {
  std::vector<std::pair<mesos::v1::FrameworkID, mesos::v1::TaskID>> done;
  for (const auto& [fid, framework] : state.frameworks) {
    for (const auto& [eid, executor] : framework.executors) {
      if (!executor.run) continue;
      for (const auto& [tid, task] : executor.run->tasks) {
        const std::string path = checkpointer_.TaskUpdates(
            checkpointer_.Run(fid, eid, executor.run->ids.container), tid);
        if (!updates_.RecoverStream(framework.info.id(), task.task.task_id(),
                                    path, task.updates, task.acks)) {
          done.emplace_back(framework.info.id(), task.task.task_id());
        }
      }
    }
  }
  return done;
}

void Agent::NudgeRecoveredExecutors() {
  const bool again = nudge_timer_ != 0;  // The retry timer fired.
  nudge_timer_ = 0;
  if (!recovering_) return;
  int nudged = containers_.NudgeAwaitingExecutors(again);
  VLOG(1) << "Signalled " << nudged << " executor(s) to resubscribe";
  // A signalled executor whose attempt failed falls back to its own slow
  // retries: signal again, by default every half reregistration timeout.
  nudge_timer_ =
      loop_.PostAfter(options_.executor_reregistration_retry_interval.value_or(
                          options_.executor_reregistration_timeout / 2),
                      [this] { NudgeRecoveredExecutors(); });
}

void Agent::OnRecoveryComplete() {
  if (!recovering_) return;
  recovering_ = false;
  if (reregistration_timer_) loop_.Cancel(reregistration_timer_);
  reregistration_timer_ = 0;
  if (nudge_timer_) loop_.Cancel(nudge_timer_);
  nudge_timer_ = 0;
  recovery_duration_ = absl::Now() - recovery_started_;
  LOG(INFO) << "Recovery of agent " << info_.id().value() << " done in "
            << recovery_duration_ << ": " << containers_.LiveExecutorCount()
            << " executor(s) running; reregistering with the master";
  recovery_done_ = true;
  MaybeStartDetectingMaster();
}

namespace {

// Replaces `path` with `content` (flushed) unless it holds that already.
absl::Status WriteIfChanged(const std::string& path,
                            const std::string& content) {
  absl::StatusOr<std::string> old = ReadFile(path);
  if (old.ok() && *old == content) return absl::OkStatus();
  return WriteFileAtomically(path, content);
}

}  // namespace

absl::Status Agent::WriteCheckpointHeader() {
  // What ApplyRecovery() removed must be gone before a new boot id says
  // the old executors were dealt with.
  if (recovery_ == Recovery::kDiscard) checkpoint_writer_.Flush();
  const std::string& work_dir = options_.work_dir;
  absl::Status st = CreateDirectories(MetaDir(work_dir));
  if (st.ok()) {
    st = WriteIfChanged(CheckpointVersionPath(work_dir),
                        absl::StrCat(kCheckpointVersion, "\n"));
  }
  absl::StatusOr<std::string> boot_id = ReadBootId();
  if (st.ok() && boot_id.ok()) {
    st = WriteIfChanged(BootIdPath(work_dir), *boot_id + "\n");
  }
  if (!st.ok()) {
    return absl::Status(st.code(),
                        absl::StrCat("agent checkpoint: ", st.message()));
  }
  return absl::OkStatus();
}

}  // namespace agora
