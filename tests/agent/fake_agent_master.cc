#include "agent/fake_agent_master.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace agora::testing {

// One Connect call: reads into the master's log, writes one at a time.
class FakeAgentMaster::Stream
    : public grpc::ServerBidiReactor<AgentMessage, MasterMessage> {
 public:
  explicit Stream(FakeAgentMaster* master) : master_(master) {}

  void Begin(std::shared_ptr<Stream> self) {
    self_ = std::move(self);
    StartRead(&incoming_);
  }

  bool Send(const MasterMessage& message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || close_requested_) return false;
    outgoing_.push_back(message);
    if (!writing_) {
      writing_ = true;
      StartWrite(&outgoing_.front());
    }
    return true;
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    close_requested_ = true;
    if (!writing_) FinishLocked();
  }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) {
      Close();
      return;
    }
    master_->Record(std::move(incoming_));
    incoming_.Clear();
    StartRead(&incoming_);
  }
  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    outgoing_.pop_front();
    writing_ = false;
    if (ok && !outgoing_.empty() && !finished_ && !close_requested_) {
      writing_ = true;
      StartWrite(&outgoing_.front());
    } else if (close_requested_ || !ok) {
      FinishLocked();
    }
  }
  void FinishLocked() {
    if (finished_) return;
    finished_ = true;
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake master closed"));
  }
  void OnCancel() override { Close(); }
  void OnDone() override {
    std::shared_ptr<Stream> keep;
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;  // No Finish() after gRPC is done with the call.
    keep = std::move(self_);
  }

  FakeAgentMaster* const master_;
  AgentMessage incoming_;
  std::mutex mu_;
  std::deque<MasterMessage> outgoing_;
  bool writing_ = false;
  bool finished_ = false;
  bool close_requested_ = false;
  std::shared_ptr<Stream> self_;
};

FakeAgentMaster::FakeAgentMaster() {
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
  CHECK(server_ != nullptr && port != 0) << "fake master failed to start";
  address_ = absl::StrCat("127.0.0.1:", port);
}

FakeAgentMaster::~FakeAgentMaster() {
  CloseStream();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

grpc::ServerBidiReactor<FakeAgentMaster::AgentMessage,
                        FakeAgentMaster::MasterMessage>*
FakeAgentMaster::Connect(grpc::CallbackServerContext* /*context*/) {
  auto stream = std::make_shared<Stream>(this);
  std::shared_ptr<Stream> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    previous = std::exchange(stream_, stream);
    ++connections_;
  }
  if (previous) previous->Close();
  stream->Begin(stream);
  return stream.get();
}

void FakeAgentMaster::Record(AgentMessage message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    received_.push_back(std::move(message));
  }
  cv_.notify_all();
}

std::optional<FakeAgentMaster::AgentMessage> FakeAgentMaster::Take(
    const std::function<bool(const AgentMessage&)>& match,
    absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<AgentMessage> found;
  cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
    for (auto it = received_.begin(); it != received_.end(); ++it) {
      if (match(*it)) {
        found = std::move(*it);
        received_.erase(it);
        return true;
      }
    }
    return false;
  });
  return found;
}

bool FakeAgentMaster::Send(const MasterMessage& message) {
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream = stream_;
  }
  return stream != nullptr && stream->Send(message);
}

void FakeAgentMaster::CloseStream() {
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream = std::move(stream_);
  }
  if (stream) stream->Close();
}

int FakeAgentMaster::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}

}  // namespace agora::testing
