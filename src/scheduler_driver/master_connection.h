// MasterConnection: the gRPC transport to one master address. It opens the
// SUBSCRIBE stream and sends unary calls with the callback API; results are
// reported on gRPC threads, where the driver only posts them to its loop.
//
// InflightRpcs counts the RPCs started and not yet finished, so the driver
// can cancel them and wait until no gRPC callback can touch it any more.
#ifndef AGORA_SCHEDULER_DRIVER_MASTER_CONNECTION_H_
#define AGORA_SCHEDULER_DRIVER_MASTER_CONNECTION_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agora/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace agora::scheduler_driver {

// The metadata keys of the protocol.
inline constexpr char kStreamIdKey[] = "mesos-stream-id";
inline constexpr char kLeaderKey[] = "agora-leader";

// Thread-safe.
class InflightRpcs {
 public:
  void Begin();
  // The last thing an RPC callback does.
  void End();
  void WaitUntilIdle();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

// What a subscription reports, on gRPC threads, in order: zero or more
// events, then exactly one `on_done`.
struct StreamHandlers {
  // `stream_id` is the server's `mesos-stream-id` ("" if it sent none).
  std::function<void(const std::string& stream_id,
                     mesos::v1::scheduler::Event event)>
      on_event;
  // `leader_hint` is the `agora-leader` metadata of a standby master, or "".
  std::function<void(const grpc::Status& status,
                     const std::string& leader_hint)>
      on_done;
};

class MasterConnection {
 public:
  MasterConnection(std::string address, std::shared_ptr<InflightRpcs> inflight);

  const std::string& address() const { return address_; }

  // Opens Subscribe(call). Returns the call's context; TryCancel() on it
  // ends the stream (on_done then reports CANCELLED). Thread-safe.
  std::shared_ptr<grpc::ClientContext> Subscribe(
      const mesos::v1::scheduler::Call& call, StreamHandlers handlers);

  // Sends Call(call) with `stream_id` in the metadata and a deadline of
  // `timeout`; `done` runs once, on a gRPC thread. Thread-safe.
  std::shared_ptr<grpc::ClientContext> Call(
      const mesos::v1::scheduler::Call& call, const std::string& stream_id,
      absl::Duration timeout, std::function<void(grpc::Status)> done);

 private:
  const std::string address_;
  const std::shared_ptr<InflightRpcs> inflight_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<agora::v1::Scheduler::Stub> stub_;
};

// grpc::Status as absl::Status (the codes are the same numbers).
absl::Status ToAbslStatus(const grpc::Status& status);

}  // namespace agora::scheduler_driver

#endif  // AGORA_SCHEDULER_DRIVER_MASTER_CONNECTION_H_
