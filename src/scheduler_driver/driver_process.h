// AgoraSchedulerDriver::Process: the driver's status machine (start, stop,
// abort, join) and the driver thread, an EventLoop that owns the
// subscription and the call queue and invokes every Scheduler callback.
//
// Thread rule: the methods in the first public block are thread-safe; every
// other method runs on the loop thread. gRPC callbacks and the leader
// detector only post to the loop.
#ifndef AGORA_SCHEDULER_DRIVER_DRIVER_PROCESS_H_
#define AGORA_SCHEDULER_DRIVER_DRIVER_PROCESS_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "agora/scheduler.h"
#include "common/event_loop.h"
#include "mesos/v1/scheduler/scheduler.pb.h"
#include "scheduler_driver/master_connection.h"
#include "zookeeper/leader_detector.h"

namespace agora {

class AgoraSchedulerDriver::Process {
 public:
  using Call = mesos::v1::scheduler::Call;
  using Event = mesos::v1::scheduler::Event;

  // `driver` is what callbacks receive; both pointers must outlive this.
  Process(SchedulerDriver* driver, Scheduler* scheduler,
          mesos::v1::FrameworkInfo framework, std::string master,
          bool implicit_acknowledgements, Options options);
  // Waits for a stop in progress, closes the subscription, waits for gRPC
  // to finish every call, stops the loop. Not on the loop thread.
  ~Process();

  // Thread-safe; the Mesos driver semantics of the same names.
  mesos::v1::Status Start();
  mesos::v1::Status Stop(bool failover);
  mesos::v1::Status Abort();
  mesos::v1::Status Join();
  // Queues `call` for sending when the driver is running; returns the status.
  mesos::v1::Status Send(Call call);
  mesos::v1::Status status() const;
  bool implicit_acknowledgements() const { return implicit_acks_; }

 private:
  enum class Phase {
    kNoLeader,        // Waiting for the detector to name a leader.
    kWaitingToRetry,  // A retry timer is armed.
    kSubscribing,     // SUBSCRIBE sent, no SUBSCRIBED yet.
    kSubscribed,
    kClosed,  // Stopped, aborted or being destroyed.
  };

  bool IsRunning() const;
  void AbortFromLoop();

  // Subscription (subscription.cc).
  void OnLeader(std::optional<std::string> leader);
  void Subscribe();
  void OnStreamEvent(uint64_t generation, const std::string& stream_id,
                     Event event);
  void OnStreamDone(uint64_t generation, const absl::Status& status,
                    const std::string& leader_hint);
  void HandleStreamEnd(const absl::Status& status,
                       const std::string& leader_hint);
  // `leader_not_ready`: the master refused as the elected leader that has
  // not finished recovering; the next attempt goes soon, without backoff.
  void FailAttempt(const std::string& address, const absl::Status& why,
                   bool leader_not_ready = false);
  void ScheduleRetry(bool leader_not_ready = false);
  void ResetHeartbeatWatchdog();
  void DropStream();
  static bool IsFatal(absl::StatusCode code);

  // Events (driver_process.cc).
  void HandleSubscribed(const std::string& stream_id,
                        const Event::Subscribed& subscribed);
  void Dispatch(const Event& event);
  void HandleUpdate(const mesos::v1::TaskStatus& status);
  void HandleError(const std::string& message);

  // Calls, one in flight at a time, in order (call_queue.cc).
  void SendOnLoop(Call call);
  // Keeps what SUPPRESS, REVIVE and UPDATE_FRAMEWORK change, so that a
  // resubscription carries the same FrameworkInfo and suppressed roles.
  void Remember(Call* call);
  void PumpCalls();
  void OnCallDone(uint64_t generation, Call::Type type,
                  const absl::Status& status);
  void DropCalls();

  // Stopping.
  void BeginStop(bool failover);
  void MaybeFinishStop();
  void FinishStop();

  SchedulerDriver* const driver_;
  Scheduler* const scheduler_;
  const std::string master_;
  const bool implicit_acks_;
  const Options options_;
  const std::shared_ptr<scheduler_driver::InflightRpcs> inflight_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  mesos::v1::Status status_ ABSL_GUARDED_BY(mu_) =
      mesos::v1::DRIVER_NOT_STARTED;
  bool loop_started_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_done_ ABSL_GUARDED_BY(mu_) = false;

  EventLoop loop_;
  std::unique_ptr<LeaderDetector> detector_;

  // Loop-thread state.
  mesos::v1::FrameworkInfo framework_;
  std::set<std::string> suppressed_roles_;
  Phase phase_ = Phase::kNoLeader;
  std::optional<std::string> leader_;
  std::string redirect_;  // A standby's hint, tried once.
  std::shared_ptr<scheduler_driver::MasterConnection> connection_;
  std::shared_ptr<grpc::ClientContext> stream_context_;
  std::string stream_id_;
  uint64_t stream_generation_ = 0;
  bool registered_once_ = false;
  int failures_ = 0;          // Consecutive failed attempts.
  int backoff_exponent_ = 0;  // Resubscription attempts since the loss.
  absl::Duration heartbeat_interval_ = absl::Seconds(15);
  std::optional<EventLoop::TimerId> retry_timer_;
  std::optional<EventLoop::TimerId> attempt_timer_;
  std::optional<EventLoop::TimerId> heartbeat_timer_;
  absl::BitGen random_;

  std::deque<Call> pending_calls_;
  bool call_in_flight_ = false;
  std::shared_ptr<grpc::ClientContext> call_context_;
  uint64_t call_generation_ = 0;

  bool stopping_ = false;
  bool closing_ = false;
};

}  // namespace agora

#endif  // AGORA_SCHEDULER_DRIVER_DRIVER_PROCESS_H_
