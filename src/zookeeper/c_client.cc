// The C callbacks of the real client: convert what the C client hands over
// and pass it to the CallSink. See c_client.h.
#include "zookeeper/c_client.h"

#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"

namespace agora {
namespace zk {
namespace internal {

absl::Status ErrorFromRc(int rc, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", zerror(rc));
  switch (rc) {
    case ZNONODE:
      return absl::NotFoundError(message);
    case ZNODEEXISTS:
      return absl::AlreadyExistsError(message);
    case ZBADVERSION:
    case ZNOTEMPTY:
    case ZNOCHILDRENFOREPHEMERALS:
      return absl::FailedPreconditionError(message);
    case ZCONNECTIONLOSS:
    case ZOPERATIONTIMEOUT:
    case ZSESSIONEXPIRED:
    case ZCLOSING:
    case ZINVALIDSTATE:
    case ZSESSIONMOVED:
    case ZTHROTTLEDOP:
      return absl::UnavailableError(message);
    case ZBADARGUMENTS:
    case ZINVALIDACL:
      return absl::InvalidArgumentError(message);
    case ZNOAUTH:
      return absl::PermissionDeniedError(message);
    case ZAUTHFAILED:
      return absl::UnauthenticatedError(message);
    default:
      return absl::InternalError(message);
  }
}

Stat StatFromC(const ::Stat* s) {
  Stat stat;
  if (s == nullptr) return stat;
  stat.czxid = s->czxid;
  stat.mzxid = s->mzxid;
  stat.version = s->version;
  stat.cversion = s->cversion;
  stat.ephemeral_owner = s->ephemeralOwner;
  stat.data_length = s->dataLength;
  stat.num_children = s->numChildren;
  return stat;
}

int CreateMode(int flags) {
  const bool ephemeral = (flags & kEphemeral) != 0;
  if ((flags & kSequence) != 0) {
    return ephemeral ? ZOO_EPHEMERAL_SEQUENTIAL : ZOO_PERSISTENT_SEQUENTIAL;
  }
  return ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT;
}

// The C client's own log lines (WARN and ERROR only) go to glog, at most one
// a second: a client that cannot reach its servers logs every attempt.
void LogToGlog(const char* message) {
  static std::mutex mu;
  static absl::Time last = absl::InfinitePast();
  static int suppressed = 0;
  std::lock_guard<std::mutex> lock(mu);
  absl::Time now = absl::Now();
  if (now - last < absl::Seconds(1)) {
    ++suppressed;
    return;
  }
  absl::string_view line = absl::StripTrailingAsciiWhitespace(message);
  LOG(WARNING) << "zookeeper client: " << line
               << (suppressed > 0
                       ? absl::StrCat(" (", suppressed, " lines suppressed)")
                       : "");
  last = now;
  suppressed = 0;
}

void* WatchContext(uint64_t id) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(id));
}

namespace {

CallSink* SinkOf(zhandle_t* zh) {
  return static_cast<HandleContext*>(const_cast<void*>(zoo_get_context(zh)))
      ->sink;
}

template <typename T>
TypedCall<T>* Take(const void* data) {
  return static_cast<TypedCall<T>*>(const_cast<void*>(data));
}

}  // namespace

void SessionWatcher(zhandle_t* zh, int type, int state, const char*,
                    void* context) {
  if (type != ZOO_SESSION_EVENT) return;
  auto* handle = static_cast<HandleContext*>(context);
  // Read here: the handle is alive while its watcher runs, which the
  // client's own pointer to it may not be yet.
  int64_t session_id = 0;
  int timeout_ms = 0;
  if (state == ZOO_CONNECTED_STATE) {
    session_id = zoo_client_id(zh)->client_id;
    timeout_ms = zoo_recv_timeout(zh);
  }
  handle->sink->OnHandleEvent(handle->generation, state, session_id,
                              timeout_ms);
}

void CallWatcher(zhandle_t* zh, int type, int, const char*, void* context) {
  // Session events reach every watcher; the session watcher handles them.
  if (type == ZOO_SESSION_EVENT) return;
  SinkOf(zh)->FireWatch(reinterpret_cast<uintptr_t>(context));
}

void OnCreated(int rc, const char* value, const void* data) {
  std::unique_ptr<TypedCall<absl::StatusOr<std::string>>> call(
      Take<absl::StatusOr<std::string>>(data));
  if (rc != ZOK) return call->Fail(ErrorFromRc(rc, call->what));
  call->sink->Dispatch([done = std::move(call->done),
                        path = std::string(value)] { done(path); });
}

void OnDone(int rc, const void* data) {
  std::unique_ptr<TypedCall<absl::Status>> call(Take<absl::Status>(data));
  if (rc != ZOK) return call->Fail(ErrorFromRc(rc, call->what));
  call->sink->Dispatch(
      [done = std::move(call->done)] { done(absl::OkStatus()); });
}

void OnSynced(int rc, const char*, const void* data) { OnDone(rc, data); }

void OnData(int rc, const char* value, int value_len, const ::Stat* stat,
            const void* data) {
  using T = absl::StatusOr<std::pair<std::string, Stat>>;
  std::unique_ptr<TypedCall<T>> call(Take<T>(data));
  if (rc != ZOK) return call->Fail(ErrorFromRc(rc, call->what));
  std::string bytes;
  if (value != nullptr && value_len > 0) bytes.assign(value, value_len);
  call->sink->Dispatch(
      [done = std::move(call->done),
       result = std::make_pair(std::move(bytes), StatFromC(stat))] {
        done(result);
      });
}

void OnChildren(int rc, const ::String_vector* strings, const void* data) {
  using T = absl::StatusOr<std::vector<std::string>>;
  std::unique_ptr<TypedCall<T>> call(Take<T>(data));
  if (rc != ZOK) {
    // The C client sets the watch only on success.
    call->sink->ForgetWatch(call->watch_id);
    return call->Fail(ErrorFromRc(rc, call->what));
  }
  std::vector<std::string> names;
  for (int i = 0; strings != nullptr && i < strings->count; ++i) {
    names.emplace_back(strings->data[i]);
  }
  call->sink->Dispatch([done = std::move(call->done),
                        names = std::move(names)] { done(names); });
}

void OnExists(int rc, const ::Stat* stat, const void* data) {
  using T = absl::StatusOr<std::optional<Stat>>;
  std::unique_ptr<TypedCall<T>> call(Take<T>(data));
  if (rc != ZOK && rc != ZNONODE) {
    call->sink->ForgetWatch(call->watch_id);
    return call->Fail(ErrorFromRc(rc, call->what));
  }
  std::optional<Stat> result;
  if (rc == ZOK) result = StatFromC(stat);
  call->sink->Dispatch(
      [done = std::move(call->done), result] { done(result); });
}

void OnMulti(int rc, const void* data) {
  std::unique_ptr<MultiCall> call(
      static_cast<MultiCall*>(const_cast<void*>(data)));
  if (rc == ZOK) {
    call->sink->Dispatch(
        [done = std::move(call->done)] { done(absl::OkStatus()); });
    return;
  }
  // The failing op carries its own error; the others are ZOK (rolled back)
  // or ZRUNTIMEINCONSISTENCY (not tried).
  for (size_t i = 0; i < call->results.size(); ++i) {
    int err = call->results[i].err;
    if (err == ZOK || err == ZRUNTIMEINCONSISTENCY) continue;
    const Op& op = call->ops[i];
    static constexpr const char* kNames[] = {"create", "delete", "set",
                                             "check"};
    return call->Fail(ErrorFromRc(
        err,
        absl::StrCat("multi op ", i, " of ", call->ops.size(), ": ",
                     kNames[static_cast<int>(op.kind)], " '", op.path, "'")));
  }
  call->Fail(ErrorFromRc(rc, call->what));
}

}  // namespace internal
}  // namespace zk
}  // namespace agora
