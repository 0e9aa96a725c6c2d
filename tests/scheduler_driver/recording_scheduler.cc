#include "scheduler_driver/recording_scheduler.h"

#include <algorithm>

namespace agora::testing {

RecordingScheduler::Entry::Entry(RecordingScheduler* s, const std::string& name)
    : s_(s), name_(name) {
  std::lock_guard<std::mutex> lock(s_->mu_);
  if (s_->inside_) s_->violated_ = true;
  s_->inside_ = true;
  s_->threads_.insert(std::this_thread::get_id());
}

RecordingScheduler::Entry::~Entry() {
  std::lock_guard<std::mutex> lock(s_->mu_);
  s_->inside_ = false;
  // Logged on the way out, so a test that saw the entry knows the callback
  // has returned.
  s_->log_.push_back(name_);
  s_->cv_.notify_all();
}

std::vector<std::string> RecordingScheduler::log() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_;
}

size_t RecordingScheduler::Count(const std::string& callback) const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::count(log_.begin(), log_.end(), callback);
}

bool RecordingScheduler::WaitFor(const std::string& callback, size_t n,
                                 absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                        return static_cast<size_t>(std::count(
                                   log_.begin(), log_.end(), callback)) >= n;
                      });
}

mesos::v1::FrameworkID RecordingScheduler::framework_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return framework_id_;
}

std::vector<mesos::v1::Offer> RecordingScheduler::offers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return offers_;
}

std::vector<mesos::v1::TaskStatus> RecordingScheduler::updates() const {
  std::lock_guard<std::mutex> lock(mu_);
  return updates_;
}

std::string RecordingScheduler::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

bool RecordingScheduler::serial_on_one_thread() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !violated_ && threads_.size() <= 1;
}

void RecordingScheduler::registered(SchedulerDriver*,
                                    const mesos::v1::FrameworkID& id,
                                    const mesos::v1::MasterInfo&) {
  Entry entry(this, "registered");
  std::lock_guard<std::mutex> lock(mu_);
  framework_id_ = id;
}

void RecordingScheduler::reregistered(SchedulerDriver*,
                                      const mesos::v1::MasterInfo&) {
  Entry entry(this, "reregistered");
}

void RecordingScheduler::disconnected(SchedulerDriver*) {
  Entry entry(this, "disconnected");
}

void RecordingScheduler::resourceOffers(
    SchedulerDriver*, const std::vector<mesos::v1::Offer>& offers) {
  Entry entry(this, "resourceOffers");
  std::lock_guard<std::mutex> lock(mu_);
  offers_.insert(offers_.end(), offers.begin(), offers.end());
}

void RecordingScheduler::offerRescinded(SchedulerDriver*,
                                        const mesos::v1::OfferID&) {
  Entry entry(this, "offerRescinded");
}

void RecordingScheduler::statusUpdate(SchedulerDriver* driver,
                                      const mesos::v1::TaskStatus& status) {
  Entry entry(this, "statusUpdate");
  {
    std::lock_guard<std::mutex> lock(mu_);
    updates_.push_back(status);
  }
  if (on_status_update) on_status_update(driver, status);
}

void RecordingScheduler::frameworkMessage(SchedulerDriver*,
                                          const mesos::v1::ExecutorID&,
                                          const mesos::v1::AgentID&,
                                          const std::string&) {
  Entry entry(this, "frameworkMessage");
}

void RecordingScheduler::agentLost(SchedulerDriver*,
                                   const mesos::v1::AgentID&) {
  Entry entry(this, "agentLost");
}

void RecordingScheduler::executorLost(SchedulerDriver*,
                                      const mesos::v1::ExecutorID&,
                                      const mesos::v1::AgentID&, int) {
  Entry entry(this, "executorLost");
}

void RecordingScheduler::error(SchedulerDriver*, const std::string& message) {
  Entry entry(this, "error");
  std::lock_guard<std::mutex> lock(mu_);
  last_error_ = message;
}

}  // namespace agora::testing
