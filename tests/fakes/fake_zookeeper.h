// FakeZooKeeper: an in-memory zk::ZooKeeper for unit tests. A
// FakeZooKeeperServer holds one node tree (data, Stat, versions, ephemerals,
// sequential names, one-shot watches, atomic Multi); several FakeZooKeeper
// clients, each its own session, share it, so a test can run two masters'
// sessions against one "ensemble".
//
// An operation is applied to the tree when it is called; its reply (and the
// watch notifications and session events it causes) are delivered through
// the server's FIFO queue: at once by default, or, after
// set_deliver_immediately(false), only when the test calls RunPending() /
// RunOnePending(), so a test can look at in-flight states. Delivery never
// runs inside another delivery: a callback that issues an operation sees its
// reply after the callback returns.
//
// Test controls on a client: Expire() (its ephemerals vanish, other
// sessions' watches fire, kExpired then a new session: kConnecting,
// kConnected), Disconnect()/Reconnect() within the session (operations fail
// Unavailable meanwhile; replies not yet delivered are lost as Unavailable;
// watches that fire meanwhile are delivered after the reconnection),
// FailNext() and LoseNextReplies() to inject errors.
//
// Differences from a real server, on purpose: GetChildren returns names in
// reverse order (callers must not rely on any order); a session never
// expires by itself (the test calls Expire()); the negotiated session
// timeout is the requested one.
//
// Thread rule: every method is thread-safe. Callbacks run on the thread that
// drains the queue (the caller of the operation in immediate mode, the
// caller of RunPending() otherwise), never under the server's lock.
#ifndef AGORA_TESTS_FAKES_FAKE_ZOOKEEPER_H_
#define AGORA_TESTS_FAKES_FAKE_ZOOKEEPER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "zookeeper/zookeeper.h"

namespace agora {
namespace zk {

class FakeZooKeeper;

class FakeZooKeeperServer {
 public:
  FakeZooKeeperServer();
  // Every client must be destroyed before its server.
  ~FakeZooKeeperServer();

  FakeZooKeeperServer(const FakeZooKeeperServer&) = delete;
  FakeZooKeeperServer& operator=(const FakeZooKeeperServer&) = delete;

  // true (the default): deliveries run as soon as they are queued. false:
  // they wait for RunPending()/RunOnePending().
  void set_deliver_immediately(bool immediately);
  // Runs queued deliveries, and those they queue, until none is left.
  // Returns how many ran.
  int RunPending();
  // Runs the oldest queued delivery; false when the queue was empty.
  bool RunOnePending();
  size_t pending() const;

  // Synchronous views of the tree for assertions (no watches, no sessions).
  bool NodeExists(const std::string& path) const;
  std::optional<std::string> NodeData(const std::string& path) const;
  std::optional<Stat> NodeStat(const std::string& path) const;
  // Children names, sorted; empty when the node does not exist.
  std::vector<std::string> NodeChildren(const std::string& path) const;
  // Number of operations that reached the tree (successful or not), for
  // tests that check a retry happened or did not.
  int operations() const;

 private:
  friend class FakeZooKeeper;
  struct Node {
    std::string data;
    Stat stat;  // data_length and num_children are filled when read.
    std::set<std::string> children;
  };
  struct Watch {
    uint64_t id;
    ZooKeeper::Watcher fn;
  };
  // One client (session) of the server.
  struct Client {
    absl::Duration session_timeout;
    int64_t session_id = 0;
    bool connected = true;
    bool closed = false;
    bool destroyed = false;
    std::deque<absl::Status> fail_next;
    int lose_replies = 0;
    std::multimap<std::string, Watch> data_watches;
    std::multimap<std::string, Watch> child_watches;
    std::vector<ZooKeeper::Watcher> held;  // Fired while disconnected.
    // What the client has been told (updated when events are delivered).
    SessionState visible_state = SessionState::kConnected;
    int64_t visible_session_id = 0;
    std::vector<std::function<void(SessionState)>> listeners;
  };
  struct Delivery {
    std::shared_ptr<Client> client;
    std::function<void()> fn;
    // Replaces `fn` when the reply is lost before delivery (disconnection,
    // expiry, close); null for notifications, which are never lost.
    std::function<void()> if_lost;
    // The watch the operation set, removed when its reply is lost.
    uint64_t watch_id = 0;
  };
  using Tree = std::map<std::string, Node>;
  // A watch to fire once the operation's changes are in the tree.
  struct Trigger {
    enum Kind { kData, kChildren } kind;
    std::string path;
  };

  std::shared_ptr<Client> Connect(absl::Duration session_timeout);
  // Queues `deliveries` and, in immediate mode, drains the queue.
  void Deliver(std::vector<Delivery> deliveries);
  bool PopNext(Delivery* out);

  // Admission of an operation from `client`: Unavailable when closed or
  // disconnected, the next injected failure, or OK.
  absl::Status AdmitLocked(Client& client, const std::string& what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // True when the reply of an admitted operation must be lost.
  bool LoseReplyLocked(Client& client) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Tree operations on `tree` (the live one, or Multi's copy); they append
  // the watches to fire to `triggers`. Only the `...Locked` wrappers below
  // touch the live tree.
  absl::StatusOr<std::string> CreateIn(Tree& tree, const std::string& path,
                                       const std::string& data, int flags,
                                       int64_t owner, int64_t zxid,
                                       std::vector<Trigger>* triggers);
  absl::Status DeleteIn(Tree& tree, const std::string& path, int32_t version,
                        std::vector<Trigger>* triggers);
  absl::Status SetDataIn(Tree& tree, const std::string& path,
                         const std::string& data, int32_t version, int64_t zxid,
                         std::vector<Trigger>* triggers);
  absl::Status CheckIn(const Tree& tree, const std::string& path,
                       int32_t version);
  absl::Status MultiLocked(const std::vector<Op>& ops, int64_t owner,
                           std::vector<Trigger>* triggers)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Fires (removes and queues) the watches matching `triggers`, for every
  // client; a disconnected client's are held until it reconnects.
  void FireLocked(const std::vector<Trigger>& triggers,
                  std::vector<Delivery>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes `session`'s ephemerals; appends the watches they fire.
  void DropEphemeralsLocked(int64_t session, std::vector<Delivery>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Turns the queued replies of `client` into their `if_lost` form.
  void LoseQueuedRepliesLocked(Client* client)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void UnwatchLocked(Client* client, uint64_t watch_id);
  Delivery SessionEventLocked(const std::shared_ptr<Client>& client,
                              SessionState state, int64_t session_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable std::mutex mu_;
  Tree tree_ ABSL_GUARDED_BY(mu_);
  int64_t zxid_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_session_id_ ABSL_GUARDED_BY(mu_) = 0x1000;
  int operations_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_watch_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<std::weak_ptr<Client>> clients_ ABSL_GUARDED_BY(mu_);
  std::deque<Delivery> queue_ ABSL_GUARDED_BY(mu_);
  bool deliver_immediately_ ABSL_GUARDED_BY(mu_) = true;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

class FakeZooKeeper : public ZooKeeper {
 public:
  // A client of a server of its own (server() reaches it).
  FakeZooKeeper();
  // A client of `server`, which must outlive it. Connected at once (state()
  // is kConnected without a session event).
  explicit FakeZooKeeper(FakeZooKeeperServer* server,
                         absl::Duration session_timeout = absl::Seconds(10));
  ~FakeZooKeeper() override;  // Close(); queued deliveries are dropped.

  FakeZooKeeperServer* server() const { return server_; }

  // Test controls.
  // Expires the session: its ephemerals vanish at once (other sessions'
  // watches fire), its watches are dropped, undelivered replies are lost
  // (Unavailable), and kExpired is reported; then a new session: kConnecting
  // and, with `reconnect`, kConnected with a new session_id() (else the
  // client stays disconnected until Reconnect()).
  void Expire(bool reconnect = true);
  // Loses the connection within the session: kConnecting; operations fail
  // Unavailable; undelivered replies are lost.
  void Disconnect();
  // Connects again: kConnected (same session); watches that fired meanwhile
  // are delivered after it.
  void Reconnect();
  // The next `n` operations fail with `status` without reaching the tree.
  void FailNext(int n, absl::Status status);
  // The next `n` operations reach the tree but their replies are lost
  // (Unavailable, as a timed-out create that did succeed).
  void LoseNextReplies(int n);

  // ZooKeeper.
  void OnSessionEvent(std::function<void(SessionState)> cb) override;
  SessionState state() const override;
  int64_t session_id() const override;
  absl::Duration session_timeout() const override;
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

 private:
  using Client = FakeZooKeeperServer::Client;
  using Delivery = FakeZooKeeperServer::Delivery;

  // Runs `apply` under the server's lock once the operation (`what`, for
  // messages: "create '/a'") is admitted, or answers `done` with the
  // admission error; then delivers the reply. `apply` appends the watch
  // notifications it causes and sets the id of the watch it set, if any.
  template <typename T>
  void Run(const std::string& what, std::function<void(T)> done,
           std::function<T(std::vector<Delivery>*, uint64_t*)> apply);
  // Answers `done` with `status` without reaching the server.
  template <typename T>
  void Refuse(std::function<void(T)> done, absl::Status status);

  std::unique_ptr<FakeZooKeeperServer> owned_server_;
  FakeZooKeeperServer* const server_;
  std::shared_ptr<Client> client_;
};

}  // namespace zk
}  // namespace agora

#endif  // AGORA_TESTS_FAKES_FAKE_ZOOKEEPER_H_
