// MasterLink: the agent's end of the master<->agent link, one
// agora.internal.AgentLink/Connect bidi stream (gRPC callback API) to the
// leading master, re-opened with Mesos's registration backoff whenever it
// breaks: each attempt waits a random time in [0, window], the window
// starting at --registration_backoff_factor and doubling up to 1 min;
// ResetBackoff() after a successful registration.
//
// Registration, pings and everything else carried on the stream are the
// agent's business (agent.h); this class only moves messages.
//
// Thread rule: loop thread only, except Shutdown()/WaitClosed() as noted.
// gRPC callbacks queue what arrives in an inbox that the loop takes one
// item per turn from, so a burst from the master (hundreds of RunTask in
// one offer) takes turns with the executors' calls instead of queueing
// all of them behind it; items keep their order. Messages of a stream
// that was replaced are dropped.
#ifndef AGORA_AGENT_MASTER_LINK_H_
#define AGORA_AGENT_MASTER_LINK_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agora/internal/agent_link.pb.h"
#include "common/event_loop.h"

namespace agora {

class LinkStream;

class MasterLink {
 public:
  struct Handlers {
    // A stream was opened: send RegisterAgent or ReregisterAgent now.
    std::function<void()> on_connected;
    // A message from the master, in order.
    std::function<void(const agora::internal::MasterMessage&)> on_message;
    // The stream ended (closed by the master, failed, or never connected).
    // A new attempt is already scheduled.
    std::function<void(const std::string& reason)> on_disconnected;
  };

  static constexpr absl::Duration kMaxBackoff = absl::Minutes(1);

  MasterLink(EventLoop* loop, absl::Duration backoff_factor, Handlers handlers);
  ~MasterLink();

  MasterLink(const MasterLink&) = delete;
  MasterLink& operator=(const MasterLink&) = delete;

  // The leading master's "host:port" (from the detector), or nullopt. A
  // change drops the current stream and connects to the new master after
  // a random delay in [0, backoff_factor].
  void SetMaster(std::optional<std::string> address);
  const std::optional<std::string>& master() const { return address_; }

  // True while a stream is open (it may not be registered yet).
  bool connected() const { return stream_ != nullptr; }
  // Queues `message` on the open stream. False when there is none.
  bool Send(agora::internal::AgentMessage message);

  // Drops the current stream (without calling on_disconnected) and tries
  // again after the backoff, e.g. when the master stopped pinging.
  void Reconnect(const std::string& reason);
  void ResetBackoff() { window_ = backoff_factor_; }

  // Loop thread: stops reconnecting and cancels the open stream.
  void Shutdown();
  // Any thread but the loop's, after Shutdown(): waits until gRPC has
  // finished the cancelled stream, so no callback touches the link later.
  void WaitClosed(absl::Duration timeout);

 private:
  void Connect();
  void ScheduleConnect(absl::Duration delay);
  void ScheduleReconnect();
  void OnStreamDone(uint64_t generation, const std::string& reason);
  // What a stream delivered: a message, or (no message) its end.
  struct InboxItem {
    uint64_t generation = 0;
    std::optional<agora::internal::MasterMessage> message;
    std::string done_reason;
  };
  // Any thread: queues `item` and makes sure a drain is posted.
  void Deliver(InboxItem item);
  // Loop thread: handles the oldest item; posts itself again while more
  // are waiting.
  void DrainOne();
  absl::Duration RandomDelay(absl::Duration window);

  EventLoop* const loop_;
  const absl::Duration backoff_factor_;
  const Handlers handlers_;
  absl::Duration window_;
  std::optional<std::string> address_;
  std::shared_ptr<LinkStream> stream_;
  // Stream shut down by Shutdown(); waited for by WaitClosed().
  std::shared_ptr<LinkStream> closing_;
  uint64_t generation_ = 0;
  EventLoop::TimerId connect_timer_ = 0;
  bool shut_down_ = false;
  std::mt19937_64 random_;
  absl::Mutex inbox_mu_;
  std::deque<InboxItem> inbox_ ABSL_GUARDED_BY(inbox_mu_);
  bool drain_posted_ ABSL_GUARDED_BY(inbox_mu_) = false;
};

}  // namespace agora

#endif  // AGORA_AGENT_MASTER_LINK_H_
