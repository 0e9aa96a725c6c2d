// ExecuteScheduler: agora-execute's framework. It launches the tasks built
// from the flags on the offers that fit, declines every other offer, sends
// SUPPRESS once every task is launched, prints each status update as
// mesos-execute does, reconciles its unfinished tasks after a
// resubscription, and stops the driver (TEARDOWN) once every task is
// terminal. Unlike mesos-execute, which always exits 0, the exit code says
// how the tasks ended (see ExitCodeFor).
//
// Thread rule: the Scheduler callbacks run on the driver thread; the
// --kill_after timers run where `schedule_after` runs them and only call
// the (thread-safe) driver and print. The other public methods are
// thread-safe.
#ifndef AGORA_CLI_EXECUTE_SCHEDULER_H_
#define AGORA_CLI_EXECUTE_SCHEDULER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agora/scheduler.h"
#include "cli/execute_options.h"
#include "common/task_states.h"

namespace agora::cli {

inline constexpr int kExitAllFinished = 0;
inline constexpr int kExitTaskNotFinished = 1;  // Also: bad flags.
inline constexpr int kExitFrameworkError = 2;   // ERROR, refused, no master.

using ::agora::IsTerminalState;

// 0 when every task ended TASK_FINISHED, otherwise 1. `final_states` holds
// the terminal state of each task.
int ExitCodeFor(
    const std::map<std::string, mesos::v1::TaskState>& final_states);

// The lines mesos-execute prints for an update, each ending in '\n':
//   Received status update TASK_FAILED for task 'id'
//     message: '...'
//     source: SOURCE_EXECUTOR
//     reason: REASON_...
// (message, source, reason, healthy and a resource limitation as present).
std::string FormatStatusUpdate(const mesos::v1::TaskStatus& status);

class ExecuteScheduler : public Scheduler {
 public:
  // Runs `fn` once `delay` has passed, on some other thread.
  using ScheduleFn =
      std::function<void(absl::Duration delay, std::function<void()> fn)>;

  // `out` gets mesos-execute's lines, `err` errors; both must outlive this.
  ExecuteScheduler(ExecuteOptions options, std::ostream& out, std::ostream& err,
                   ScheduleFn schedule_after);

  // The exit code once decided: every task terminal, or a framework error.
  std::optional<int> exit_code() const;
  // Waits until subscribed, or until an exit code is decided; false when
  // `timeout` passes first.
  bool WaitUntilSubscribedOrDone(absl::Duration timeout);
  // For AgoraSchedulerDriver::Options::on_subscribe_failure: prints the
  // first failure and every fifth.
  void OnSubscribeFailure(const std::string& master, const absl::Status& error,
                          int consecutive_failures);
  std::string last_subscribe_error() const;

  void registered(SchedulerDriver* driver,
                  const mesos::v1::FrameworkID& framework_id,
                  const mesos::v1::MasterInfo& master_info) override;
  void reregistered(SchedulerDriver* driver,
                    const mesos::v1::MasterInfo& master_info) override;
  void disconnected(SchedulerDriver*) override {}
  void resourceOffers(SchedulerDriver* driver,
                      const std::vector<mesos::v1::Offer>& offers) override;
  void offerRescinded(SchedulerDriver*, const mesos::v1::OfferID&) override {}
  void statusUpdate(SchedulerDriver* driver,
                    const mesos::v1::TaskStatus& status) override;
  void frameworkMessage(SchedulerDriver*, const mesos::v1::ExecutorID&,
                        const mesos::v1::AgentID&,
                        const std::string&) override {}
  void agentLost(SchedulerDriver*, const mesos::v1::AgentID&) override {}
  void executorLost(SchedulerDriver*, const mesos::v1::ExecutorID&,
                    const mesos::v1::AgentID&, int) override {}
  void error(SchedulerDriver* driver, const std::string& message) override;

 private:
  void Print(std::ostream& stream, const std::string& text);
  void HandleOffer(SchedulerDriver* driver, const mesos::v1::Offer& offer);
  void ScheduleKill(SchedulerDriver* driver,
                    const mesos::v1::TaskStatus& status);
  void Finish(int code);

  const ExecuteOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  const ScheduleFn schedule_after_;
  std::mutex print_mu_;

  // Driver-thread state.
  std::string framework_id_;
  std::deque<mesos::v1::TaskInfo> pending_;
  std::map<std::string, mesos::v1::TaskState> final_states_;
  std::map<std::string, bool> kill_scheduled_;
  std::map<std::string, mesos::v1::AgentID> launched_on_;
  std::set<std::string> task_ids_;
  bool suppressed_ = false;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool subscribed_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<int> exit_code_ ABSL_GUARDED_BY(mu_);
  std::string last_subscribe_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agora::cli

#endif  // AGORA_CLI_EXECUTE_SCHEDULER_H_
