// Test helpers for master tests: an in-process master on port 0 and real
// gRPC clients playing a framework (FakeScheduler) and an agent (FakeAgent).
// Waits poll conditions with deadlines; nothing sleeps for a fixed time.
#ifndef AGORA_TESTS_MASTER_MASTER_TEST_UTIL_H_
#define AGORA_TESTS_MASTER_MASTER_TEST_UTIL_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agora/internal/agent_link.grpc.pb.h"
#include "agora/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "master/master_options.h"
#include "master/master_server.h"
#include "nlohmann/json.hpp"

namespace agora::testing {

using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;

// 127.0.0.1, ports 0, in-memory registry, 50 ms allocation interval, no
// agent shuffle.
MasterOptions TestMasterOptions();

// Polls `fn` every 10 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& fn,
               absl::Duration timeout = absl::Seconds(10));

// What `registry` recovers, waiting for its answer.
absl::StatusOr<internal::Registry> RecoverRegistry(Registry* registry);

// GET /state or /metrics/snapshot of `server` (via its HTTP port).
nlohmann::json GetJson(const MasterServer& server, const std::string& path);

mesos::v1::AgentInfo TestAgentInfo(const std::string& hostname,
                                   const std::string& resources);
mesos::v1::FrameworkInfo TestFrameworkInfo(const std::string& name);

// A thread-safe queue of received messages with blocking, predicate-based
// takes: messages that do not match stay for later takes.
template <typename T>
class Inbox {
 public:
  void Push(T message) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(message));
    all_.push_back(queue_.back());
    cv_.notify_all();
  }
  // No more messages will come: takes stop waiting.
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  // Removes and returns the first message matching `pred`; nullopt after
  // `timeout` or once closed with no match.
  std::optional<T> Take(const std::function<bool(const T&)>& pred,
                        absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<T> out;
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (pred(*it)) {
          out = std::move(*it);
          queue_.erase(it);
          return true;
        }
      }
      return closed_;
    });
    return out;
  }
  // Every message received so far, taken or not.
  std::vector<T> All() const {
    std::lock_guard<std::mutex> lock(mu_);
    return all_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<T> all_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// An agent: one AgentLink/Connect stream, answering pings unless told not
// to.
class FakeAgent {
 public:
  using MasterMessage = internal::MasterMessage;

  explicit FakeAgent(const std::string& master_address);
  ~FakeAgent();

  // Opens the link, sends register_agent / reregister_agent and waits for
  // agent_registered. The link's end status otherwise.
  absl::StatusOr<internal::AgentRegistered> Register(
      const mesos::v1::AgentInfo& info);
  absl::StatusOr<internal::AgentRegistered> Reregister(
      const internal::ReregisterAgent& message);

  // Opens the link with `first` as its first message, without waiting.
  void Connect(const internal::AgentMessage& first);
  bool Send(const internal::AgentMessage& message);
  // Sends a status update with a fresh uuid; returns the uuid.
  std::string SendStatusUpdate(const std::string& framework_id,
                               const std::string& task_id,
                               mesos::v1::TaskState state);

  std::optional<MasterMessage> Take(MasterMessage::MessageCase kind,
                                    absl::Duration timeout = absl::Seconds(10));
  std::vector<MasterMessage> All() const { return inbox_.All(); }

  void set_answer_pings(bool answer) { answer_pings_ = answer; }
  // Cancels the link (as if the agent died).
  void Disconnect();
  // Waits until the master ends the link; its status.
  std::optional<grpc::Status> WaitForEnd(
      absl::Duration timeout = absl::Seconds(10));
  const std::string& agent_id() const { return agent_id_; }

 private:
  absl::StatusOr<internal::AgentRegistered> Open(
      const internal::AgentMessage& first);
  void ReadLoop();

  std::unique_ptr<internal::AgentLink::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<
      grpc::ClientReaderWriter<internal::AgentMessage, MasterMessage>>
      stream_;
  std::mutex write_mu_;
  std::thread reader_;
  std::atomic<bool> answer_pings_{true};
  Inbox<MasterMessage> inbox_;
  std::mutex end_mu_;
  std::condition_variable end_cv_;
  std::optional<grpc::Status> end_ ABSL_GUARDED_BY(end_mu_);
  std::string agent_id_;
};

// A framework: one Subscribe stream plus unary calls.
class FakeScheduler {
 public:
  explicit FakeScheduler(const std::string& master_address);
  ~FakeScheduler();

  // Subscribes and waits for SUBSCRIBED; the stream's end status otherwise.
  absl::StatusOr<Event::Subscribed> Subscribe(
      const mesos::v1::FrameworkInfo& info);

  // Sends `call` with this framework's id (unless set) and stream id.
  grpc::Status Send(Call call);
  // Sends `call` as is, with `stream_id` as metadata unless empty.
  grpc::Status SendRaw(const Call& call, const std::string& stream_id);

  std::optional<Event> Take(Event::Type type,
                            absl::Duration timeout = absl::Seconds(10));
  std::optional<Event> Take(const std::function<bool(const Event&)>& pred,
                            absl::Duration timeout);
  // Waits for an OFFERS event and returns its first offer.
  std::optional<mesos::v1::Offer> TakeOffer(
      absl::Duration timeout = absl::Seconds(10));
  // Waits for OFFERS events until `n` offers arrived (fewer on timeout).
  std::vector<mesos::v1::Offer> TakeOffers(
      size_t n, absl::Duration timeout = absl::Seconds(10));
  std::vector<Event> All() const { return inbox_.All(); }

  void Disconnect();
  std::optional<grpc::Status> WaitForEnd(
      absl::Duration timeout = absl::Seconds(10));

  const std::string& framework_id() const { return framework_id_; }
  const std::string& stream_id() const { return stream_id_; }

  // Call builders.
  Call Accept(const std::vector<std::string>& offer_ids,
              const std::vector<mesos::v1::TaskInfo>& tasks,
              std::optional<double> refuse_seconds = 0) const;
  Call Decline(const std::vector<std::string>& offer_ids,
               std::optional<double> refuse_seconds) const;

 private:
  void ReadLoop();

  std::unique_ptr<agora::v1::Scheduler::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<Event>> stream_;
  std::thread reader_;
  Inbox<Event> inbox_;
  std::mutex end_mu_;
  std::condition_variable end_cv_;
  std::optional<grpc::Status> end_ ABSL_GUARDED_BY(end_mu_);
  std::string framework_id_;
  std::string stream_id_;
};

// A command task for `agent_id` using `resources` (Mesos text form).
mesos::v1::TaskInfo CommandTask(const std::string& id,
                                const std::string& agent_id,
                                const std::string& resources,
                                const std::string& command = "sleep 100");

// Sum of the scalar `name` in `offer`.
double OfferedScalar(const mesos::v1::Offer& offer, const std::string& name);

}  // namespace agora::testing

#endif  // AGORA_TESTS_MASTER_MASTER_TEST_UTIL_H_
