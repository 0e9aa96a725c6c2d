// MasterContender: joins the masters' group and follows its place in it.
//
// Everything runs on the loop; ZooKeeper callbacks are posted there through
// Bind(), which also drops the callbacks of an older Contend() (each Contend
// and Withdraw starts a new epoch). One GetChildren is in flight at a time,
// with at most one armed watch.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "zookeeper/group_members.h"
#include "zookeeper/master_group.h"

namespace agora {
namespace zk {
namespace {

constexpr absl::Duration kMinBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);

std::string BaseName(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

}  // namespace

using internal::Member;
using internal::MemberReader;

class MasterContender::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(ZooKeeper* zk, std::string path, EventLoop* loop)
      : zk_(zk),
        path_(std::move(path)),
        loop_(loop),
        reader_(std::make_shared<MemberReader>(zk, path_, loop)) {}

  void Init() {
    std::function<void(Impl*, SessionState)> on_session =
        [](Impl* self, SessionState s) { self->OnSession(s); };
    zk_->OnSessionEvent(internal::OnLoop(loop_, weak_from_this(), on_session));
  }

  // Any thread.
  uint64_t NewEpoch() { return epoch_.fetch_add(1) + 1; }
  void Post(std::function<void()> fn) { loop_->Post(std::move(fn)); }
  std::string znode() const {
    std::lock_guard<std::mutex> lock(mu_);
    return znode_;
  }
  void Withdraw();

  // On the loop.
  void Start(uint64_t epoch, std::string data, Callback cb);
  void Reset(uint64_t epoch);

 private:
  enum class Phase { kIdle, kJoining, kMember, kDone };

  // A callback for ZooKeeper that runs `method` on the loop, unless a newer
  // epoch began meanwhile.
  template <typename... Args>
  std::function<void(Args...)> Bind(void (Impl::*method)(Args...)) {
    const uint64_t epoch = epoch_.load();
    std::function<void(Impl*, Args...)> fn = [epoch, method](Impl* self,
                                                             Args... args) {
      if (self->epoch_.load() == epoch) (self->*method)(std::move(args)...);
    };
    return internal::OnLoop(loop_, weak_from_this(), fn);
  }

  void CreateGroup();
  void OnGroupCreated(absl::Status status);
  void CreateMember();
  void OnMemberCreated(absl::StatusOr<std::string> created);
  // After a create whose reply was lost: finds a member with our data owned
  // by our session, else creates again.
  void FindOwnMember();
  void OnRecoveryChildren(absl::StatusOr<std::vector<std::string>> children);
  void CheckNextCandidate();
  void OnCandidate(std::string name,
                   absl::StatusOr<std::pair<std::string, Stat>> data);
  void Joined(const std::string& znode);

  void List();
  void OnGroupChanged();
  void OnChildren(absl::StatusOr<std::vector<std::string>> children);
  void OnLowerMember(uint64_t evaluation,
                     absl::StatusOr<MemberReader::Found> found);
  void OnLeftoverDeleted(absl::Status status);

  void OnSession(SessionState state);
  void OnDisconnectedTooLong();
  void RetryLater(void (Impl::*step)());
  void RunRetry();
  void CancelTimers();
  void Elect();
  void Lose(const std::string& why);
  std::string SetZnode(std::string znode);  // Returns the previous one.

  ZooKeeper* const zk_;
  const std::string path_;
  EventLoop* const loop_;
  const std::shared_ptr<MemberReader> reader_;
  std::atomic<uint64_t> epoch_{0};

  mutable std::mutex mu_;
  std::string znode_ ABSL_GUARDED_BY(mu_);  // znode() reads it anywhere.

  // Loop state.
  Phase phase_ = Phase::kIdle;
  bool leading_ = false;
  std::string data_;
  Callback cb_;
  int64_t create_session_ = 0;      // The session the last create was sent on.
  std::vector<Member> candidates_;  // Recovery: members to check.
  bool listing_ = false;
  bool list_again_ = false;
  bool list_sets_watch_ = false;
  bool watch_armed_ = false;
  uint64_t evaluation_ = 0;
  absl::Duration backoff_ = kMinBackoff;
  void (Impl::*retry_step_)() = nullptr;
  EventLoop::TimerId retry_timer_ = 0;
  EventLoop::TimerId disconnect_timer_ = 0;
};

void MasterContender::Impl::Start(uint64_t epoch, std::string data,
                                  Callback cb) {
  if (epoch != epoch_.load()) return;  // Withdrawn or restarted meanwhile.
  CancelTimers();
  phase_ = Phase::kJoining;
  leading_ = false;
  data_ = std::move(data);
  cb_ = std::move(cb);
  listing_ = list_again_ = watch_armed_ = false;
  backoff_ = kMinBackoff;
  // Contending again while still a member: the old member must not linger.
  std::string previous = SetZnode("");
  if (!previous.empty()) zk_->Delete(previous, -1, [](absl::Status) {});
  CreateGroup();
}

void MasterContender::Impl::Reset(uint64_t epoch) {
  if (epoch != epoch_.load()) return;
  CancelTimers();
  phase_ = Phase::kIdle;
  leading_ = false;
}

void MasterContender::Impl::Withdraw() {
  const uint64_t epoch = NewEpoch();
  std::string znode = SetZnode("");
  if (!znode.empty()) {
    LOG(INFO) << "master contender: withdrawing " << znode;
    zk_->Delete(znode, -1, [](absl::Status) {});
  }
  std::weak_ptr<Impl> weak = weak_from_this();
  loop_->Post([weak, epoch] {
    if (auto self = weak.lock()) self->Reset(epoch);
  });
}

void MasterContender::Impl::CreateGroup() {
  zk_->CreateRecursive(path_, Bind(&Impl::OnGroupCreated));
}

void MasterContender::Impl::OnGroupCreated(absl::Status status) {
  if (status.ok()) return CreateMember();
  if (absl::IsUnavailable(status)) return RetryLater(&Impl::CreateGroup);
  Lose(absl::StrCat("failed to create the group: ", status.message()));
}

void MasterContender::Impl::CreateMember() {
  create_session_ = zk_->session_id();
  auto on_created = Bind(&Impl::OnMemberCreated);
  std::weak_ptr<Impl> weak = weak_from_this();
  const uint64_t epoch = epoch_.load();
  ZooKeeper* zk = zk_;
  zk_->Create(absl::StrCat(path_, "/", kMasterNodePrefix), data_,
              kEphemeral | kSequence,
              [on_created, weak, epoch, zk](absl::StatusOr<std::string> r) {
                std::shared_ptr<Impl> self = weak.lock();
                if (r.ok() && (self == nullptr || self->epoch_ != epoch)) {
                  // Withdrawn while the create was in flight.
                  zk->Delete(*r, -1, [](absl::Status) {});
                  return;
                }
                on_created(std::move(r));
              });
}

void MasterContender::Impl::OnMemberCreated(
    absl::StatusOr<std::string> created) {
  if (created.ok()) return Joined(*created);
  const absl::Status& status = created.status();
  if (absl::IsUnavailable(status)) return RetryLater(&Impl::FindOwnMember);
  if (absl::IsNotFound(status)) return RetryLater(&Impl::CreateGroup);
  Lose(
      absl::StrCat("failed to create this master's znode: ", status.message()));
}

void MasterContender::Impl::FindOwnMember() {
  zk_->GetChildren(path_, nullptr, Bind(&Impl::OnRecoveryChildren));
}

void MasterContender::Impl::OnRecoveryChildren(
    absl::StatusOr<std::vector<std::string>> children) {
  if (!children.ok()) {
    if (absl::IsUnavailable(children.status())) {
      return RetryLater(&Impl::FindOwnMember);
    }
    return RetryLater(&Impl::CreateGroup);
  }
  if (zk_->session_id() != create_session_) {
    // A new session: whatever the lost create made vanished with the old.
    return CreateMember();
  }
  candidates_ = internal::SortedMembers(*children);
  std::reverse(candidates_.begin(), candidates_.end());  // Newest first.
  CheckNextCandidate();
}

void MasterContender::Impl::CheckNextCandidate() {
  if (candidates_.empty()) return CreateMember();
  std::string name = candidates_.front().name;
  candidates_.erase(candidates_.begin());
  auto on_candidate = Bind(&Impl::OnCandidate);
  zk_->Get(
      absl::StrCat(path_, "/", name),
      [on_candidate, name](absl::StatusOr<std::pair<std::string, Stat>> data) {
        on_candidate(name, std::move(data));
      });
}

void MasterContender::Impl::OnCandidate(
    std::string name, absl::StatusOr<std::pair<std::string, Stat>> data) {
  if (!data.ok()) {
    if (absl::IsUnavailable(data.status())) {
      return RetryLater(&Impl::FindOwnMember);
    }
    return CheckNextCandidate();
  }
  if (data->first == data_ && data->second.ephemeral_owner == create_session_) {
    LOG(INFO) << "master contender: the create whose reply was lost made "
              << name;
    return Joined(absl::StrCat(path_, "/", name));
  }
  CheckNextCandidate();
}

void MasterContender::Impl::Joined(const std::string& znode) {
  SetZnode(znode);
  phase_ = Phase::kMember;
  backoff_ = kMinBackoff;
  LOG(INFO) << "master contender: joined the master group as " << znode;
  if (zk_->state() != SessionState::kConnected) OnSession(zk_->state());
  List();
}

void MasterContender::Impl::List() {
  if (phase_ != Phase::kMember) return;
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

void MasterContender::Impl::OnGroupChanged() {
  watch_armed_ = false;
  List();
}

void MasterContender::Impl::OnChildren(
    absl::StatusOr<std::vector<std::string>> children) {
  listing_ = false;
  if (phase_ != Phase::kMember) return;
  if (!children.ok()) {
    const absl::Status& status = children.status();
    if (absl::IsUnavailable(status)) return RetryLater(&Impl::List);
    if (absl::IsNotFound(status)) {
      return Lose(absl::StrCat("the group node ", path_, " was deleted"));
    }
    return Lose(absl::StrCat("failed to watch the group: ", status.message()));
  }
  backoff_ = kMinBackoff;
  if (list_sets_watch_) watch_armed_ = true;
  if (list_again_) {
    list_again_ = false;
    return List();
  }
  const std::string own = BaseName(znode());
  std::vector<Member> members = internal::SortedMembers(*children);
  auto mine = std::find_if(members.begin(), members.end(),
                           [&](const Member& m) { return m.name == own; });
  if (mine == members.end()) {
    return Lose(
        absl::StrCat("this master's znode ", path_, "/", own, " is gone"));
  }
  std::vector<Member> lower(members.begin(), mine);
  if (lower.empty()) {
    if (!leading_) Elect();
    return;
  }
  const uint64_t evaluation = ++evaluation_;
  // The reader calls back on the loop already: no posting, only the checks.
  std::weak_ptr<Impl> weak = weak_from_this();
  const uint64_t epoch = epoch_.load();
  reader_->FindFirstValid(
      std::move(lower),
      [weak, epoch, evaluation](absl::StatusOr<MemberReader::Found> found) {
        std::shared_ptr<Impl> self = weak.lock();
        if (self == nullptr || self->epoch_.load() != epoch) return;
        self->OnLowerMember(evaluation, std::move(found));
      });
}

void MasterContender::Impl::OnLowerMember(
    uint64_t evaluation, absl::StatusOr<MemberReader::Found> found) {
  if (evaluation != evaluation_ || phase_ != Phase::kMember) return;
  if (!found.ok()) {
    // Unreadable: it may well be a valid leader, so this master does not
    // claim the lead; look again later.
    LOG(WARNING) << "master contender: cannot read a lower member of " << path_
                 << ": " << found.status().message();
    return RetryLater(&Impl::List);
  }
  if (!found->has_value()) {
    if (!leading_) Elect();
    return;
  }
  const Member& lower = (*found)->first;
  if (lower.owner != 0 && lower.owner == zk_->session_id()) {
    // Ours, from a create whose reply was lost and which the server carried
    // out after this contender had looked for it (a request of the old
    // connection can be committed after the new connection's reads). It
    // would stand in front of this master for ever: remove it.
    LOG(WARNING) << "master contender: removing " << lower.name
                 << ", a leftover member of this master's own session";
    zk_->Delete(absl::StrCat(path_, "/", lower.name), -1,
                Bind(&Impl::OnLeftoverDeleted));
    return;
  }
  if (leading_) {
    Lose(absl::StrCat("member ", (*found)->first.name,
                      " is lower than this leader's ", BaseName(znode())));
  }
}

void MasterContender::Impl::OnLeftoverDeleted(absl::Status status) {
  if (!status.ok() && !absl::IsNotFound(status)) {
    LOG(WARNING) << "master contender: cannot remove a leftover member: "
                 << status.message();
    return RetryLater(&Impl::List);
  }
  List();
}

void MasterContender::Impl::OnSession(SessionState state) {
  switch (state) {
    case SessionState::kConnecting:
      if (phase_ == Phase::kMember && disconnect_timer_ == 0) {
        std::weak_ptr<Impl> weak = weak_from_this();
        const uint64_t epoch = epoch_.load();
        disconnect_timer_ =
            loop_->PostAfter(zk_->session_timeout(), [weak, epoch] {
              std::shared_ptr<Impl> self = weak.lock();
              if (self != nullptr && self->epoch_.load() == epoch) {
                self->OnDisconnectedTooLong();
              }
            });
      }
      break;
    case SessionState::kConnected:
      loop_->Cancel(disconnect_timer_);
      disconnect_timer_ = 0;
      if (retry_step_ != nullptr) {
        RunRetry();
      } else if (phase_ == Phase::kMember) {
        List();
      }
      break;
    case SessionState::kExpired:
      loop_->Cancel(disconnect_timer_);
      disconnect_timer_ = 0;
      watch_armed_ = false;
      if (phase_ == Phase::kMember) Lose("the ZooKeeper session expired");
      break;
  }
}

void MasterContender::Impl::OnDisconnectedTooLong() {
  disconnect_timer_ = 0;
  Lose(
      absl::StrCat("disconnected from ZooKeeper for the whole session "
                   "timeout (",
                   absl::FormatDuration(zk_->session_timeout()),
                   "): the session is taken as expired"));
}

void MasterContender::Impl::RetryLater(void (Impl::*step)()) {
  retry_step_ = step;
  loop_->Cancel(retry_timer_);
  std::weak_ptr<Impl> weak = weak_from_this();
  const uint64_t epoch = epoch_.load();
  retry_timer_ = loop_->PostAfter(backoff_, [weak, epoch] {
    std::shared_ptr<Impl> self = weak.lock();
    if (self != nullptr && self->epoch_.load() == epoch) self->RunRetry();
  });
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

void MasterContender::Impl::RunRetry() {
  loop_->Cancel(retry_timer_);
  retry_timer_ = 0;
  void (Impl::*step)() = retry_step_;
  retry_step_ = nullptr;
  if (step != nullptr && phase_ != Phase::kDone && phase_ != Phase::kIdle) {
    (this->*step)();
  }
}

void MasterContender::Impl::CancelTimers() {
  loop_->Cancel(retry_timer_);
  loop_->Cancel(disconnect_timer_);
  retry_timer_ = disconnect_timer_ = 0;
  retry_step_ = nullptr;
}

void MasterContender::Impl::Elect() {
  leading_ = true;
  const std::string znode = this->znode();
  LOG(INFO) << "master contender: elected, " << znode
            << " is the lowest member of " << path_;
  cb_(Event::kElected, absl::StrCat(znode, " is the lowest member"));
}

void MasterContender::Impl::Lose(const std::string& why) {
  if (phase_ == Phase::kDone || phase_ == Phase::kIdle) return;
  const bool was_leading = leading_;
  phase_ = Phase::kDone;
  leading_ = false;
  CancelTimers();
  std::string znode = SetZnode("");
  if (!znode.empty()) zk_->Delete(znode, -1, [](absl::Status) {});
  LOG(WARNING) << "master contender: lost "
               << (was_leading ? "the lead" : "the candidacy") << " in "
               << path_ << ": " << why;
  cb_(Event::kLost, why);
}

std::string MasterContender::Impl::SetZnode(std::string znode) {
  std::lock_guard<std::mutex> lock(mu_);
  std::swap(znode_, znode);
  return znode;
}

// ------------------------------------------------------------ MasterContender

MasterContender::MasterContender(ZooKeeper* zk, std::string path,
                                 EventLoop* loop)
    : impl_(std::make_shared<Impl>(zk, std::move(path), loop)) {
  impl_->Init();
}

MasterContender::~MasterContender() { Withdraw(); }

void MasterContender::Contend(const MasterRecord& record, Callback cb) {
  const uint64_t epoch = impl_->NewEpoch();
  std::weak_ptr<Impl> weak = impl_;
  std::string data = MasterRecordToJson(record);
  impl_->Post([weak, epoch, data = std::move(data), cb = std::move(cb)] {
    if (auto self = weak.lock()) self->Start(epoch, data, cb);
  });
}

std::string MasterContender::znode() const { return impl_->znode(); }

void MasterContender::Withdraw() { impl_->Withdraw(); }

}  // namespace zk
}  // namespace agora
