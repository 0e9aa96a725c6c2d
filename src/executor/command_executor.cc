#include "executor/command_executor.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/flags_util.h"
#include "common/ids.h"
#include "common/task_states.h"
#include "glog/logging.h"

namespace agora {
namespace {

using mesos::v1::executor::Call;
using mesos::v1::executor::Event;

// Mesos's WSTRINGIFY, with the signal's name: "exited with status 3",
// "terminated with signal SIGTERM".
std::string DescribeWaitStatus(int status) {
  if (status != -1 && WIFEXITED(status)) {
    return absl::StrCat("exited with status ", WEXITSTATUS(status));
  }
  if (status != -1 && WIFSIGNALED(status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(status));
    return absl::StrCat(
        "terminated with signal ",
        abbrev ? absl::StrCat("SIG", abbrev) : absl::StrCat(WTERMSIG(status)));
  }
  return "terminated with unknown status";
}

// TaskState_Name(state) without its reflection: the generated function
// builds the descriptors of all of mesos.proto on first use, milliseconds
// of CPU in every executor process, i.e. for every task.
const char* StateName(mesos::v1::TaskState state) {
  switch (state) {
    case mesos::v1::TASK_STAGING:
      return "TASK_STAGING";
    case mesos::v1::TASK_STARTING:
      return "TASK_STARTING";
    case mesos::v1::TASK_RUNNING:
      return "TASK_RUNNING";
    case mesos::v1::TASK_KILLING:
      return "TASK_KILLING";
    case mesos::v1::TASK_FINISHED:
      return "TASK_FINISHED";
    case mesos::v1::TASK_FAILED:
      return "TASK_FAILED";
    case mesos::v1::TASK_KILLED:
      return "TASK_KILLED";
    case mesos::v1::TASK_ERROR:
      return "TASK_ERROR";
    case mesos::v1::TASK_LOST:
      return "TASK_LOST";
    case mesos::v1::TASK_DROPPED:
      return "TASK_DROPPED";
    case mesos::v1::TASK_UNREACHABLE:
      return "TASK_UNREACHABLE";
    case mesos::v1::TASK_GONE:
      return "TASK_GONE";
    case mesos::v1::TASK_GONE_BY_OPERATOR:
      return "TASK_GONE_BY_OPERATOR";
    case mesos::v1::TASK_UNKNOWN:
      return "TASK_UNKNOWN";
  }
  return "an unknown state";
}

absl::Duration GraceOf(const mesos::v1::KillPolicy& policy) {
  return absl::Nanoseconds(policy.grace_period().nanoseconds());
}

}  // namespace

CommandExecutor::CommandExecutor(ExecutorConfig config, EventLoop* loop,
                                 AgentConnection* connection,
                                 std::function<void(int)> on_finished)
    : config_(std::move(config)),
      loop_(loop),
      connection_(connection),
      on_finished_(std::move(on_finished)) {}

void CommandExecutor::Start() {
  LOG(INFO) << "Command executor '" << config_.executor_id.value()
            << "' of framework " << config_.framework_id.value()
            << " subscribing to the agent at " << config_.endpoint;
  Subscribe();
}

Call CommandExecutor::NewCall(Call::Type type) const {
  Call call;
  *call.mutable_framework_id() = config_.framework_id;
  *call.mutable_executor_id() = config_.executor_id;
  call.set_type(type);
  return call;
}

void CommandExecutor::Subscribe() {
  if (finished_) return;
  Call call = NewCall(Call::SUBSCRIBE);
  auto* subscribe = call.mutable_subscribe();
  for (const auto& update : unacknowledged_) {
    *subscribe->add_unacknowledged_updates() = update;
  }
  if (task_ && !any_update_acknowledged_) {
    *subscribe->add_unacknowledged_tasks() = *task_;
  }
  unsent_.clear();  // They travel in the SUBSCRIBE.
  uint64_t generation = ++generation_;
  connection_->Subscribe(
      call,
      [this, generation](Event event) {
        loop_->Post([this, generation, event = std::move(event)] {
          if (generation == generation_) OnEvent(event);
        });
      },
      [this, generation](grpc::Status status) {
        loop_->Post([this, generation, status] {
          OnSubscriptionClosed(generation, status);
        });
      });
}

namespace {

// The agent refuses this executor for good: it does not know it (a new
// agent after a reboot or --recover=cleanup, or one that gave up on it).
bool IsRejection(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
      return true;
    default:
      return false;
  }
}

}  // namespace

void CommandExecutor::OnSubscriptionClosed(uint64_t generation,
                                           const grpc::Status& status) {
  if (generation != generation_ || finished_) return;
  subscribed_ = false;
  std::string reason =
      status.ok() ? std::string("the agent closed the stream")
                  : absl::StrCat(status.error_message(), " (code ",
                                 static_cast<int>(status.error_code()), ")");
  if (IsRejection(status)) {
    return Abandon(
        absl::StrCat("the agent refused the subscription: ", reason));
  }
  if (!disconnected_since_) {
    LOG(WARNING) << "Disconnected from the agent: " << reason;
    disconnected_since_ = loop_->Now();
    resubscribe_backoff_ =
        std::min(kInitialResubscribeBackoff, config_.subscription_backoff_max);
  }
  if (!config_.checkpoint && ever_subscribed_) {
    // As Mesos: only a checkpointing framework's executor outlives its
    // agent. (Before the first SUBSCRIBED a failed attempt is retried: the
    // agent that launched it is there, and gives up on it after its
    // --executor_registration_timeout.)
    return Abandon("the agent is gone and the framework does not checkpoint");
  }
  if (loop_->Now() - *disconnected_since_ >= config_.recovery_timeout) {
    return Abandon(absl::StrCat("the agent did not come back within ",
                                FormatMesosDuration(config_.recovery_timeout),
                                " (MESOS_RECOVERY_TIMEOUT)"));
  }
  ScheduleResubscribe();
}

void CommandExecutor::ScheduleResubscribe() {
  // Jitter in [0.5, 1) of the backoff, so that the executors of a
  // restarting agent do not all knock at once.
  jitter_state_ = jitter_state_ * 6364136223846793005ULL +
                  1442695040888963407ULL + static_cast<uint64_t>(getpid());
  double fraction = 0.5 + static_cast<double>(jitter_state_ >> 11) /
                              static_cast<double>(1ULL << 53) / 2;
  absl::Duration delay = resubscribe_backoff_ * fraction;
  resubscribe_backoff_ =
      std::min(resubscribe_backoff_ * 2, config_.subscription_backoff_max);
  resubscribe_timer_ = loop_->PostAfter(delay, [this] {
    resubscribe_timer_ = 0;
    Subscribe();
  });
}

void CommandExecutor::OnAgentBack() {
  if (finished_ || subscribed_ || !disconnected_since_) return;
  LOG(INFO) << "The agent says it is back; resubscribing";
  if (resubscribe_timer_) loop_->Cancel(resubscribe_timer_);
  resubscribe_timer_ = 0;
  resubscribe_backoff_ =
      std::min(kInitialResubscribeBackoff, config_.subscription_backoff_max);
  // A fresh connection: the old channel may be waiting out its own
  // reconnection backoff.
  connection_->Reset();
  Subscribe();
}

void CommandExecutor::Abandon(const std::string& why) {
  LOG(ERROR) << "Giving up: " << why << "; killing the task and exiting";
  abandoning_ = true;
  if (running_) {
    process_.Signal(SIGKILL);  // OnTaskExited finishes.
  } else {
    Finish(1);
  }
}

void CommandExecutor::OnEvent(const Event& event) {
  switch (event.type()) {
    case Event::SUBSCRIBED:
      return OnSubscribed(event.subscribed());
    case Event::LAUNCH:
      return Launch(event.launch().task());
    case Event::KILL: {
      std::optional<mesos::v1::KillPolicy> policy;
      if (event.kill().has_kill_policy()) policy = event.kill().kill_policy();
      return Kill(event.kill().task_id(), policy);
    }
    case Event::ACKNOWLEDGED:
      return OnAcknowledged(event.acknowledged());
    case Event::MESSAGE:
      LOG(INFO) << "Received a framework message of "
                << event.message().data().size() << " bytes";
      return;
    case Event::SHUTDOWN:
      LOG(INFO) << "Received SHUTDOWN from the agent";
      return Shutdown();
    case Event::ERROR:
      LOG(ERROR) << "Error from the agent: " << event.error().message();
      return;
    case Event::HEARTBEAT:
      return;
    default:
      LOG(WARNING) << "Ignoring event of unknown type " << event.type();
  }
}

void CommandExecutor::OnSubscribed(const Event::Subscribed& subscribed) {
  subscribed_ = true;
  ever_subscribed_ = true;
  disconnected_since_.reset();
  framework_info_ = subscribed.framework_info();
  LOG(INFO) << "Subscribed to agent " << subscribed.agent_info().id().value()
            << " (" << subscribed.agent_info().hostname() << ")";
  SendNextUpdate();
}

void CommandExecutor::Launch(const mesos::v1::TaskInfo& task) {
  if (task_) {
    SendUpdate(task.task_id(), mesos::v1::TASK_FAILED,
               "Attempted to run multiple tasks using a \"command\" executor");
    return;
  }
  task_ = task;
  LOG(INFO) << "Starting task '" << task.task_id().value() << "'";
  SendUpdate(task.task_id(), mesos::v1::TASK_STARTING);
  if (!task.has_command()) {
    SendUpdate(task.task_id(), mesos::v1::TASK_FAILED,
               "The command executor needs a task with a command");
    return;
  }
  TaskCommand command;
  command.shell = task.command().shell();
  command.value = task.command().value();
  command.arguments.assign(task.command().arguments().begin(),
                           task.command().arguments().end());
  command.env = config_.environment;
  for (const auto& var : task.command().environment().variables()) {
    if (var.type() == mesos::v1::Environment::Variable::SECRET) continue;
    command.env[var.name()] = var.value();
  }
  command.env["MESOS_TASK_ID"] = task.task_id().value();
  command.env["MESOS_SANDBOX"] = config_.sandbox;
  command.env["MESOS_DIRECTORY"] = config_.sandbox;
  command.env["MESOS_FRAMEWORK_ID"] = config_.framework_id.value();
  command.env["MESOS_EXECUTOR_ID"] = config_.executor_id.value();
  command.cwd = config_.sandbox;
  absl::StatusOr<pid_t> pid = process_.Start(command, [this](int status) {
    loop_->Post([this, status] { OnTaskExited(status); });
  });
  if (!pid.ok()) {
    LOG(ERROR) << "Failed to launch the command: " << pid.status();
    SendUpdate(
        task.task_id(), mesos::v1::TASK_FAILED,
        absl::StrCat("Failed to launch command: ", pid.status().message()));
    return;
  }
  running_ = true;
  LOG(INFO) << "Forked command at pid " << *pid;
  SendUpdate(task.task_id(), mesos::v1::TASK_RUNNING);
}

void CommandExecutor::Kill(const mesos::v1::TaskID& task,
                           const std::optional<mesos::v1::KillPolicy>& policy) {
  if (!task_ || task_->task_id().value() != task.value()) {
    LOG(WARNING) << "Ignoring kill of unknown task '" << task.value() << "'";
    return;
  }
  absl::Duration grace = kDefaultKillGrace;
  if (policy && policy->has_grace_period()) {
    grace = GraceOf(*policy);
  } else if (task_->kill_policy().has_grace_period()) {
    grace = GraceOf(task_->kill_policy());
  }
  KillWithGrace(grace);
}

void CommandExecutor::KillWithGrace(absl::Duration grace) {
  if (!running_) return;
  absl::Time deadline = loop_->Now() + grace;
  if (killed_) {
    // A second kill may only shorten the remaining grace.
    if (deadline < escalation_at_) {
      loop_->Cancel(escalation_timer_);
      escalation_at_ = deadline;
      escalation_timer_ = loop_->PostAfter(grace, [this] { Escalate(); });
    }
    return;
  }
  killed_ = true;
  for (const auto& c : framework_info_.capabilities()) {
    if (c.type() == mesos::v1::FrameworkInfo::Capability::TASK_KILLING_STATE) {
      SendUpdate(task_->task_id(), mesos::v1::TASK_KILLING);
    }
  }
  LOG(INFO) << "Sending SIGTERM to the process group of pid " << process_.pid()
            << "; SIGKILL in " << FormatMesosDuration(grace);
  process_.Signal(SIGTERM);
  escalation_at_ = deadline;
  escalation_timer_ = loop_->PostAfter(grace, [this] { Escalate(); });
}

void CommandExecutor::Escalate() {
  escalation_timer_ = 0;
  if (!running_) return;
  LOG(INFO) << "Process " << process_.pid()
            << " did not terminate in time; sending SIGKILL to its group";
  process_.Signal(SIGKILL);
}

void CommandExecutor::Shutdown() {
  shutting_down_ = true;
  if (running_) {
    // Leave time to send TASK_KILLED before the agent's own kill.
    KillWithGrace(std::max(absl::ZeroDuration(),
                           config_.shutdown_grace_period - absl::Seconds(2)));
  } else if (!terminal_uuid_) {
    Finish(0);
  }
}

void CommandExecutor::OnSignal(int signal) {
  LOG(INFO) << "Received " << strsignal(signal) << "; shutting down";
  Shutdown();
}

void CommandExecutor::OnTaskExited(int wait_status) {
  running_ = false;
  if (escalation_timer_) loop_->Cancel(escalation_timer_);
  escalation_timer_ = 0;
  process_.Signal(SIGKILL);  // Whatever the command left in its group.
  if (abandoning_) return Finish(1);
  mesos::v1::TaskState state;
  if (killed_) {
    state = mesos::v1::TASK_KILLED;
  } else if (wait_status != -1 && WIFEXITED(wait_status) &&
             WEXITSTATUS(wait_status) == 0) {
    state = mesos::v1::TASK_FINISHED;
  } else {
    state = mesos::v1::TASK_FAILED;
  }
  std::string message = "Command " + DescribeWaitStatus(wait_status);
  LOG(INFO) << message << " (pid: " << process_.pid() << ")";
  SendUpdate(task_->task_id(), state, message);
  loop_->PostAfter(kTerminalAckWait, [this] { OnTerminalAckWait(); });
}

void CommandExecutor::OnTerminalAckWait() {
  if (finished_) return;
  if (!subscribed_) {
    // The agent is away: the update waits for it (or for the recovery
    // timeout), it must not be lost by exiting now.
    loop_->PostAfter(kTerminalAckWait, [this] { OnTerminalAckWait(); });
    return;
  }
  LOG(WARNING) << "The terminal update was not acknowledged within "
               << FormatMesosDuration(kTerminalAckWait) << "; exiting";
  Finish(0);
}

void CommandExecutor::SendUpdate(const mesos::v1::TaskID& task,
                                 mesos::v1::TaskState state,
                                 const std::string& message) {
  Call::Update update;
  mesos::v1::TaskStatus* status = update.mutable_status();
  *status->mutable_task_id() = task;
  status->set_state(state);
  if (!message.empty()) status->set_message(message);
  status->set_source(mesos::v1::TaskStatus::SOURCE_EXECUTOR);
  *status->mutable_executor_id() = config_.executor_id;
  status->set_timestamp(
      absl::ToDoubleSeconds(loop_->Now() - absl::UnixEpoch()));
  status->set_uuid(RandomUuidBytes());
  if (IsTerminalState(state) && task_ &&
      task.value() == task_->task_id().value()) {
    terminal_uuid_ = status->uuid();
  }
  LOG(INFO) << "Sending " << StateName(state) << " ("
            << UuidBytesToString(status->uuid()) << ") for task '"
            << task.value() << "'";
  unsent_.push_back(status->uuid());
  unacknowledged_.push_back(std::move(update));
  SendNextUpdate();
}

void CommandExecutor::SendNextUpdate() {
  while (!call_in_flight_ && subscribed_ && !unsent_.empty()) {
    const std::string uuid = unsent_.front();
    auto it = std::find_if(
        unacknowledged_.begin(), unacknowledged_.end(),
        [&](const Call::Update& u) { return u.status().uuid() == uuid; });
    if (it == unacknowledged_.end()) {
      unsent_.pop_front();  // Acknowledged meanwhile.
      continue;
    }
    Call call = NewCall(Call::UPDATE);
    *call.mutable_update() = *it;
    call_in_flight_ = true;
    connection_->Send(call, [this, uuid](grpc::Status status) {
      loop_->Post([this, uuid, status] { OnUpdateSent(uuid, status); });
    });
  }
}

void CommandExecutor::OnUpdateSent(const std::string& uuid,
                                   const grpc::Status& status) {
  call_in_flight_ = false;
  bool transient = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                   status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  if (!status.ok() && transient) {
    LOG(WARNING) << "Failed to send update " << UuidBytesToString(uuid) << ": "
                 << status.error_message() << "; retrying";
    loop_->PostAfter(kUpdateRetryInterval, [this] { SendNextUpdate(); });
    return;
  }
  if (!unsent_.empty() && unsent_.front() == uuid) unsent_.pop_front();
  if (!status.ok()) {
    // The agent refused it for good; keeping it would only repeat that.
    LOG(ERROR) << "The agent rejected update " << UuidBytesToString(uuid)
               << ": " << status.error_message();
    unacknowledged_.erase(
        std::remove_if(
            unacknowledged_.begin(), unacknowledged_.end(),
            [&](const Call::Update& u) { return u.status().uuid() == uuid; }),
        unacknowledged_.end());
  }
  SendNextUpdate();
}

void CommandExecutor::OnAcknowledged(const Event::Acknowledged& ack) {
  auto it = std::find_if(
      unacknowledged_.begin(), unacknowledged_.end(),
      [&](const Call::Update& u) { return u.status().uuid() == ack.uuid(); });
  if (it == unacknowledged_.end()) {
    LOG(WARNING) << "Ignoring acknowledgement of unknown update "
                 << UuidBytesToString(ack.uuid());
    return;
  }
  VLOG(1) << "Update " << UuidBytesToString(ack.uuid()) << " acknowledged";
  unacknowledged_.erase(it);
  any_update_acknowledged_ = true;
  if (terminal_uuid_ && *terminal_uuid_ == ack.uuid()) {
    LOG(INFO) << "The terminal update was acknowledged; exiting";
    Finish(0);
  }
}

void CommandExecutor::Finish(int exit_code) {
  if (finished_) return;
  finished_ = true;
  on_finished_(exit_code);
}

}  // namespace agora
