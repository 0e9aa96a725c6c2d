#include "cli/execute_scheduler.h"

#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cli/offer_matching.h"
#include "common/resources_proto.h"
#include "glog/logging.h"

namespace agora::cli {

int ExitCodeFor(
    const std::map<std::string, mesos::v1::TaskState>& final_states) {
  for (const auto& [task, state] : final_states) {
    if (state != mesos::v1::TASK_FINISHED) return kExitTaskNotFinished;
  }
  return final_states.empty() ? kExitTaskNotFinished : kExitAllFinished;
}

std::string FormatStatusUpdate(const mesos::v1::TaskStatus& status) {
  std::ostringstream out;
  out << "Received status update " << mesos::v1::TaskState_Name(status.state())
      << " for task '" << status.task_id().value() << "'\n";
  if (status.has_message()) out << "  message: '" << status.message() << "'\n";
  if (status.has_source()) {
    out << "  source: " << mesos::v1::TaskStatus::Source_Name(status.source())
        << "\n";
  }
  if (status.has_reason()) {
    out << "  reason: " << mesos::v1::TaskStatus::Reason_Name(status.reason())
        << "\n";
  }
  // mesos-execute prints the flag as a number.
  if (status.has_healthy()) out << "  healthy?: " << status.healthy() << "\n";
  if (status.has_limitation() && !status.limitation().resources().empty()) {
    absl::StatusOr<Resources> limit =
        FromProto(status.limitation().resources());
    out << "  resource limit violation: "
        << (limit.ok() ? limit->ToString() : std::string("(malformed)"))
        << "\n";
  }
  return out.str();
}

ExecuteScheduler::ExecuteScheduler(ExecuteOptions options, std::ostream& out,
                                   std::ostream& err, ScheduleFn schedule_after)
    : options_(std::move(options)),
      out_(out),
      err_(err),
      schedule_after_(std::move(schedule_after)) {
  for (mesos::v1::TaskInfo& task : BuildTasks(options_)) {
    task_ids_.insert(task.task_id().value());
    pending_.push_back(std::move(task));
  }
}

std::optional<int> ExecuteScheduler::exit_code() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exit_code_;
}

bool ExecuteScheduler::WaitUntilSubscribedOrDone(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                        return subscribed_ || exit_code_.has_value();
                      });
}

void ExecuteScheduler::OnSubscribeFailure(const std::string& master,
                                          const absl::Status& error,
                                          int consecutive_failures) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_subscribe_error_ = error.ToString();
  }
  if (consecutive_failures == 1 || consecutive_failures % 5 == 0) {
    Print(err_, absl::StrCat("failed to reach master at ", master, ": ",
                             error.ToString(), "; retrying\n"));
  }
}

std::string ExecuteScheduler::last_subscribe_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_subscribe_error_;
}

void ExecuteScheduler::registered(SchedulerDriver*,
                                  const mesos::v1::FrameworkID& framework_id,
                                  const mesos::v1::MasterInfo&) {
  framework_id_ = framework_id.value();
  Print(out_, "Subscribed with ID " + framework_id_ + "\n");
  std::lock_guard<std::mutex> lock(mu_);
  subscribed_ = true;
  cv_.notify_all();
}

void ExecuteScheduler::reregistered(SchedulerDriver* driver,
                                    const mesos::v1::MasterInfo&) {
  Print(out_, "Subscribed with ID " + framework_id_ + "\n");
  // A launch may have been lost with the connection; ask the master where
  // the unfinished tasks stand, so none is waited for forever (the answer
  // for an unknown task is a terminal TASK_LOST/TASK_GONE).
  std::vector<mesos::v1::TaskStatus> unfinished;
  for (const auto& [id, agent] : launched_on_) {
    if (final_states_.count(id) > 0) continue;
    mesos::v1::TaskStatus& status = unfinished.emplace_back();
    status.mutable_task_id()->set_value(id);
    status.set_state(mesos::v1::TASK_STAGING);
    *status.mutable_agent_id() = agent;
  }
  if (!unfinished.empty()) driver->reconcileTasks(unfinished);
}

void ExecuteScheduler::resourceOffers(
    SchedulerDriver* driver, const std::vector<mesos::v1::Offer>& offers) {
  for (const mesos::v1::Offer& offer : offers) HandleOffer(driver, offer);
  if (pending_.empty() && !suppressed_) {
    // Every task is launched: no more offers, please.
    driver->suppressOffers();
    suppressed_ = true;
  }
}

void ExecuteScheduler::HandleOffer(SchedulerDriver* driver,
                                   const mesos::v1::Offer& offer) {
  absl::StatusOr<std::vector<mesos::v1::TaskInfo>> launch =
      MatchOffer(offer, options_.resources, options_.role, &pending_);
  if (!launch.ok()) {
    LOG(WARNING) << "declining offer " << offer.id().value() << ": "
                 << launch.status().message();
  }
  if (!launch.ok() || launch->empty()) {
    driver->declineOffer(offer.id());
    return;
  }
  driver->launchTasks({offer.id()}, *launch);
  for (const mesos::v1::TaskInfo& task : *launch) {
    launched_on_[task.task_id().value()] = offer.agent_id();
    Print(out_, absl::StrCat("Submitted task '", task.task_id().value(),
                             "' to agent '", offer.agent_id().value(), "'\n"));
  }
}

void ExecuteScheduler::statusUpdate(SchedulerDriver* driver,
                                    const mesos::v1::TaskStatus& status) {
  Print(out_, FormatStatusUpdate(status));
  const std::string& id = status.task_id().value();
  if (status.state() == mesos::v1::TASK_RUNNING && options_.kill_after) {
    ScheduleKill(driver, status);
  }
  // The first terminal update of each of this run's tasks counts.
  if (!IsTerminalState(status.state()) || task_ids_.count(id) == 0 ||
      final_states_.count(id) > 0) {
    return;
  }
  final_states_[id] = status.state();
  if (final_states_.size() < task_ids_.size()) return;
  Finish(ExitCodeFor(final_states_));
  driver->stop();
}

void ExecuteScheduler::ScheduleKill(SchedulerDriver* driver,
                                    const mesos::v1::TaskStatus& status) {
  if (kill_scheduled_[status.task_id().value()]) return;
  kill_scheduled_[status.task_id().value()] = true;
  schedule_after_(*options_.kill_after, [this, driver, status] {
    Print(out_, absl::StrCat("Asked to kill task '", status.task_id().value(),
                             "' on agent '", status.agent_id().value(), "'\n"));
    driver->killTask(status.task_id());
  });
}

void ExecuteScheduler::error(SchedulerDriver*, const std::string& message) {
  Print(err_, "Received an ERROR event: " + message + "\n");
  Finish(kExitFrameworkError);
}

void ExecuteScheduler::Finish(int code) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!exit_code_) exit_code_ = code;
  cv_.notify_all();
}

void ExecuteScheduler::Print(std::ostream& stream, const std::string& text) {
  std::lock_guard<std::mutex> lock(print_mu_);
  stream << text << std::flush;
}

}  // namespace agora::cli
