// The real ZooKeeper session over the C client libzookeeper-mt.
//
// The C client runs two threads per handle (I/O and completion). Our C
// callbacks only convert results and post them to `dispatch_`, a loop of our
// own that runs every user callback in order: completions, watches and
// session events keep the order the C client gave them, a callback may issue
// operations, and after destruction nothing runs (the loop is stopped).
//
// A C handle whose session expired is dead; the client closes it on the
// dispatch loop and opens a new one (a new session). Watch callbacks are
// kept in a registry keyed by id (the C watcher context is the id, never a
// pointer), so a watch the C client drops with its handle leaks nothing.
// The C-side pieces (callbacks, error codes) are in c_client.{h,cc}.
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/event_loop.h"
#include "glog/logging.h"
#include "zookeeper/c_client.h"
#include "zookeeper/zookeeper.h"

namespace agora {
namespace zk {
namespace {

using internal::Call;
using internal::CallSink;
using internal::ErrorFromRc;
using internal::HandleContext;
using internal::MultiCall;
using internal::TypedCall;

class CZooKeeper final : public ZooKeeper, public CallSink {
 public:
  CZooKeeper(Url url, absl::Duration session_timeout);
  ~CZooKeeper() override;

  absl::Status Start();

  void OnSessionEvent(std::function<void(SessionState)> cb) override;
  SessionState state() const override { return state_.load(); }
  int64_t session_id() const override { return session_id_.load(); }
  absl::Duration session_timeout() const override {
    return absl::Milliseconds(timeout_ms_.load());
  }
  void Create(const std::string& path, const std::string& data, int flags,
              std::function<void(absl::StatusOr<std::string>)> done) override;
  void CreateRecursive(const std::string& path, Done done) override;
  void Delete(const std::string& path, int32_t version, Done done) override;
  void Get(const std::string& path,
           std::function<void(absl::StatusOr<std::pair<std::string, Stat>>)>
               done) override;
  void GetChildren(const std::string& path, Watcher watcher,
                   std::function<void(absl::StatusOr<std::vector<std::string>>)>
                       done) override;
  void Exists(
      const std::string& path, Watcher watcher,
      std::function<void(absl::StatusOr<std::optional<Stat>>)> done) override;
  void Multi(std::vector<Op> ops, Done done) override;
  void Sync(const std::string& path, Done done) override;
  void Close() override;

  // CallSink, from the C client's threads.
  void Dispatch(std::function<void()> fn) override;
  void OnHandleEvent(uint64_t generation, int state, int64_t session_id,
                     int timeout_ms) override;
  void FireWatch(uint64_t id) override;
  void ForgetWatch(uint64_t id) override;

 private:
  // Opens a new handle (a new session). On the dispatch loop, or in Start().
  absl::Status Open();
  // Closes the expired handle and opens a new one. On the dispatch loop.
  void Reopen();
  void Report(SessionState state);
  uint64_t AddWatch(Watcher watcher);
  // Issues `call` with `issue` on the current handle; a call that could not
  // be sent is answered at once (on the dispatch loop).
  void Submit(std::unique_ptr<Call> call,
              const std::function<int(zhandle_t*, Call*)>& issue);
  const ::ACL_vector* Acl() const;

  const Url url_;
  const int requested_timeout_ms_;
  EventLoop dispatch_;
  std::atomic<bool> quiet_{false};  // Set by the destructor.

  std::atomic<SessionState> state_{SessionState::kConnecting};
  std::atomic<int64_t> session_id_{0};
  std::atomic<int> timeout_ms_;

  // The handle: shared while a call is being issued, exclusive to swap it.
  mutable std::shared_mutex handle_mu_;
  zhandle_t* zh_ ABSL_GUARDED_BY(handle_mu_) = nullptr;
  std::unique_ptr<HandleContext> handle_ctx_ ABSL_GUARDED_BY(handle_mu_);
  bool closed_ ABSL_GUARDED_BY(handle_mu_) = false;
  std::atomic<uint64_t> generation_{0};

  std::mutex mu_;
  std::vector<std::function<void(SessionState)>> listeners_
      ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Watcher> watches_ ABSL_GUARDED_BY(mu_);
  uint64_t next_watch_id_ ABSL_GUARDED_BY(mu_) = 1;

  // Creator-all plus world-read, used when the URL carries credentials.
  ::ACL acl_entries_[2];
  ::ACL_vector creator_acl_;
};

// ------------------------------------------------------ C callbacks --
// ------------------------------------------------------------ client --

CZooKeeper::CZooKeeper(Url url, absl::Duration session_timeout)
    : url_(std::move(url)),
      requested_timeout_ms_(
          static_cast<int>(absl::ToInt64Milliseconds(session_timeout))),
      dispatch_("zookeeper"),
      timeout_ms_(requested_timeout_ms_) {
  acl_entries_[0] = {ZOO_PERM_ALL, ZOO_AUTH_IDS};
  acl_entries_[1] = {ZOO_PERM_READ, ZOO_ANYONE_ID_UNSAFE};
  creator_acl_ = {2, acl_entries_};
}

CZooKeeper::~CZooKeeper() {
  CHECK(!dispatch_.IsLoopThread())
      << "a ZooKeeper client destroyed from its own callback";
  quiet_ = true;
  Close();
  dispatch_.Stop();
}

absl::Status CZooKeeper::Start() {
  static std::once_flag quiet_library;
  std::call_once(quiet_library,
                 [] { zoo_set_debug_level(ZOO_LOG_LEVEL_WARN); });
  dispatch_.Start();
  return Open();
}

absl::Status CZooKeeper::Open() {
  auto context = std::make_unique<HandleContext>();
  context->sink = this;
  context->generation = generation_.fetch_add(1) + 1;
  zhandle_t* zh =
      zookeeper_init2(url_.ConnectString().c_str(), internal::SessionWatcher,
                      requested_timeout_ms_, nullptr, context.get(),
                      ZOO_NO_LOG_CLIENTENV, internal::LogToGlog);
  if (zh == nullptr) {
    int error = errno;
    return absl::InvalidArgumentError(
        absl::StrCat("failed to open a ZooKeeper session to '", url_.ToString(),
                     "': ", std::strerror(error)));
  }
  if (!url_.credentials.empty()) {
    int rc = zoo_add_auth(zh, "digest", url_.credentials.data(),
                          static_cast<int>(url_.credentials.size()), nullptr,
                          nullptr);
    if (rc != ZOK) {
      zookeeper_close(zh);
      return ErrorFromRc(
          rc, absl::StrCat("digest auth to '", url_.ToString(), "'"));
    }
  }
  std::unique_lock<std::shared_mutex> lock(handle_mu_);
  if (closed_) {
    lock.unlock();
    zookeeper_close(zh);
    return absl::OkStatus();
  }
  zh_ = zh;
  handle_ctx_ = std::move(context);
  return absl::OkStatus();
}

void CZooKeeper::Reopen() {
  zhandle_t* old = nullptr;
  std::unique_ptr<HandleContext> old_context;
  bool closed = false;
  {
    std::unique_lock<std::shared_mutex> lock(handle_mu_);
    old = zh_;
    zh_ = nullptr;
    old_context = std::move(handle_ctx_);
    closed = closed_;
  }
  // Outstanding completions get ZCLOSING here (posted, so they run after
  // this); the old handle's watches are dropped silently, as documented.
  if (old != nullptr) zookeeper_close(old);
  {
    std::lock_guard<std::mutex> lock(mu_);
    watches_.clear();
  }
  if (closed) return;
  absl::Status opened = Open();
  if (!opened.ok()) {
    LOG(WARNING) << opened << "; retrying in 1 s";
    dispatch_.PostAfter(absl::Seconds(1), [this] { Reopen(); });
    return;
  }
  Report(SessionState::kConnecting);
}

void CZooKeeper::Dispatch(std::function<void()> fn) {
  dispatch_.Post([this, fn = std::move(fn)] {
    if (!quiet_) fn();
  });
}

void CZooKeeper::OnHandleEvent(uint64_t generation, int state,
                               int64_t session_id, int timeout_ms) {
  dispatch_.Post([this, generation, state, session_id, timeout_ms] {
    if (generation != generation_.load() || quiet_) return;
    if (state == ZOO_CONNECTED_STATE) {
      session_id_ = session_id;
      timeout_ms_ = timeout_ms;
      Report(SessionState::kConnected);
    } else if (state == ZOO_CONNECTING_STATE ||
               state == ZOO_ASSOCIATING_STATE) {
      Report(SessionState::kConnecting);
    } else if (state == ZOO_EXPIRED_SESSION_STATE ||
               state == ZOO_AUTH_FAILED_STATE) {
      LOG(WARNING) << "ZooKeeper session 0x" << std::hex << session_id_.load()
                   << std::dec << " to " << url_.ToString()
                   << (state == ZOO_AUTH_FAILED_STATE ? " failed authentication"
                                                      : " expired")
                   << "; opening a new session";
      Report(SessionState::kExpired);
      Reopen();
    }
  });
}

void CZooKeeper::Report(SessionState state) {
  if (state != SessionState::kExpired && state_.load() == state) return;
  state_ = state;
  std::vector<std::function<void(SessionState)>> listeners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listeners = listeners_;
  }
  for (const auto& listener : listeners) listener(state);
}

void CZooKeeper::OnSessionEvent(std::function<void(SessionState)> cb) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.push_back(std::move(cb));
}

uint64_t CZooKeeper::AddWatch(Watcher watcher) {
  if (watcher == nullptr) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_watch_id_++;
  watches_.emplace(id, std::move(watcher));
  return id;
}

void CZooKeeper::FireWatch(uint64_t id) {
  Watcher watcher;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    watcher = std::move(it->second);
    watches_.erase(it);
  }
  Dispatch(std::move(watcher));
}

void CZooKeeper::ForgetWatch(uint64_t id) {
  if (id == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  watches_.erase(id);
}

const ::ACL_vector* CZooKeeper::Acl() const {
  return url_.credentials.empty() ? &ZOO_OPEN_ACL_UNSAFE : &creator_acl_;
}

void CZooKeeper::Submit(std::unique_ptr<Call> call,
                        const std::function<int(zhandle_t*, Call*)>& issue) {
  int rc;
  {
    std::shared_lock<std::shared_mutex> lock(handle_mu_);
    if (zh_ == nullptr) {
      rc = closed_ ? ZCLOSING : ZCONNECTIONLOSS;
    } else {
      rc = issue(zh_, call.get());
    }
  }
  if (rc == ZOK) {
    call.release();  // The completion owns it now.
    return;
  }
  ForgetWatch(call->watch_id);
  call->Fail(ErrorFromRc(rc, call->what));
}

void CZooKeeper::Create(const std::string& path, const std::string& data,
                        int flags,
                        std::function<void(absl::StatusOr<std::string>)> done) {
  auto call = std::make_unique<TypedCall<absl::StatusOr<std::string>>>();
  call->sink = this;
  call->what = absl::StrCat("create '", path, "'");
  call->done = std::move(done);
  size_t bytes = RequestBytes(Op::Create(path, data, flags));
  if (bytes > kMaxRequestBytes || (flags & ~(kEphemeral | kSequence)) != 0) {
    return call->Fail(absl::InvalidArgumentError(
        absl::StrCat(call->what, ": ",
                     bytes > kMaxRequestBytes
                         ? absl::StrCat("request of ", bytes,
                                        " bytes is over the ", kMaxRequestBytes,
                                        "-byte limit of ZooKeeper requests")
                         : absl::StrCat("bad flags ", flags))));
  }
  Submit(std::move(call), [&](zhandle_t* zh, Call* c) {
    return zoo_acreate(zh, path.c_str(), data.data(),
                       static_cast<int>(data.size()), Acl(),
                       internal::CreateMode(flags), internal::OnCreated, c);
  });
}

// Creates the missing prefixes of a path one after the other.
struct RecursiveCreate : std::enable_shared_from_this<RecursiveCreate> {
  ZooKeeper* zk;
  std::vector<std::string> prefixes;
  size_t next = 0;
  ZooKeeper::Done done;

  void Step() {
    if (next == prefixes.size()) return done(absl::OkStatus());
    zk->Create(prefixes[next++], "", kPersistent,
               [self = shared_from_this()](absl::StatusOr<std::string> r) {
                 if (!r.ok() && !absl::IsAlreadyExists(r.status())) {
                   return self->done(r.status());
                 }
                 self->Step();
               });
  }
};

void CZooKeeper::CreateRecursive(const std::string& path, Done done) {
  auto job = std::make_shared<RecursiveCreate>();
  job->zk = this;
  job->done = std::move(done);
  std::string prefix;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&prefix, "/", part);
    job->prefixes.push_back(prefix);
  }
  if (path.empty() || path[0] != '/') {
    job->prefixes = {path};  // The create reports the bad path.
  }
  // Most of the time the path is there: one read instead of N creates
  // (which an ACL on an existing ancestor could also refuse).
  Exists(path, nullptr, [job](absl::StatusOr<std::optional<Stat>> stat) {
    if (stat.ok() && stat->has_value()) return job->done(absl::OkStatus());
    job->Step();
  });
}

void CZooKeeper::Delete(const std::string& path, int32_t version, Done done) {
  auto call = std::make_unique<TypedCall<absl::Status>>();
  call->sink = this;
  call->what = absl::StrCat("delete '", path, "'");
  call->done = std::move(done);
  Submit(std::move(call), [&](zhandle_t* zh, Call* c) {
    return zoo_adelete(zh, path.c_str(), version, internal::OnDone, c);
  });
}

void CZooKeeper::Get(
    const std::string& path,
    std::function<void(absl::StatusOr<std::pair<std::string, Stat>>)> done) {
  auto call = std::make_unique<
      TypedCall<absl::StatusOr<std::pair<std::string, Stat>>>>();
  call->sink = this;
  call->what = absl::StrCat("get '", path, "'");
  call->done = std::move(done);
  Submit(std::move(call), [&](zhandle_t* zh, Call* c) {
    return zoo_aget(zh, path.c_str(), 0, internal::OnData, c);
  });
}

void CZooKeeper::GetChildren(
    const std::string& path, Watcher watcher,
    std::function<void(absl::StatusOr<std::vector<std::string>>)> done) {
  auto call =
      std::make_unique<TypedCall<absl::StatusOr<std::vector<std::string>>>>();
  call->sink = this;
  call->what = absl::StrCat("get children of '", path, "'");
  call->done = std::move(done);
  call->watch_id = AddWatch(std::move(watcher));
  Submit(std::move(call), [&](zhandle_t* zh, Call* c) {
    return zoo_awget_children(
        zh, path.c_str(), c->watch_id != 0 ? internal::CallWatcher : nullptr,
        internal::WatchContext(c->watch_id), internal::OnChildren, c);
  });
}

void CZooKeeper::Exists(
    const std::string& path, Watcher watcher,
    std::function<void(absl::StatusOr<std::optional<Stat>>)> done) {
  auto call =
      std::make_unique<TypedCall<absl::StatusOr<std::optional<Stat>>>>();
  call->sink = this;
  call->what = absl::StrCat("exists '", path, "'");
  call->done = std::move(done);
  call->watch_id = AddWatch(std::move(watcher));
  Submit(std::move(call), [&](zhandle_t* zh, Call* c) {
    return zoo_awexists(
        zh, path.c_str(), c->watch_id != 0 ? internal::CallWatcher : nullptr,
        internal::WatchContext(c->watch_id), internal::OnExists, c);
  });
}

void CZooKeeper::Multi(std::vector<Op> ops, Done done) {
  auto call = std::make_unique<MultiCall>();
  call->sink = this;
  call->what = absl::StrCat("multi of ", ops.size(), " ops");
  call->done = std::move(done);
  size_t bytes = RequestBytes(ops);
  if (bytes > kMaxRequestBytes) {
    return call->Fail(absl::InvalidArgumentError(
        absl::StrCat(call->what, ": request of ", bytes, " bytes is over the ",
                     kMaxRequestBytes, "-byte limit of ZooKeeper requests")));
  }
  if (ops.empty()) return call->Fail(absl::OkStatus());
  call->ops = std::move(ops);
  const size_t n = call->ops.size();
  call->c_ops.resize(n);
  call->results.resize(n);
  call->created_paths.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const Op& op = call->ops[i];
    zoo_op_t* c_op = &call->c_ops[i];
    switch (op.kind) {
      case Op::Kind::kCreate: {
        std::string& buffer = call->created_paths[i];
        buffer.assign(op.path.size() + 16, '\0');
        zoo_create_op_init(c_op, op.path.c_str(), op.data.data(),
                           static_cast<int>(op.data.size()), Acl(),
                           internal::CreateMode(op.flags), buffer.data(),
                           static_cast<int>(buffer.size()));
        break;
      }
      case Op::Kind::kDelete:
        zoo_delete_op_init(c_op, op.path.c_str(), op.version);
        break;
      case Op::Kind::kSetData:
        zoo_set_op_init(c_op, op.path.c_str(), op.data.data(),
                        static_cast<int>(op.data.size()), op.version, nullptr);
        break;
      case Op::Kind::kCheck:
        zoo_check_op_init(c_op, op.path.c_str(), op.version);
        break;
    }
  }
  MultiCall* raw = call.get();
  Submit(std::move(call), [raw, n](zhandle_t* zh, Call*) {
    return zoo_amulti(zh, static_cast<int>(n), raw->c_ops.data(),
                      raw->results.data(), internal::OnMulti, raw);
  });
}

void CZooKeeper::Sync(const std::string& path, Done done) {
  auto call = std::make_unique<TypedCall<absl::Status>>();
  call->sink = this;
  call->what = absl::StrCat("sync '", path, "'");
  call->done = std::move(done);
  Submit(std::move(call), [&](zhandle_t* zh, Call* c) {
    return zoo_async(zh, path.c_str(), internal::OnSynced, c);
  });
}

void CZooKeeper::Close() {
  zhandle_t* zh = nullptr;
  std::unique_ptr<HandleContext> context;
  {
    std::unique_lock<std::shared_mutex> lock(handle_mu_);
    if (closed_) return;
    closed_ = true;
    zh = zh_;
    zh_ = nullptr;
    context = std::move(handle_ctx_);
  }
  // Ends the session on the server (its ephemerals vanish now) and answers
  // every outstanding call with ZCLOSING before returning.
  if (zh != nullptr) zookeeper_close(zh);
  std::lock_guard<std::mutex> lock(mu_);
  watches_.clear();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ZooKeeper>> NewZooKeeper(
    const Url& url, absl::Duration session_timeout) {
  if (url.servers.empty()) {
    return absl::InvalidArgumentError("ZooKeeper URL without servers");
  }
  auto client = std::make_unique<CZooKeeper>(url, session_timeout);
  absl::Status started = client->Start();
  if (!started.ok()) return started;
  return std::unique_ptr<ZooKeeper>(std::move(client));
}

}  // namespace zk
}  // namespace agora
