// ZooKeeperMasterDetector: follows the lowest readable member of the
// masters' group.
//
// Everything runs on the loop. One GetChildren is in flight at a time with
// at most one armed watch; a listing's records are read by the
// MemberReader, and only the newest listing's answer is reported.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "zookeeper/group_members.h"
#include "zookeeper/master_group.h"

namespace agora {
namespace zk {
namespace {

constexpr absl::Duration kMinBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);

}  // namespace

using internal::MemberReader;

class ZooKeeperMasterDetector::Impl
    : public std::enable_shared_from_this<Impl> {
 public:
  Impl(ZooKeeper* zk, std::string path, EventLoop* loop)
      : zk_(zk),
        path_(std::move(path)),
        loop_(loop),
        reader_(std::make_shared<MemberReader>(zk, path_, loop)) {}

  void Init() { zk_->OnSessionEvent(Bind(&Impl::OnSession)); }
  void Post(std::function<void()> fn) { loop_->Post(std::move(fn)); }

  // On the loop.
  void AddCallback(Callback cb);

 private:
  template <typename... Args>
  std::function<void(Args...)> Bind(void (Impl::*method)(Args...)) {
    std::function<void(Impl*, Args...)> fn = [method](Impl* self,
                                                      Args... args) {
      (self->*method)(std::move(args)...);
    };
    return internal::OnLoop(loop_, weak_from_this(), fn);
  }

  void List();
  void OnGroupChanged();
  void OnChildren(absl::StatusOr<std::vector<std::string>> children);
  void OnGroupExists(absl::StatusOr<std::optional<Stat>> stat);
  void OnFound(uint64_t evaluation, absl::StatusOr<MemberReader::Found> found);
  void OnSession(SessionState state);
  void StartDisconnectTimer();
  void RetryLater();
  void Report(const MemberReader::Found& leader, absl::string_view why);

  ZooKeeper* const zk_;
  const std::string path_;
  EventLoop* const loop_;
  const std::shared_ptr<MemberReader> reader_;

  std::vector<Callback> callbacks_;
  bool started_ = false;
  bool reported_ = false;
  MemberReader::Found leader_;  // What was last reported.
  bool listing_ = false;
  bool list_again_ = false;
  bool list_sets_watch_ = false;
  bool watch_armed_ = false;
  uint64_t evaluation_ = 0;
  absl::Duration backoff_ = kMinBackoff;
  EventLoop::TimerId retry_timer_ = 0;
  EventLoop::TimerId disconnect_timer_ = 0;
};

void ZooKeeperMasterDetector::Impl::AddCallback(Callback cb) {
  callbacks_.push_back(cb);
  if (reported_) {
    cb(leader_.has_value() ? std::optional<MasterRecord>(leader_->second)
                           : std::nullopt);
  }
  if (started_) return;
  started_ = true;
  // A session that never connects also ends in "no leader", after the
  // session timeout.
  if (zk_->state() != SessionState::kConnected) StartDisconnectTimer();
  List();
}

void ZooKeeperMasterDetector::Impl::List() {
  if (listing_) {
    list_again_ = true;
    return;
  }
  listing_ = true;
  list_sets_watch_ = !watch_armed_;
  ZooKeeper::Watcher watcher;
  if (list_sets_watch_) {
    std::function<void()> changed = Bind(&Impl::OnGroupChanged);
    watcher = changed;
  }
  zk_->GetChildren(path_, watcher, Bind(&Impl::OnChildren));
}

void ZooKeeperMasterDetector::Impl::OnGroupChanged() {
  watch_armed_ = false;
  List();
}

void ZooKeeperMasterDetector::Impl::OnChildren(
    absl::StatusOr<std::vector<std::string>> children) {
  listing_ = false;
  if (!children.ok()) {
    const absl::Status& status = children.status();
    if (absl::IsNotFound(status)) {
      // No group yet (or any more): no leader until it appears.
      reader_->Forget();
      Report(std::nullopt, "the group node does not exist");
      std::function<void()> appeared = Bind(&Impl::OnGroupChanged);
      zk_->Exists(path_, appeared, Bind(&Impl::OnGroupExists));
      return;
    }
    if (!absl::IsUnavailable(status)) {
      LOG(WARNING) << "master detector: failed to list " << path_ << ": "
                   << status.message();
    }
    return RetryLater();
  }
  backoff_ = kMinBackoff;
  if (list_sets_watch_) watch_armed_ = true;
  if (list_again_) {
    list_again_ = false;
    return List();
  }
  std::vector<internal::Member> members = internal::SortedMembers(*children);
  if (members.empty()) return Report(std::nullopt, "the group is empty");
  const uint64_t evaluation = ++evaluation_;
  std::weak_ptr<Impl> weak = weak_from_this();
  reader_->FindFirstValid(
      std::move(members),
      [weak, evaluation](absl::StatusOr<MemberReader::Found> found) {
        if (auto self = weak.lock()) {
          self->OnFound(evaluation, std::move(found));
        }
      });
}

void ZooKeeperMasterDetector::Impl::OnGroupExists(
    absl::StatusOr<std::optional<Stat>> stat) {
  if (!stat.ok()) return RetryLater();
  // Created between the listing and this call: its watch will not fire.
  if (stat->has_value()) List();
}

void ZooKeeperMasterDetector::Impl::OnFound(
    uint64_t evaluation, absl::StatusOr<MemberReader::Found> found) {
  if (evaluation != evaluation_) return;  // A newer listing decides.
  if (!found.ok()) {
    LOG(WARNING) << "master detector: cannot read a member of " << path_ << ": "
                 << found.status().message();
    return RetryLater();
  }
  Report(*found, found->has_value() ? "" : "no member has a readable record");
}

void ZooKeeperMasterDetector::Impl::OnSession(SessionState state) {
  if (!started_) return;
  switch (state) {
    case SessionState::kConnecting:
      StartDisconnectTimer();
      break;
    case SessionState::kConnected:
      // Re-watch and refresh: what changed while away is seen now.
      loop_->Cancel(disconnect_timer_);
      disconnect_timer_ = 0;
      loop_->Cancel(retry_timer_);
      retry_timer_ = 0;
      List();
      break;
    case SessionState::kExpired:
      loop_->Cancel(disconnect_timer_);
      disconnect_timer_ = 0;
      watch_armed_ = false;
      reader_->Forget();
      Report(std::nullopt, "the ZooKeeper session expired");
      break;
  }
}

void ZooKeeperMasterDetector::Impl::StartDisconnectTimer() {
  if (disconnect_timer_ != 0) return;
  std::weak_ptr<Impl> weak = weak_from_this();
  const absl::Duration timeout = zk_->session_timeout();
  disconnect_timer_ = loop_->PostAfter(timeout, [weak, timeout] {
    std::shared_ptr<Impl> self = weak.lock();
    if (self == nullptr) return;
    self->disconnect_timer_ = 0;
    self->Report(std::nullopt,
                 absl::StrCat("disconnected from ZooKeeper for the whole "
                              "session timeout (",
                              absl::FormatDuration(timeout), ")"));
  });
}

void ZooKeeperMasterDetector::Impl::RetryLater() {
  if (retry_timer_ != 0) return;
  std::weak_ptr<Impl> weak = weak_from_this();
  retry_timer_ = loop_->PostAfter(backoff_, [weak] {
    if (auto self = weak.lock()) {
      self->retry_timer_ = 0;
      self->List();
    }
  });
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

void ZooKeeperMasterDetector::Impl::Report(const MemberReader::Found& leader,
                                           absl::string_view why) {
  const bool same =
      reported_ && leader.has_value() == leader_.has_value() &&
      (!leader.has_value() || (leader->first.name == leader_->first.name &&
                               leader->second == leader_->second));
  if (same) return;
  reported_ = true;
  leader_ = leader;
  if (leader.has_value()) {
    LOG(INFO) << "master detector: the leading master is "
              << leader->second.GrpcAddress() << " (id " << leader->second.id
              << ", " << path_ << "/" << leader->first.name << ")";
  } else {
    LOG(INFO) << "master detector: no leading master in " << path_ << ": "
              << why;
  }
  std::optional<MasterRecord> record;
  if (leader.has_value()) record = leader->second;
  // A callback may add another (Watch posts, so the vector is stable here).
  for (const Callback& cb : callbacks_) cb(record);
}

// ---------------------------------------------------- ZooKeeperMasterDetector

ZooKeeperMasterDetector::ZooKeeperMasterDetector(ZooKeeper* zk,
                                                 std::string path,
                                                 EventLoop* loop)
    : impl_(std::make_shared<Impl>(zk, std::move(path), loop)) {
  impl_->Init();
}

ZooKeeperMasterDetector::~ZooKeeperMasterDetector() = default;

void ZooKeeperMasterDetector::Watch(Callback cb) {
  std::weak_ptr<Impl> weak = impl_;
  impl_->Post([weak, cb = std::move(cb)] {
    if (auto self = weak.lock()) self->AddCallback(cb);
  });
}

}  // namespace zk
}  // namespace agora
