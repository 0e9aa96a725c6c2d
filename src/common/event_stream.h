// EventStream<T, Wire>: the server side of a gRPC server-streaming call
// (callback API) with a bounded outbound queue. `Wire` is what the reactor
// writes: T itself, or grpc::ByteBuffer for a raw method (one that parses
// its own request so malformed bytes get a real error); Send(T) then
// serializes each event once, when queued. gRPC allows one write in flight;
// events sent meanwhile wait in the queue. A subscriber that falls `max_queued`
// events behind is disconnected with RESOURCE_EXHAUSTED instead of letting
// the daemon's memory grow (Mesos's MESOS-7748).
//
// Usage, in a CallbackService handler:
//   auto [reactor, stream] = EventStream<Event>::Create(1024, on_done);
//   ... hand `stream` to the loop ...
//   return reactor;
// `stream` is a shared handle usable from any thread after the reactor is
// gone: Send() then returns false. `on_done` runs once on a gRPC thread when
// the call ends for any reason (closed by us, cancelled, client gone); it
// must only post to a loop. `on_overflow`, when given, runs once on the
// thread whose Send() found the queue full, outside the stream's lock and
// before `on_done` (which for a peer that reads nothing may come much
// later); it too must only post. On overflow the queued events are dropped
// at once, so a stalled subscriber holds at most the one event in flight.
#ifndef AGORA_COMMON_EVENT_STREAM_H_
#define AGORA_COMMON_EVENT_STREAM_H_

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "grpcpp/grpcpp.h"

namespace agora {

template <typename T, typename Wire = T>
class EventStream : public std::enable_shared_from_this<EventStream<T, Wire>> {
 public:
  static std::pair<grpc::ServerWriteReactor<Wire>*,
                   std::shared_ptr<EventStream>>
  Create(size_t max_queued, std::function<void()> on_done,
         std::function<void()> on_overflow = nullptr) {
    auto stream = std::shared_ptr<EventStream>(
        new EventStream(max_queued, std::move(on_overflow)));
    auto* reactor = new Reactor(stream, std::move(on_done));
    {
      std::lock_guard<std::mutex> lock(stream->mu_);
      stream->reactor_ = reactor;
    }
    return {reactor, stream};
  }

  // Thread-safe. Queues `event`. Returns false when the stream has ended, or
  // when the queue was full (the stream is then finished with
  // RESOURCE_EXHAUSTED).
  bool Send(T event) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (reactor_ == nullptr || finishing_) return false;
      if (queue_.size() < max_queued_) {
        queue_.push_back(ToWire(std::move(event)));
        if (!writing_) WriteNextLocked();
        return true;
      }
      FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                "subscriber fell too far behind its event "
                                "stream; reconnect"));
      // Keep only the event gRPC may be writing.
      while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
    }
    if (on_overflow_) on_overflow_();
    return false;
  }

  // Thread-safe. Ends the call with `status` once queued events are written.
  void Close(grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (reactor_ == nullptr || finishing_) return;
    close_status_ = std::move(status);
    close_requested_ = true;
    if (!writing_) FinishLocked(close_status_);
  }

  bool IsOpen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reactor_ != nullptr && !finishing_;
  }

  size_t QueuedForTest() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }

 private:
  static Wire ToWire(T event) {
    if constexpr (std::is_same_v<T, Wire>) {
      return event;
    } else {
      std::string bytes = event.SerializeAsString();
      grpc::Slice slice(bytes);
      return grpc::ByteBuffer(&slice, 1);
    }
  }

  class Reactor : public grpc::ServerWriteReactor<Wire> {
   public:
    Reactor(std::shared_ptr<EventStream> stream, std::function<void()> on_done)
        : stream_(std::move(stream)), on_done_(std::move(on_done)) {}
    void OnWriteDone(bool ok) override { stream_->OnWriteDone(ok); }
    void OnCancel() override { stream_->OnCancel(); }
    void OnDone() override {
      stream_->OnDone();
      if (on_done_) on_done_();
      delete this;
    }

   private:
    std::shared_ptr<EventStream> stream_;
    std::function<void()> on_done_;
  };

  EventStream(size_t max_queued, std::function<void()> on_overflow)
      : max_queued_(max_queued), on_overflow_(std::move(on_overflow)) {}

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (queue_.empty()) return;
    writing_ = true;
    reactor_->StartWrite(&queue_.front());
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_) return;
    finishing_ = true;
    reactor_->Finish(std::move(status));
  }

  void OnWriteDone(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!queue_.empty()) queue_.pop_front();
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      return;
    }
    if (finishing_) return;
    if (!queue_.empty()) {
      WriteNextLocked();
    } else if (close_requested_) {
      FinishLocked(close_status_);
    }
  }

  void OnCancel() {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
    queue_.clear();
  }

  const size_t max_queued_;
  const std::function<void()> on_overflow_;
  mutable std::mutex mu_;
  Reactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::deque<Wire> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool close_requested_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status close_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agora

#endif  // AGORA_COMMON_EVENT_STREAM_H_
