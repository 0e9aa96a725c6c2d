#include "agent/master_link.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "agora/internal/agent_link.grpc.pb.h"
#include "glog/logging.h"
#include "grpcpp/grpcpp.h"

namespace agora {

using agora::internal::AgentMessage;
using agora::internal::MasterMessage;

// One Connect call. Owns its channel, stub and context, and keeps itself
// alive until gRPC calls OnDone. Outbound messages wait in a bounded queue
// because gRPC allows one write in flight.
class LinkStream : public grpc::ClientBidiReactor<AgentMessage, MasterMessage> {
 public:
  using MessageFn = std::function<void(MasterMessage)>;
  using DoneFn = std::function<void(grpc::Status)>;

  static constexpr size_t kMaxQueued = 10000;

  static std::shared_ptr<LinkStream> Open(const std::string& address,
                                          MessageFn on_message,
                                          DoneFn on_done) {
    std::shared_ptr<LinkStream> stream(
        new LinkStream(address, std::move(on_message), std::move(on_done)));
    stream->self_ = stream;
    stream->stub_->async()->Connect(&stream->context_, stream.get());
    stream->StartRead(&stream->incoming_);
    stream->StartCall();
    return stream;
  }

  // Thread-safe. False when the call has ended or its queue overflowed (the
  // call is then cancelled).
  bool Send(AgentMessage message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return false;
    if (outgoing_.size() >= kMaxQueued) {
      LOG(WARNING) << "Too many messages queued for the master; reconnecting";
      context_.TryCancel();
      return false;
    }
    outgoing_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      StartWrite(&outgoing_.front());
    }
    return true;
  }

  void Cancel() { context_.TryCancel(); }

  bool WaitDone(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                        [this] { return done_; });
  }

 private:
  LinkStream(const std::string& address, MessageFn on_message, DoneFn on_done)
      : channel_(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        stub_(agora::internal::AgentLink::NewStub(channel_)),
        on_message_(std::move(on_message)),
        on_done_(std::move(on_done)) {}

  void OnReadDone(bool ok) override {
    if (!ok) return;  // The call is ending; OnDone follows.
    on_message_(std::move(incoming_));
    incoming_.Clear();
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    outgoing_.pop_front();
    if (!ok) {
      // The call is broken; OnDone follows. Drop what is queued.
      outgoing_.clear();
      writing_ = false;
      return;
    }
    if (outgoing_.empty()) {
      writing_ = false;
    } else {
      StartWrite(&outgoing_.front());
    }
  }

  void OnDone(const grpc::Status& status) override {
    on_done_(status);
    std::shared_ptr<LinkStream> keep;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      keep = std::move(self_);
    }
    cv_.notify_all();
    // `keep` may hold the last reference: gRPC allows deleting the reactor
    // in OnDone, and nothing touches it afterwards.
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<agora::internal::AgentLink::Stub> stub_;
  grpc::ClientContext context_;
  MessageFn on_message_;
  DoneFn on_done_;
  MasterMessage incoming_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<AgentMessage> outgoing_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<LinkStream> self_ ABSL_GUARDED_BY(mu_);
};

MasterLink::MasterLink(EventLoop* loop, absl::Duration backoff_factor,
                       Handlers handlers)
    : loop_(loop),
      backoff_factor_(backoff_factor),
      handlers_(std::move(handlers)),
      window_(backoff_factor),
      random_(std::random_device{}()) {}

MasterLink::~MasterLink() {
  if (stream_ != nullptr) stream_->Cancel();
}

void MasterLink::SetMaster(std::optional<std::string> address) {
  DCHECK(loop_->IsLoopThread());
  if (shut_down_ || address == address_) return;
  address_ = std::move(address);
  LOG(INFO) << (address_ ? absl::StrCat("New master detected at ", *address_)
                         : std::string("Lost the leading master"));
  if (stream_ != nullptr) {
    ++generation_;
    stream_->Cancel();
    stream_.reset();
    handlers_.on_disconnected("the leading master changed");
  }
  ResetBackoff();
  if (address_) ScheduleConnect(RandomDelay(backoff_factor_));
}

bool MasterLink::Send(AgentMessage message) {
  DCHECK(loop_->IsLoopThread());
  return stream_ != nullptr && stream_->Send(std::move(message));
}

void MasterLink::Reconnect(const std::string& reason) {
  DCHECK(loop_->IsLoopThread());
  if (shut_down_) return;
  LOG(INFO) << "Reconnecting to the master: " << reason;
  if (stream_ != nullptr) {
    ++generation_;  // The cancelled stream's OnDone is ignored.
    stream_->Cancel();
    stream_.reset();
  }
  ScheduleReconnect();
}

void MasterLink::Shutdown() {
  DCHECK(loop_->IsLoopThread());
  shut_down_ = true;
  if (connect_timer_ != 0) loop_->Cancel(connect_timer_);
  connect_timer_ = 0;
  ++generation_;
  if (stream_ != nullptr) stream_->Cancel();
  closing_ = std::move(stream_);
}

void MasterLink::WaitClosed(absl::Duration timeout) {
  if (closing_ != nullptr && !closing_->WaitDone(timeout)) {
    LOG(WARNING) << "The master stream did not close within " << timeout;
  }
}

void MasterLink::Connect() {
  connect_timer_ = 0;
  if (shut_down_ || !address_ || stream_ != nullptr) return;
  uint64_t generation = ++generation_;
  VLOG(1) << "Opening the agent link to the master at " << *address_;
  stream_ = LinkStream::Open(
      *address_,
      [this, generation](MasterMessage message) {
        InboxItem item;
        item.generation = generation;
        item.message = std::move(message);
        Deliver(std::move(item));
      },
      [this, generation](grpc::Status status) {
        InboxItem item;
        item.generation = generation;
        item.done_reason =
            status.ok() ? std::string("the master closed the stream")
                        : absl::StrCat("stream failed (",
                                       static_cast<int>(status.error_code()),
                                       "): ", status.error_message());
        Deliver(std::move(item));
      });
  handlers_.on_connected();
}

void MasterLink::Deliver(InboxItem item) {
  absl::MutexLock lock(&inbox_mu_);
  inbox_.push_back(std::move(item));
  if (drain_posted_) return;
  drain_posted_ = true;
  loop_->Post([this] { DrainOne(); });
}

void MasterLink::DrainOne() {
  DCHECK(loop_->IsLoopThread());
  InboxItem item;
  {
    absl::MutexLock lock(&inbox_mu_);
    item = std::move(inbox_.front());
    inbox_.pop_front();
  }
  if (item.message.has_value()) {
    if (item.generation == generation_) handlers_.on_message(*item.message);
  } else {
    OnStreamDone(item.generation, item.done_reason);
  }
  absl::MutexLock lock(&inbox_mu_);
  if (inbox_.empty()) {
    drain_posted_ = false;
  } else {
    // Behind whatever else arrived meanwhile (executor calls, timers).
    loop_->Post([this] { DrainOne(); });
  }
}

void MasterLink::OnStreamDone(uint64_t generation, const std::string& reason) {
  if (generation != generation_ || shut_down_) return;
  stream_.reset();
  handlers_.on_disconnected(reason);
  ScheduleReconnect();
}

void MasterLink::ScheduleConnect(absl::Duration delay) {
  if (connect_timer_ != 0) loop_->Cancel(connect_timer_);
  connect_timer_ = loop_->PostAfter(delay, [this] { Connect(); });
}

void MasterLink::ScheduleReconnect() {
  if (!address_) return;
  absl::Duration delay = RandomDelay(window_);
  window_ = std::min(window_ * 2, kMaxBackoff);
  VLOG(1) << "Next connection attempt to the master in " << delay;
  ScheduleConnect(delay);
}

absl::Duration MasterLink::RandomDelay(absl::Duration window) {
  int64_t max_ns = std::max<int64_t>(0, absl::ToInt64Nanoseconds(window));
  std::uniform_int_distribution<int64_t> dist(0, max_ns);
  return absl::Nanoseconds(dist(random_));
}

}  // namespace agora
