// RecordingScheduler: a Scheduler that records every callback, checks that
// callbacks never overlap and all run on one thread, and lets a test wait
// for what it expects. For the driver's tests.
#ifndef AGORA_TESTS_SCHEDULER_DRIVER_RECORDING_SCHEDULER_H_
#define AGORA_TESTS_SCHEDULER_DRIVER_RECORDING_SCHEDULER_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "agora/scheduler.h"

namespace agora::testing {

class RecordingScheduler : public Scheduler {
 public:
  // Runs inside statusUpdate(), on the driver thread, before it returns.
  std::function<void(SchedulerDriver*, const mesos::v1::TaskStatus&)>
      on_status_update;

  // Names of the callbacks in order: "registered", "reregistered", ...
  std::vector<std::string> log() const;
  size_t Count(const std::string& callback) const;
  // Waits until `callback` has run `n` times; false on timeout.
  bool WaitFor(const std::string& callback, size_t n = 1,
               absl::Duration timeout = absl::Seconds(10));

  mesos::v1::FrameworkID framework_id() const;
  std::vector<mesos::v1::Offer> offers() const;
  std::vector<mesos::v1::TaskStatus> updates() const;
  std::string last_error() const;
  // False if two callbacks ever overlapped or ran on different threads.
  bool serial_on_one_thread() const;

  void registered(SchedulerDriver*, const mesos::v1::FrameworkID& id,
                  const mesos::v1::MasterInfo&) override;
  void reregistered(SchedulerDriver*, const mesos::v1::MasterInfo&) override;
  void disconnected(SchedulerDriver*) override;
  void resourceOffers(SchedulerDriver*,
                      const std::vector<mesos::v1::Offer>& offers) override;
  void offerRescinded(SchedulerDriver*, const mesos::v1::OfferID&) override;
  void statusUpdate(SchedulerDriver* driver,
                    const mesos::v1::TaskStatus& status) override;
  void frameworkMessage(SchedulerDriver*, const mesos::v1::ExecutorID&,
                        const mesos::v1::AgentID&, const std::string&) override;
  void agentLost(SchedulerDriver*, const mesos::v1::AgentID&) override;
  void executorLost(SchedulerDriver*, const mesos::v1::ExecutorID&,
                    const mesos::v1::AgentID&, int) override;
  void error(SchedulerDriver*, const std::string& message) override;

 private:
  // Marks a callback's start; the returned guard marks its end.
  class Entry {
   public:
    Entry(RecordingScheduler* s, const std::string& name);
    ~Entry();

   private:
    RecordingScheduler* s_;
    std::string name_;
  };

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(mu_);
  bool inside_ ABSL_GUARDED_BY(mu_) = false;
  bool violated_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
  mesos::v1::FrameworkID framework_id_ ABSL_GUARDED_BY(mu_);
  std::vector<mesos::v1::Offer> offers_ ABSL_GUARDED_BY(mu_);
  std::vector<mesos::v1::TaskStatus> updates_ ABSL_GUARDED_BY(mu_);
  std::string last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_SCHEDULER_DRIVER_RECORDING_SCHEDULER_H_
