// AgoraSchedulerDriver: the public methods build a Call and hand it to the
// process, which owns the status machine and the driver thread.
#include <utility>

#include "agora/scheduler.h"
#include "glog/logging.h"
#include "scheduler_driver/calls.h"
#include "scheduler_driver/driver_process.h"
#include "zookeeper/leader_detector.h"

namespace agora {

namespace sd = scheduler_driver;

absl::Status ValidateMasterAddress(const std::string& master) {
  return CreateLeaderDetector(master).status();
}

AgoraSchedulerDriver::AgoraSchedulerDriver(
    Scheduler* scheduler, const mesos::v1::FrameworkInfo& framework,
    const std::string& master, bool implicit_acknowledgements)
    : AgoraSchedulerDriver(scheduler, framework, master,
                           implicit_acknowledgements, Options()) {}

AgoraSchedulerDriver::AgoraSchedulerDriver(
    Scheduler* scheduler, const mesos::v1::FrameworkInfo& framework,
    const std::string& master, bool implicit_acknowledgements, Options options)
    : process_(std::make_unique<Process>(this, scheduler, framework, master,
                                         implicit_acknowledgements,
                                         std::move(options))) {}

AgoraSchedulerDriver::~AgoraSchedulerDriver() = default;

mesos::v1::Status AgoraSchedulerDriver::start() { return process_->Start(); }

mesos::v1::Status AgoraSchedulerDriver::stop(bool failover) {
  return process_->Stop(failover);
}

mesos::v1::Status AgoraSchedulerDriver::abort() { return process_->Abort(); }

mesos::v1::Status AgoraSchedulerDriver::join() { return process_->Join(); }

mesos::v1::Status AgoraSchedulerDriver::run() {
  mesos::v1::Status status = start();
  return status != mesos::v1::DRIVER_RUNNING ? status : join();
}

mesos::v1::Status AgoraSchedulerDriver::launchTasks(
    const std::vector<mesos::v1::OfferID>& offer_ids,
    const std::vector<mesos::v1::TaskInfo>& tasks,
    const mesos::v1::Filters& filters) {
  return process_->Send(sd::LaunchCall(offer_ids, tasks, filters));
}

mesos::v1::Status AgoraSchedulerDriver::launchTasks(
    const mesos::v1::OfferID& offer_id,
    const std::vector<mesos::v1::TaskInfo>& tasks,
    const mesos::v1::Filters& filters) {
  return launchTasks(std::vector<mesos::v1::OfferID>{offer_id}, tasks, filters);
}

mesos::v1::Status AgoraSchedulerDriver::acceptOffers(
    const std::vector<mesos::v1::OfferID>& offer_ids,
    const std::vector<mesos::v1::Offer::Operation>& operations,
    const mesos::v1::Filters& filters) {
  return process_->Send(sd::AcceptCall(offer_ids, operations, filters));
}

mesos::v1::Status AgoraSchedulerDriver::declineOffer(
    const mesos::v1::OfferID& offer_id, const mesos::v1::Filters& filters) {
  return process_->Send(sd::DeclineCall({offer_id}, filters));
}

mesos::v1::Status AgoraSchedulerDriver::reviveOffers() {
  return reviveOffers(std::vector<std::string>{});
}

mesos::v1::Status AgoraSchedulerDriver::reviveOffers(
    const std::vector<std::string>& roles) {
  return process_->Send(sd::ReviveCall(roles));
}

mesos::v1::Status AgoraSchedulerDriver::suppressOffers() {
  return suppressOffers(std::vector<std::string>{});
}

mesos::v1::Status AgoraSchedulerDriver::suppressOffers(
    const std::vector<std::string>& roles) {
  return process_->Send(sd::SuppressCall(roles));
}

mesos::v1::Status AgoraSchedulerDriver::killTask(
    const mesos::v1::TaskID& task_id) {
  return process_->Send(sd::KillCall(task_id));
}

mesos::v1::Status AgoraSchedulerDriver::acknowledgeStatusUpdate(
    const mesos::v1::TaskStatus& status) {
  if (process_->implicit_acknowledgements()) {
    LOG(ERROR) << "acknowledgeStatusUpdate() ignored: this driver "
                  "acknowledges implicitly (construct it with "
                  "implicit_acknowledgements = false)";
    return process_->status();
  }
  absl::StatusOr<mesos::v1::scheduler::Call> call = sd::AcknowledgeCall(status);
  if (!call.ok()) {
    LOG(WARNING) << "acknowledgeStatusUpdate() ignored: "
                 << call.status().message();
    return process_->status();
  }
  return process_->Send(*std::move(call));
}

mesos::v1::Status AgoraSchedulerDriver::reconcileTasks(
    const std::vector<mesos::v1::TaskStatus>& statuses) {
  return process_->Send(sd::ReconcileCall(statuses));
}

mesos::v1::Status AgoraSchedulerDriver::sendFrameworkMessage(
    const mesos::v1::ExecutorID& executor_id,
    const mesos::v1::AgentID& agent_id, const std::string& data) {
  return process_->Send(sd::MessageCall(executor_id, agent_id, data));
}

mesos::v1::Status AgoraSchedulerDriver::updateFramework(
    const mesos::v1::FrameworkInfo& framework,
    const std::vector<std::string>& suppressed_roles) {
  return process_->Send(sd::UpdateFrameworkCall(framework, suppressed_roles));
}

}  // namespace agora
