// ZooKeeper: a thin seam over one ZooKeeper session, as cgroup_fs.h is over
// the cgroup filesystem. The real implementation (NewZooKeeper) wraps the C
// client libzookeeper-mt; tests use FakeZooKeeper
// (tests/fakes/fake_zookeeper.h). Contender, detector and the master's
// ZooKeeper registry all share one instance per process.
//
// Thread rule: every method is thread-safe and never blocks. Callbacks
// (completions, watchers, session events) run on the client's completion
// thread (the fake: inside the test's driving call); they must not block and
// must only post to the caller's loop.
//
// Errors (absl canonical codes, message naming the path and ZooKeeper's
// error): NotFound (ZNONODE), AlreadyExists (ZNODEEXISTS),
// FailedPrecondition (ZBADVERSION, ZNOTEMPTY, ZNOCHILDRENFOREPHEMERALS),
// Unavailable (connection loss, operation timeout, session expired,
// closing), InvalidArgument (bad path or arguments, a request over
// kMaxRequestBytes), PermissionDenied (ZNOAUTH), Unauthenticated
// (ZAUTHFAILED), Internal (anything else).
#ifndef AGORA_ZOOKEEPER_ZOOKEEPER_H_
#define AGORA_ZOOKEEPER_ZOOKEEPER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace agora {
namespace zk {

// A parsed --zk / --master value: "zk://[user:pass@]h1:p1,h2:p2/path".
struct Url {
  std::vector<std::string> servers;  // "host:port", in the given order.
  std::string path;                  // Absolute, no trailing '/'.
  std::string credentials;           // "user:pass" (digest auth), or empty.

  // "h1:p1,h2:p2", what zookeeper_init takes.
  std::string ConnectString() const;
  // "zk://h1:p1,h2:p2/path" without the credentials, for logs.
  std::string ToString() const;
};

// Parses "zk://..." or "file:///abs/path" whose file holds such a URL (one
// line; surrounding whitespace ignored). InvalidArgument naming the value
// and what is wrong; NotFound/PermissionDenied when the file cannot be read.
absl::StatusOr<Url> ParseUrl(absl::string_view value);

// ZooKeeper refuses a request larger than its jute.maxbuffer (1 MiB by
// default) by dropping the connection, not with an error; requests (a
// create's or set's data, or a multi's ops together) above this are refused
// on the client with InvalidArgument before anything is sent.
inline constexpr size_t kMaxRequestBytes = 1000 * 1000;

enum class SessionState {
  kConnecting,  // No connection; the session may still be alive.
  kConnected,
  kExpired,  // The session and its ephemerals are gone. The client opens a
             // new session by itself (reported as kConnecting, then
             // kConnected with a new session_id()); watches are dropped.
};

const char* SessionStateName(SessionState state);

struct Stat {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int64_t ephemeral_owner = 0;
  int32_t data_length = 0;
  int32_t num_children = 0;
};

// Flags for Create and Op::Create.
inline constexpr int kPersistent = 0;
inline constexpr int kEphemeral = 1;
inline constexpr int kSequence = 2;

// One operation of a Multi. version -1 means any version.
struct Op {
  enum class Kind { kCreate, kDelete, kSetData, kCheck };
  Kind kind = Kind::kCheck;
  std::string path;
  std::string data;
  int flags = kPersistent;
  int32_t version = -1;

  static Op Create(std::string path, std::string data, int flags = kPersistent);
  static Op Delete(std::string path, int32_t version = -1);
  static Op SetData(std::string path, std::string data, int32_t version = -1);
  // Fails the whole Multi unless `path` exists (with `version`, unless -1).
  static Op Check(std::string path, int32_t version = -1);
};

// The request-size rule: each op counts its path and data plus
// kOpOverheadBytes (headers, ACLs); a Create or SetData is one op, a Multi
// the sum of its ops. Callers batching ops into a Multi use this to stay
// under kMaxRequestBytes.
inline constexpr size_t kOpOverheadBytes = 64;
size_t RequestBytes(const Op& op);
size_t RequestBytes(const std::vector<Op>& ops);

class ZooKeeper {
 public:
  using Done = std::function<void(absl::Status)>;
  // Fired at most once, when the watched node or its children change (or
  // the node is created/deleted). Never fired for session events: after an
  // expiry, watches are dropped silently and OnSessionEvent says so.
  using Watcher = std::function<void()>;

  virtual ~ZooKeeper() = default;

  // Adds a listener for every later session state change. Listeners are
  // never removed; register them before the first operation.
  virtual void OnSessionEvent(std::function<void(SessionState)> cb) = 0;
  virtual SessionState state() const = 0;
  // The current session's id, 0 while none was ever established.
  virtual int64_t session_id() const = 0;
  // The negotiated session timeout once connected, the requested one
  // before.
  virtual absl::Duration session_timeout() const = 0;

  // Creates `path` (its parent must exist) with `data`; `done` gets the
  // created path (with the sequence suffix for kSequence).
  virtual void Create(
      const std::string& path, const std::string& data, int flags,
      std::function<void(absl::StatusOr<std::string>)> done) = 0;
  // Creates `path` and every missing ancestor as empty persistent nodes;
  // OK when it already exists.
  virtual void CreateRecursive(const std::string& path, Done done) = 0;
  virtual void Delete(const std::string& path, int32_t version, Done done) = 0;
  virtual void Get(
      const std::string& path,
      std::function<void(absl::StatusOr<std::pair<std::string, Stat>>)>
          done) = 0;
  // Children names (not paths), unsorted. `watcher` may be null.
  virtual void GetChildren(
      const std::string& path, Watcher watcher,
      std::function<void(absl::StatusOr<std::vector<std::string>>)> done) = 0;
  // nullopt when the node does not exist (then `watcher` fires on its
  // creation). `watcher` may be null.
  virtual void Exists(
      const std::string& path, Watcher watcher,
      std::function<void(absl::StatusOr<std::optional<Stat>>)> done) = 0;
  // All or none. On failure the status is the first failing op's, with its
  // index and path in the message.
  virtual void Multi(std::vector<Op> ops, Done done) = 0;
  // Brings this client's view up to date with the leader's (before reads
  // that must see every committed write).
  virtual void Sync(const std::string& path, Done done) = 0;

  // Ends the session at once (its ephemerals vanish without waiting for the
  // timeout: what makes a SIGTERM failover fast). Pending callbacks get
  // Unavailable. Idempotent; the destructor calls it.
  virtual void Close() = 0;
};

// Connects to `url`'s servers (asynchronously: returns at once, the session
// is reported through OnSessionEvent) with `session_timeout` requested, and
// digest auth when the URL carries credentials (nodes are then created
// readable by all and writable by the creator, as Mesos does).
// InvalidArgument when the C client refuses the connect string.
absl::StatusOr<std::unique_ptr<ZooKeeper>> NewZooKeeper(
    const Url& url, absl::Duration session_timeout);

}  // namespace zk
}  // namespace agora

#endif  // AGORA_ZOOKEEPER_ZOOKEEPER_H_
