// The C++ scheduler driver for Agora frameworks, in the shape C++ framework
// authors know from Mesos's MesosSchedulerDriver, over the v1 types:
//
//   class MyScheduler : public agora::Scheduler { ... callbacks ... };
//   MyScheduler scheduler;
//   agora::AgoraSchedulerDriver driver(&scheduler, framework_info,
//                                      "127.0.0.1:5050");
//   mesos::v1::Status status = driver.run();  // start() + join()
//
// The driver finds the leading master through a LeaderDetector, subscribes
// over gRPC (agora.v1.Scheduler/Subscribe), keeps the subscription alive
// across master restarts and network loss (resubscribing with its framework
// id), and sends every other call as a unary agora.v1.Scheduler/Call carrying
// the stream id. Calls are sent one at a time, in the order they were made,
// as the Mesos HTTP library pipelines them on one connection; a call made
// while not subscribed is dropped, as in Mesos. A standby master's pointer
// to the leader (`agora-leader` metadata) is followed, and a stream silent
// for several heartbeat intervals counts as lost.
//
// Thread rule: every Scheduler callback runs on the driver's own thread, one
// at a time, never concurrently. Driver methods are thread-safe and may be
// called from any thread, including from inside a callback; they return at
// once (the call is sent asynchronously) with the driver's status. join() and
// the destructor must not be called from a callback.
#ifndef AGORA_SCHEDULER_H_
#define AGORA_SCHEDULER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

class SchedulerDriver;

// The framework's side: what happened. Every callback runs on the driver
// thread; a callback that blocks delays every later event.
class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // The first successful subscription of this driver, with the framework's
  // id (newly assigned, or the one given in FrameworkInfo on failover).
  virtual void registered(SchedulerDriver* driver,
                          const mesos::v1::FrameworkID& framework_id,
                          const mesos::v1::MasterInfo& master_info) = 0;

  // Every later subscription, after a disconnection or a new leader.
  virtual void reregistered(SchedulerDriver* driver,
                            const mesos::v1::MasterInfo& master_info) = 0;

  // The subscription was lost; the driver resubscribes by itself. Offers
  // held are void; calls made until reregistered() are dropped.
  virtual void disconnected(SchedulerDriver* driver) = 0;

  virtual void resourceOffers(SchedulerDriver* driver,
                              const std::vector<mesos::v1::Offer>& offers) = 0;

  virtual void offerRescinded(SchedulerDriver* driver,
                              const mesos::v1::OfferID& offer_id) = 0;

  // With implicit acknowledgements (the default) the driver acknowledges an
  // update that carries a uuid once this callback returns.
  virtual void statusUpdate(SchedulerDriver* driver,
                            const mesos::v1::TaskStatus& status) = 0;

  virtual void frameworkMessage(SchedulerDriver* driver,
                                const mesos::v1::ExecutorID& executor_id,
                                const mesos::v1::AgentID& agent_id,
                                const std::string& data) = 0;

  virtual void agentLost(SchedulerDriver* driver,
                         const mesos::v1::AgentID& agent_id) = 0;

  virtual void executorLost(SchedulerDriver* driver,
                            const mesos::v1::ExecutorID& executor_id,
                            const mesos::v1::AgentID& agent_id, int status) = 0;

  // An unrecoverable error: an ERROR event from the master, a subscription
  // the master refuses (INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND,
  // UNAUTHENTICATED, UNIMPLEMENTED), or a bad master address. The driver is
  // already aborted when this runs (join() returns DRIVER_ABORTED). For a
  // bad master address it runs inside start(), on the caller's thread.
  virtual void error(SchedulerDriver* driver, const std::string& message) = 0;
};

// The framework's handle on the cluster. Every method returns the driver's
// status: DRIVER_RUNNING when the request was taken; otherwise the status
// that prevented it (DRIVER_NOT_STARTED, DRIVER_STOPPED, DRIVER_ABORTED).
class SchedulerDriver {
 public:
  virtual ~SchedulerDriver() = default;

  virtual mesos::v1::Status start() = 0;
  // Without failover, tears the framework down (TEARDOWN: its tasks are
  // killed); with failover, only disconnects, so another scheduler instance
  // can resubscribe with the same framework id within failover_timeout.
  virtual mesos::v1::Status stop(bool failover = false) = 0;
  // Stops delivering callbacks without disconnecting; stop() may follow.
  virtual mesos::v1::Status abort() = 0;
  // Blocks until the driver is stopped or aborted.
  virtual mesos::v1::Status join() = 0;
  virtual mesos::v1::Status run() = 0;

  virtual mesos::v1::Status launchTasks(
      const std::vector<mesos::v1::OfferID>& offer_ids,
      const std::vector<mesos::v1::TaskInfo>& tasks,
      const mesos::v1::Filters& filters = mesos::v1::Filters()) = 0;
  virtual mesos::v1::Status launchTasks(
      const mesos::v1::OfferID& offer_id,
      const std::vector<mesos::v1::TaskInfo>& tasks,
      const mesos::v1::Filters& filters = mesos::v1::Filters()) = 0;
  virtual mesos::v1::Status acceptOffers(
      const std::vector<mesos::v1::OfferID>& offer_ids,
      const std::vector<mesos::v1::Offer::Operation>& operations,
      const mesos::v1::Filters& filters = mesos::v1::Filters()) = 0;
  virtual mesos::v1::Status declineOffer(
      const mesos::v1::OfferID& offer_id,
      const mesos::v1::Filters& filters = mesos::v1::Filters()) = 0;
  // No roles means every role of the framework.
  virtual mesos::v1::Status reviveOffers() = 0;
  virtual mesos::v1::Status reviveOffers(
      const std::vector<std::string>& roles) = 0;
  virtual mesos::v1::Status suppressOffers() = 0;
  virtual mesos::v1::Status suppressOffers(
      const std::vector<std::string>& roles) = 0;
  virtual mesos::v1::Status killTask(const mesos::v1::TaskID& task_id) = 0;
  // Only with implicit acknowledgements off. Updates without a uuid
  // (generated by the master) need and get no acknowledgement.
  virtual mesos::v1::Status acknowledgeStatusUpdate(
      const mesos::v1::TaskStatus& status) = 0;
  // Each status names a task (and its agent, when known); none means every
  // task the master knows for this framework (implicit reconciliation).
  virtual mesos::v1::Status reconcileTasks(
      const std::vector<mesos::v1::TaskStatus>& statuses) = 0;
  virtual mesos::v1::Status sendFrameworkMessage(
      const mesos::v1::ExecutorID& executor_id,
      const mesos::v1::AgentID& agent_id, const std::string& data) = 0;
  // UPDATE_FRAMEWORK: new roles, name, failover timeout, capabilities and
  // offer filters (user, principal and checkpoint cannot change), and the
  // complete set of roles to be suppressed in. The id is the framework's
  // own. Later (re)subscriptions use this FrameworkInfo.
  virtual mesos::v1::Status updateFramework(
      const mesos::v1::FrameworkInfo& framework,
      const std::vector<std::string>& suppressed_roles) = 0;
};

// Checks a master address as AgoraSchedulerDriver::start() will: "host:port".
// InvalidArgument naming the value otherwise.
absl::Status ValidateMasterAddress(const std::string& master);

class AgoraSchedulerDriver : public SchedulerDriver {
 public:
  struct Options {
    // Deadline of every unary call.
    absl::Duration call_timeout = absl::Seconds(10);
    // Until the first SUBSCRIBED, a failed SUBSCRIBE is retried this often.
    absl::Duration subscribe_retry_interval = absl::Seconds(1);
    // A SUBSCRIBE still unanswered after this long is abandoned and retried.
    absl::Duration subscribe_attempt_timeout = absl::Seconds(5);
    // After a lost subscription, retries wait a random time in
    // [0, min(initial * 2^n, max)] (Mesos's registration backoff).
    absl::Duration resubscribe_backoff_initial = absl::Seconds(1);
    absl::Duration resubscribe_backoff_max = absl::Minutes(1);
    // The subscription is considered lost after this many heartbeat
    // intervals without any event.
    int heartbeat_misses = 3;
    // Called on the driver thread (serially with the callbacks) after each
    // failed subscription attempt that will be retried, with the master's
    // address, the reason and the number of consecutive failures.
    std::function<void(const std::string& master, const absl::Status& error,
                       int consecutive_failures)>
        on_subscribe_failure;
  };

  // `scheduler` must outlive the driver. `master` is "host:port". An empty
  // FrameworkInfo.user becomes the current OS user and an empty hostname
  // this host's name, as Mesos's driver does.
  AgoraSchedulerDriver(Scheduler* scheduler,
                       const mesos::v1::FrameworkInfo& framework,
                       const std::string& master,
                       bool implicit_acknowledgements = true);
  AgoraSchedulerDriver(Scheduler* scheduler,
                       const mesos::v1::FrameworkInfo& framework,
                       const std::string& master,
                       bool implicit_acknowledgements, Options options);
  // Waits for a TEARDOWN begun by stop() to be sent (bounded by
  // call_timeout), then closes the connection. Never from a callback.
  ~AgoraSchedulerDriver() override;

  AgoraSchedulerDriver(const AgoraSchedulerDriver&) = delete;
  AgoraSchedulerDriver& operator=(const AgoraSchedulerDriver&) = delete;

  mesos::v1::Status start() override;
  mesos::v1::Status stop(bool failover = false) override;
  mesos::v1::Status abort() override;
  mesos::v1::Status join() override;
  mesos::v1::Status run() override;

  mesos::v1::Status launchTasks(
      const std::vector<mesos::v1::OfferID>& offer_ids,
      const std::vector<mesos::v1::TaskInfo>& tasks,
      const mesos::v1::Filters& filters = mesos::v1::Filters()) override;
  mesos::v1::Status launchTasks(
      const mesos::v1::OfferID& offer_id,
      const std::vector<mesos::v1::TaskInfo>& tasks,
      const mesos::v1::Filters& filters = mesos::v1::Filters()) override;
  mesos::v1::Status acceptOffers(
      const std::vector<mesos::v1::OfferID>& offer_ids,
      const std::vector<mesos::v1::Offer::Operation>& operations,
      const mesos::v1::Filters& filters = mesos::v1::Filters()) override;
  mesos::v1::Status declineOffer(
      const mesos::v1::OfferID& offer_id,
      const mesos::v1::Filters& filters = mesos::v1::Filters()) override;
  mesos::v1::Status reviveOffers() override;
  mesos::v1::Status reviveOffers(
      const std::vector<std::string>& roles) override;
  mesos::v1::Status suppressOffers() override;
  mesos::v1::Status suppressOffers(
      const std::vector<std::string>& roles) override;
  mesos::v1::Status killTask(const mesos::v1::TaskID& task_id) override;
  mesos::v1::Status acknowledgeStatusUpdate(
      const mesos::v1::TaskStatus& status) override;
  mesos::v1::Status reconcileTasks(
      const std::vector<mesos::v1::TaskStatus>& statuses) override;
  mesos::v1::Status sendFrameworkMessage(
      const mesos::v1::ExecutorID& executor_id,
      const mesos::v1::AgentID& agent_id, const std::string& data) override;
  mesos::v1::Status updateFramework(
      const mesos::v1::FrameworkInfo& framework,
      const std::vector<std::string>& suppressed_roles) override;

  class Process;  // Internal: the status machine and the driver thread.

 private:
  std::unique_ptr<Process> process_;
};

}  // namespace agora

#endif  // AGORA_SCHEDULER_H_
