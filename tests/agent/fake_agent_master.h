// FakeAgentMaster: a real agora.internal.AgentLink gRPC server on
// 127.0.0.1:0 standing in for the master in agent tests. It records every
// message agents send and lets the test answer on the latest stream.
//
// Thread rule: thread-safe; gRPC handlers run on gRPC threads.
#ifndef AGORA_TESTS_AGENT_FAKE_AGENT_MASTER_H_
#define AGORA_TESTS_AGENT_FAKE_AGENT_MASTER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "agora/internal/agent_link.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace agora::testing {

class FakeAgentMaster : public agora::internal::AgentLink::CallbackService {
 public:
  using AgentMessage = agora::internal::AgentMessage;
  using MasterMessage = agora::internal::MasterMessage;

  FakeAgentMaster();
  ~FakeAgentMaster() override;

  std::string address() const { return address_; }

  // Removes and returns the first recorded message (in arrival order) for
  // which `match` holds, waiting up to `timeout` for one to arrive.
  std::optional<AgentMessage> Take(
      const std::function<bool(const AgentMessage&)>& match,
      absl::Duration timeout = absl::Seconds(20));
  // Sends on the newest stream. False when it has ended.
  bool Send(const MasterMessage& message);
  // Ends the newest stream (the agent sees the master go away).
  void CloseStream();
  int connections() const;

  grpc::ServerBidiReactor<AgentMessage, MasterMessage>* Connect(
      grpc::CallbackServerContext* context) override;

 private:
  class Stream;
  void Record(AgentMessage message);

  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<AgentMessage> received_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Stream> stream_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_AGENT_FAKE_AGENT_MASTER_H_
