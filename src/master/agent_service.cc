#include "master/agent_service.h"

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "glog/logging.h"
#include "master/grpc_status.h"

namespace agora {
namespace {

using internal::AgentMessage;
using internal::MasterMessage;
using Reactor = grpc::ServerBidiReactor<AgentMessage, MasterMessage>;

// The shared handle of one link; outlives its reactor. All reactor
// operations happen under `mu_`, which gRPC never holds when it calls back.
class AgentLinkStream : public AgentConnection {
 public:
  AgentLinkStream(uint64_t id, std::string peer, size_t max_queued)
      : id_(id), peer_(std::move(peer)), max_queued_(max_queued) {}

  uint64_t id() const override { return id_; }
  const std::string& peer() const override { return peer_; }

  bool Send(MasterMessage message) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (reactor_ == nullptr || finishing_ || close_requested_) return false;
    if (queue_.size() >= max_queued_) {
      LOG(WARNING) << "Agent link " << id_ << " (" << peer_
                   << ") fell too far behind; closing it";
      FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                "agent link: outbound queue overflowed"));
      return false;
    }
    queue_.push_back(std::move(message));
    if (!writing_) WriteNextLocked();
    return true;
  }

  void Close(const absl::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (reactor_ == nullptr || finishing_) return;
    close_status_ = ToGrpcStatus(status);
    close_requested_ = true;
    if (!writing_) FinishLocked(close_status_);
  }

  // --- Reactor side --------------------------------------------------------
  void Attach(Reactor* reactor, AgentMessage* buffer) {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = reactor;
    read_buffer_ = buffer;
    reactor_->StartRead(read_buffer_);
  }

  // Starts the next read unless the link is ending.
  void ReadNext() {
    std::lock_guard<std::mutex> lock(mu_);
    if (reactor_ != nullptr && !finishing_) reactor_->StartRead(read_buffer_);
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

  void Finish(grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(std::move(status));
  }

  void OnDone() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
    queue_.clear();
  }

 private:
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (queue_.empty()) return;
    writing_ = true;
    reactor_->StartWrite(&queue_.front());
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_ || reactor_ == nullptr) return;
    finishing_ = true;
    reactor_->Finish(std::move(status));
  }

  const uint64_t id_;
  const std::string peer_;
  const size_t max_queued_;
  std::mutex mu_;
  Reactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
  AgentMessage* read_buffer_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::deque<MasterMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool close_requested_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status close_status_ ABSL_GUARDED_BY(mu_);
};

class AgentLinkReactor : public Reactor {
 public:
  AgentLinkReactor(std::shared_ptr<AgentLinkStream> stream, EventLoop* loop,
                   Master* master)
      : stream_(std::move(stream)), loop_(loop), master_(master) {
    stream_->Attach(this, &incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The agent half-closed or the call is ending.
      stream_->Finish(grpc::Status::OK);
      return;
    }
    Master* master = master_;
    loop_->Post([master, link = stream_, message = std::move(incoming_)] {
      master->OnAgentMessage(link, message);
    });
    incoming_.Clear();
    stream_->ReadNext();
  }

  void OnWriteDone(bool ok) override { stream_->OnWriteDone(ok); }
  void OnCancel() override { stream_->Finish(grpc::Status::CANCELLED); }

  void OnDone() override {
    stream_->OnDone();
    Master* master = master_;
    loop_->Post([master, link = stream_] { master->OnAgentLinkClosed(link); });
    delete this;
  }

 private:
  std::shared_ptr<AgentLinkStream> stream_;
  EventLoop* const loop_;
  Master* const master_;
  AgentMessage incoming_;
};

// A link refused before it reaches the master (this master does not lead).
class RefusedLinkReactor : public Reactor {
 public:
  explicit RefusedLinkReactor(grpc::Status status) {
    Finish(std::move(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace

AgentLinkService::AgentLinkService(EventLoop* loop, Master* master,
                                   const Leadership* leadership,
                                   size_t max_queued)
    : loop_(loop),
      master_(master),
      leadership_(leadership),
      max_queued_(max_queued) {}

grpc::ServerBidiReactor<AgentMessage, MasterMessage>* AgentLinkService::Connect(
    grpc::CallbackServerContext* context) {
  if (grpc::Status refused = leadership_->CheckGrpc(context); !refused.ok()) {
    VLOG(1) << "Refusing an agent link from " << context->peer() << ": "
            << refused.error_message();
    return new RefusedLinkReactor(std::move(refused));
  }
  auto stream = std::make_shared<AgentLinkStream>(next_link_id_.fetch_add(1),
                                                  context->peer(), max_queued_);
  VLOG(1) << "Agent link " << stream->id() << " opened from " << stream->peer();
  return new AgentLinkReactor(std::move(stream), loop_, master_);
}

}  // namespace agora
