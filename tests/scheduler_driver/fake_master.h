// FakeMaster: a real agora.v1.Scheduler gRPC server on 127.0.0.1:0 that
// records what a scheduler sends and lets a test push events, end streams
// and refuse subscriptions. For the driver's tests.
//
// Thread rule: thread-safe; gRPC handlers run on gRPC threads.
#ifndef AGORA_TESTS_SCHEDULER_DRIVER_FAKE_MASTER_H_
#define AGORA_TESTS_SCHEDULER_DRIVER_FAKE_MASTER_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "agora/v1/service.grpc.pb.h"
#include "common/event_stream.h"
#include "grpcpp/grpcpp.h"

namespace agora::testing {

class FakeMaster : public agora::v1::Scheduler::CallbackService {
 public:
  using SchedulerCall = mesos::v1::scheduler::Call;
  using Event = mesos::v1::scheduler::Event;

  struct RecordedCall {
    SchedulerCall call;
    std::string stream_id;  // The `mesos-stream-id` metadata ("" if none).
  };

  FakeMaster();
  ~FakeMaster() override;

  std::string address() const { return address_; }

  // Behaviour. Subscriptions are answered with SUBSCRIBED (framework id
  // "fw-<n>" unless the SUBSCRIBE names one) unless refused.
  // `leader_hint`, when set, goes back as `agora-leader` metadata, as a
  // standby master answers.
  void RefuseNextSubscriptions(int count, grpc::Status status,
                               const std::string& leader_hint = "");
  void set_heartbeat_interval_seconds(double seconds);

  // Observations.
  std::vector<SchedulerCall> subscribe_calls() const;
  std::vector<RecordedCall> calls() const;
  std::string current_stream_id() const;
  bool WaitForCalls(size_t n, absl::Duration timeout = absl::Seconds(10));
  bool WaitForSubscriptions(size_t n,
                            absl::Duration timeout = absl::Seconds(10));
  // Waits until the current stream has ended (closed by either side).
  bool WaitForStreamDone(absl::Duration timeout = absl::Seconds(10));

  // Control: events on, and the end of, the latest subscription's stream.
  bool SendEvent(const Event& event);
  void CloseStream(grpc::Status status);

  // Service.
  grpc::ServerWriteReactor<Event>* Subscribe(
      grpc::CallbackServerContext* ctx, const SchedulerCall* call) override;
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* ctx,
                                 const SchedulerCall* call,
                                 agora::v1::CallResponse* response) override;

 private:
  // Waits until `pred` (called with mu_ held) holds; false on timeout.
  bool WaitUntil(const std::function<bool()>& pred, absl::Duration timeout);
  Event SubscribedEvent(const SchedulerCall& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<grpc::Server> server_;
  std::string address_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int refusals_left_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::Status refusal_ ABSL_GUARDED_BY(mu_);
  std::string leader_hint_ ABSL_GUARDED_BY(mu_);
  double heartbeat_interval_seconds_ ABSL_GUARDED_BY(mu_) = 15;
  int next_framework_ ABSL_GUARDED_BY(mu_) = 1;
  int next_stream_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<SchedulerCall> subscribe_calls_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedCall> calls_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<EventStream<Event>> stream_ ABSL_GUARDED_BY(mu_);
  std::string stream_id_ ABSL_GUARDED_BY(mu_);
  // Shared with the stream's on_done, which may outlive a subscription.
  std::shared_ptr<bool> stream_done_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_SCHEDULER_DRIVER_FAKE_MASTER_H_
