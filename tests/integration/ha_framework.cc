#include "integration/ha_framework.h"

#include "absl/strings/match.h"
#include "absl/time/clock.h"

namespace agora::testing {
namespace {

mesos::v1::TaskInfo LongTask(const mesos::v1::Offer& offer) {
  mesos::v1::TaskInfo task;
  task.set_name("long");
  task.mutable_task_id()->set_value("long-" + offer.agent_id().value());
  *task.mutable_agent_id() = offer.agent_id();
  for (const char* name : {"cpus", "mem"}) {
    mesos::v1::Resource* r = task.add_resources();
    r->set_name(name);
    r->set_type(mesos::v1::Value::SCALAR);
    r->mutable_scalar()->set_value(name[0] == 'c' ? 0.1 : 16);
  }
  task.mutable_command()->set_value("sleep 3600");
  return task;
}

}  // namespace

mesos::v1::FrameworkInfo LongTaskFramework::Info() {
  mesos::v1::FrameworkInfo info;
  info.set_name("ha-long-tasks");
  info.set_user("");
  info.set_checkpoint(true);
  info.set_failover_timeout(7 * 24 * 3600);
  return info;
}

void LongTaskFramework::registered(SchedulerDriver*,
                                   const mesos::v1::FrameworkID& framework_id,
                                   const mesos::v1::MasterInfo&) {
  absl::MutexLock lock(&mu_);
  framework_id_ = framework_id.value();
  ++registrations_;
}

void LongTaskFramework::reregistered(SchedulerDriver*,
                                     const mesos::v1::MasterInfo&) {
  absl::MutexLock lock(&mu_);
  reregistered_.push_back(absl::Now());
}

void LongTaskFramework::disconnected(SchedulerDriver*) {
  absl::MutexLock lock(&mu_);
  ++disconnections_;
}

void LongTaskFramework::resourceOffers(
    SchedulerDriver* driver, const std::vector<mesos::v1::Offer>& offers) {
  absl::Time now = absl::Now();
  mesos::v1::Filters filters;
  filters.set_refuse_seconds(absl::ToDoubleSeconds(decline_for_));
  for (const mesos::v1::Offer& offer : offers) {
    bool launch;
    {
      absl::MutexLock lock(&mu_);
      offers_.emplace_back(now, offer.id().value());
      launch = agents_with_task_.insert(offer.agent_id().value()).second;
    }
    if (launch) {
      driver->launchTasks(offer.id(), {LongTask(offer)}, filters);
    } else {
      driver->declineOffer(offer.id(), filters);
    }
  }
}

void LongTaskFramework::statusUpdate(SchedulerDriver*,
                                     const mesos::v1::TaskStatus& status) {
  absl::MutexLock lock(&mu_);
  updates_.push_back({absl::Now(), status});
  latest_[status.task_id().value()] = status;
}

void LongTaskFramework::error(SchedulerDriver*, const std::string& message) {
  absl::MutexLock lock(&mu_);
  errors_.push_back(message);
}

std::string LongTaskFramework::framework_id() const {
  absl::MutexLock lock(&mu_);
  return framework_id_;
}

int LongTaskFramework::registrations() const {
  absl::MutexLock lock(&mu_);
  return registrations_;
}

int LongTaskFramework::reregistrations() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(reregistered_.size());
}

int LongTaskFramework::disconnections() const {
  absl::MutexLock lock(&mu_);
  return disconnections_;
}

std::vector<std::string> LongTaskFramework::errors() const {
  absl::MutexLock lock(&mu_);
  return errors_;
}

std::optional<absl::Time> LongTaskFramework::ReregisteredSince(
    absl::Time since) const {
  absl::MutexLock lock(&mu_);
  for (absl::Time t : reregistered_) {
    if (t >= since) return t;
  }
  return std::nullopt;
}

int LongTaskFramework::Running() const {
  absl::MutexLock lock(&mu_);
  int running = 0;
  for (const auto& [id, status] : latest_) {
    running += status.state() == mesos::v1::TASK_RUNNING ? 1 : 0;
  }
  return running;
}

std::vector<mesos::v1::TaskStatus> LongTaskFramework::LatestStatuses() const {
  absl::MutexLock lock(&mu_);
  std::vector<mesos::v1::TaskStatus> out;
  for (const auto& [id, status] : latest_) out.push_back(status);
  return out;
}

bool LongTaskFramework::Saw(
    absl::Time since,
    const std::function<bool(const mesos::v1::TaskStatus&)>& pred) const {
  absl::MutexLock lock(&mu_);
  for (const Received& r : updates_) {
    if (r.time >= since && pred(r.status)) return true;
  }
  return false;
}

int LongTaskFramework::OffersFrom(const std::string& master_id,
                                  absl::Time since) const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [time, id] : offers_) {
    if (time >= since && absl::StartsWith(id, master_id + "-O")) ++n;
  }
  return n;
}

std::optional<absl::Time> LongTaskFramework::FirstOfferFrom(
    const std::string& master_id, absl::Time since) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [time, id] : offers_) {
    if (time >= since && absl::StartsWith(id, master_id + "-O")) return time;
  }
  return std::nullopt;
}

}  // namespace agora::testing
