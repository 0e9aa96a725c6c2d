// LongTaskFramework: the framework of the failover scenarios and of
// bench/ha_failover.sh. It checkpoints, has a long failover timeout, runs
// one long `sleep` task on each agent (launched from the agent's first
// offer) and declines every other offer for `decline_for` (one second by
// default, so that offers keep flowing). It records what it saw with the
// time it saw it.
//
// Thread rule: the callbacks run on the driver's thread; every accessor is
// thread-safe (one mutex).
#ifndef AGORA_TESTS_INTEGRATION_HA_FRAMEWORK_H_
#define AGORA_TESTS_INTEGRATION_HA_FRAMEWORK_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agora/scheduler.h"

namespace agora::testing {

class LongTaskFramework : public Scheduler {
 public:
  // Name "ha-long-tasks", current user, checkpoint, failover timeout of a
  // week.
  static mesos::v1::FrameworkInfo Info();

  explicit LongTaskFramework(absl::Duration decline_for = absl::Seconds(1))
      : decline_for_(decline_for) {}

  void registered(SchedulerDriver* driver,
                  const mesos::v1::FrameworkID& framework_id,
                  const mesos::v1::MasterInfo& master_info) override;
  void reregistered(SchedulerDriver* driver,
                    const mesos::v1::MasterInfo& master_info) override;
  void disconnected(SchedulerDriver* driver) override;
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

  std::string framework_id() const;
  int registrations() const;
  int reregistrations() const;
  int disconnections() const;
  std::vector<std::string> errors() const;
  // The first reregistration at or after `since`.
  std::optional<absl::Time> ReregisteredSince(absl::Time since) const;
  // Tasks whose latest update is TASK_RUNNING.
  int Running() const;
  // The latest update of every task.
  std::vector<mesos::v1::TaskStatus> LatestStatuses() const;
  // Whether an update received at or after `since` matches `pred`.
  bool Saw(absl::Time since,
           const std::function<bool(const mesos::v1::TaskStatus&)>& pred) const;
  // Offers received at or after `since` from the master `master_id` (offer
  // ids are "<master id>-O<n>"), and when the first of them came.
  int OffersFrom(const std::string& master_id, absl::Time since) const;
  std::optional<absl::Time> FirstOfferFrom(const std::string& master_id,
                                           absl::Time since) const;

 private:
  struct Received {
    absl::Time time;
    mesos::v1::TaskStatus status;
  };

  const absl::Duration decline_for_;
  mutable absl::Mutex mu_;
  std::string framework_id_ ABSL_GUARDED_BY(mu_);
  int registrations_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<absl::Time> reregistered_ ABSL_GUARDED_BY(mu_);
  int disconnections_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> errors_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> agents_with_task_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<absl::Time, std::string>> offers_ ABSL_GUARDED_BY(mu_);
  std::vector<Received> updates_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, mesos::v1::TaskStatus> latest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_INTEGRATION_HA_FRAMEWORK_H_
