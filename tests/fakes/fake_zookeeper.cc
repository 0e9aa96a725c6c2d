#include "fakes/fake_zookeeper.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace agora {
namespace zk {
namespace {

// The parent of a valid path ("/a/b" -> "/a", "/a" -> "/").
std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

// ZooKeeper's path rules: absolute, no empty, "." or ".." component, no NUL,
// no trailing '/' (except a sequential create's, whose name is then only
// the sequence).
absl::Status ValidatePath(const std::string& what, const std::string& path,
                          bool sequential) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": bad arguments (path ", why, ")"));
  };
  if (path.empty() || path[0] != '/') return bad("must start with '/'");
  if (path.size() == 1) return absl::OkStatus();
  if (path.find('\0') != std::string::npos) return bad("holds a NUL byte");
  std::string body = path.substr(1);
  if (sequential && body.back() == '/') body.pop_back();
  if (body.empty()) return absl::OkStatus();
  for (absl::string_view part : absl::StrSplit(body, '/')) {
    if (part.empty()) return bad("has an empty component");
    if (part == "." || part == "..") return bad("is relative");
  }
  return absl::OkStatus();
}

// A node's Stat with its derived fields (the node type is the server's).
template <typename NodeT>
Stat Filled(const NodeT& node) {
  Stat stat = node.stat;
  stat.data_length = static_cast<int32_t>(node.data.size());
  stat.num_children = static_cast<int32_t>(node.children.size());
  return stat;
}

absl::Status CheckVersion(const std::string& what, int32_t want, int32_t have) {
  if (want != -1 && want != have) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": bad version (expected ", want, ", node has ", have, ")"));
  }
  return absl::OkStatus();
}

absl::Status TooLarge(const std::string& what, size_t bytes) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": request of ", bytes, " bytes is over the ",
                   kMaxRequestBytes, "-byte limit of ZooKeeper requests"));
}

std::string What(absl::string_view op, const std::string& path) {
  return absl::StrCat(op, " '", path, "'");
}

}  // namespace

// ---------------------------------------------------------------- server --

FakeZooKeeperServer::FakeZooKeeperServer() { tree_["/"] = Node(); }

FakeZooKeeperServer::~FakeZooKeeperServer() = default;

void FakeZooKeeperServer::set_deliver_immediately(bool immediately) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    deliver_immediately_ = immediately;
  }
  if (immediately) RunPending();
}

bool FakeZooKeeperServer::PopNext(Delivery* out) {
  std::lock_guard<std::mutex> lock(mu_);
  while (!queue_.empty()) {
    Delivery next = std::move(queue_.front());
    queue_.pop_front();
    if (next.client != nullptr && next.client->destroyed) continue;
    *out = std::move(next);
    return true;
  }
  draining_ = false;
  return false;
}

void FakeZooKeeperServer::Deliver(std::vector<Delivery> deliveries) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Delivery& d : deliveries) queue_.push_back(std::move(d));
    if (!deliver_immediately_ || draining_) return;
    draining_ = true;
  }
  Delivery next;
  while (PopNext(&next)) next.fn();
}

int FakeZooKeeperServer::RunPending() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Called from inside a delivery: the outer drain carries on.
    if (draining_) return 0;
    draining_ = true;
  }
  int ran = 0;
  Delivery next;
  while (PopNext(&next)) {
    next.fn();
    ++ran;
  }
  return ran;
}

bool FakeZooKeeperServer::RunOnePending() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_) return false;
    draining_ = true;
  }
  Delivery next;
  if (!PopNext(&next)) return false;
  next.fn();
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = false;
  return true;
}

size_t FakeZooKeeperServer::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool FakeZooKeeperServer::NodeExists(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  return tree_.count(path) > 0;
}

std::optional<std::string> FakeZooKeeperServer::NodeData(
    const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tree_.find(path);
  if (it == tree_.end()) return std::nullopt;
  return it->second.data;
}

std::optional<Stat> FakeZooKeeperServer::NodeStat(
    const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tree_.find(path);
  if (it == tree_.end()) return std::nullopt;
  return Filled(it->second);
}

std::vector<std::string> FakeZooKeeperServer::NodeChildren(
    const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tree_.find(path);
  if (it == tree_.end()) return {};
  return {it->second.children.begin(), it->second.children.end()};
}

int FakeZooKeeperServer::operations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return operations_;
}

std::shared_ptr<FakeZooKeeperServer::Client> FakeZooKeeperServer::Connect(
    absl::Duration session_timeout) {
  auto client = std::make_shared<Client>();
  client->session_timeout = session_timeout;
  std::lock_guard<std::mutex> lock(mu_);
  client->session_id = next_session_id_++;
  client->visible_session_id = client->session_id;
  clients_.push_back(client);
  return client;
}

absl::Status FakeZooKeeperServer::AdmitLocked(Client& client,
                                              const std::string& what) {
  if (client.closed) {
    return absl::UnavailableError(absl::StrCat(what, ": zookeeper is closing"));
  }
  if (!client.connected) {
    return absl::UnavailableError(absl::StrCat(what, ": connection loss"));
  }
  if (!client.fail_next.empty()) {
    absl::Status injected = std::move(client.fail_next.front());
    client.fail_next.pop_front();
    return injected;
  }
  return absl::OkStatus();
}

bool FakeZooKeeperServer::LoseReplyLocked(Client& client) {
  if (client.lose_replies == 0) return false;
  --client.lose_replies;
  return true;
}

absl::StatusOr<std::string> FakeZooKeeperServer::CreateIn(
    Tree& tree, const std::string& path, const std::string& data, int flags,
    int64_t owner, int64_t zxid, std::vector<Trigger>* triggers) {
  const std::string what = What("create", path);
  if ((flags & ~(kEphemeral | kSequence)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": bad arguments (flags ", flags, ")"));
  }
  const bool sequential = (flags & kSequence) != 0;
  if (absl::Status valid = ValidatePath(what, path, sequential); !valid.ok()) {
    return valid;
  }
  if (path == "/" && !sequential) {
    return absl::AlreadyExistsError(absl::StrCat(what, ": node exists"));
  }
  // A sequential name is known only from its parent's cversion; the parent
  // of "/a/" or "/a/x" is "/a" either way.
  const std::string parent = Parent(sequential ? path + "0" : path);
  auto parent_it = tree.find(parent);
  if (parent_it == tree.end()) {
    return absl::NotFoundError(
        absl::StrCat(what, ": no node (parent '", parent, "' is missing)"));
  }
  Node& parent_node = parent_it->second;
  if (parent_node.stat.ephemeral_owner != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": no children for ephemerals"));
  }
  std::string created = path;
  if (sequential) {
    created += absl::StrFormat("%010d", parent_node.stat.cversion);
  }
  if (tree.count(created) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(What("create", created), ": node exists"));
  }
  Node node;
  node.data = data;
  node.stat.czxid = zxid;
  node.stat.mzxid = zxid;
  node.stat.ephemeral_owner = (flags & kEphemeral) != 0 ? owner : 0;
  tree.emplace(created, std::move(node));
  parent_node.children.insert(BaseName(created));
  ++parent_node.stat.cversion;
  triggers->push_back({Trigger::kData, created});
  triggers->push_back({Trigger::kChildren, parent});
  return created;
}

absl::Status FakeZooKeeperServer::DeleteIn(Tree& tree, const std::string& path,
                                           int32_t version,
                                           std::vector<Trigger>* triggers) {
  const std::string what = What("delete", path);
  AGORA_RETURN_IF_ERROR(ValidatePath(what, path, false));
  if (path == "/") {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": bad arguments (the root cannot be deleted)"));
  }
  auto it = tree.find(path);
  if (it == tree.end()) {
    return absl::NotFoundError(absl::StrCat(what, ": no node"));
  }
  AGORA_RETURN_IF_ERROR(CheckVersion(what, version, it->second.stat.version));
  if (!it->second.children.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(what, ": not empty"));
  }
  Node& parent = tree.at(Parent(path));
  parent.children.erase(BaseName(path));
  ++parent.stat.cversion;
  tree.erase(it);
  triggers->push_back({Trigger::kData, path});
  triggers->push_back({Trigger::kChildren, path});
  triggers->push_back({Trigger::kChildren, Parent(path)});
  return absl::OkStatus();
}

absl::Status FakeZooKeeperServer::SetDataIn(Tree& tree, const std::string& path,
                                            const std::string& data,
                                            int32_t version, int64_t zxid,
                                            std::vector<Trigger>* triggers) {
  const std::string what = What("set", path);
  AGORA_RETURN_IF_ERROR(ValidatePath(what, path, false));
  auto it = tree.find(path);
  if (it == tree.end()) {
    return absl::NotFoundError(absl::StrCat(what, ": no node"));
  }
  AGORA_RETURN_IF_ERROR(CheckVersion(what, version, it->second.stat.version));
  it->second.data = data;
  ++it->second.stat.version;
  it->second.stat.mzxid = zxid;
  triggers->push_back({Trigger::kData, path});
  return absl::OkStatus();
}

absl::Status FakeZooKeeperServer::CheckIn(const Tree& tree,
                                          const std::string& path,
                                          int32_t version) {
  const std::string what = What("check", path);
  AGORA_RETURN_IF_ERROR(ValidatePath(what, path, false));
  auto it = tree.find(path);
  if (it == tree.end()) {
    return absl::NotFoundError(absl::StrCat(what, ": no node"));
  }
  return CheckVersion(what, version, it->second.stat.version);
}

absl::Status FakeZooKeeperServer::MultiLocked(const std::vector<Op>& ops,
                                              int64_t owner,
                                              std::vector<Trigger>* triggers) {
  // All or none: the ops run on a copy that replaces the tree only if every
  // one succeeded (trees in unit tests are small).
  Tree copy = tree_;
  const int64_t zxid = ++zxid_;
  std::vector<Trigger> fired;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    absl::Status status;
    switch (op.kind) {
      case Op::Kind::kCreate:
        status = CreateIn(copy, op.path, op.data, op.flags, owner, zxid, &fired)
                     .status();
        break;
      case Op::Kind::kDelete:
        status = DeleteIn(copy, op.path, op.version, &fired);
        break;
      case Op::Kind::kSetData:
        status = SetDataIn(copy, op.path, op.data, op.version, zxid, &fired);
        break;
      case Op::Kind::kCheck:
        status = CheckIn(copy, op.path, op.version);
        break;
    }
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("multi op ", i, " of ", ops.size(), ": ",
                                       status.message()));
    }
  }
  tree_ = std::move(copy);
  triggers->insert(triggers->end(), fired.begin(), fired.end());
  return absl::OkStatus();
}

void FakeZooKeeperServer::FireLocked(const std::vector<Trigger>& triggers,
                                     std::vector<Delivery>* out) {
  for (const std::weak_ptr<Client>& weak : clients_) {
    std::shared_ptr<Client> client = weak.lock();
    if (client == nullptr || client->closed) continue;
    for (const Trigger& trigger : triggers) {
      auto& watches = trigger.kind == Trigger::kData ? client->data_watches
                                                     : client->child_watches;
      auto [begin, end] = watches.equal_range(trigger.path);
      for (auto it = begin; it != end; ++it) {
        if (client->connected) {
          out->push_back({client, std::move(it->second.fn), nullptr, 0});
        } else {
          client->held.push_back(std::move(it->second.fn));
        }
      }
      watches.erase(begin, end);
    }
  }
}

void FakeZooKeeperServer::DropEphemeralsLocked(int64_t session,
                                               std::vector<Delivery>* out) {
  std::vector<std::string> owned;
  for (const auto& [path, node] : tree_) {
    if (node.stat.ephemeral_owner == session) owned.push_back(path);
  }
  if (owned.empty()) return;
  ++zxid_;
  std::vector<Trigger> triggers;
  for (const std::string& path : owned) {
    // Ephemerals have no children, so this cannot fail.
    DeleteIn(tree_, path, -1, &triggers).IgnoreError();
  }
  FireLocked(triggers, out);
}

void FakeZooKeeperServer::UnwatchLocked(Client* client, uint64_t watch_id) {
  if (watch_id == 0) return;
  for (auto* watches : {&client->data_watches, &client->child_watches}) {
    for (auto it = watches->begin(); it != watches->end(); ++it) {
      if (it->second.id == watch_id) {
        watches->erase(it);
        return;
      }
    }
  }
}

void FakeZooKeeperServer::LoseQueuedRepliesLocked(Client* client) {
  for (Delivery& d : queue_) {
    if (d.client.get() != client || d.if_lost == nullptr) continue;
    d.fn = std::move(d.if_lost);
    d.if_lost = nullptr;
    UnwatchLocked(client, d.watch_id);
    d.watch_id = 0;
  }
}

FakeZooKeeperServer::Delivery FakeZooKeeperServer::SessionEventLocked(
    const std::shared_ptr<Client>& client, SessionState state,
    int64_t session_id) {
  auto fn = [this, client, state, session_id] {
    std::vector<std::function<void(SessionState)>> listeners;
    {
      std::lock_guard<std::mutex> lock(mu_);
      client->visible_state = state;
      client->visible_session_id = session_id;
      listeners = client->listeners;
    }
    for (const auto& listener : listeners) listener(state);
  };
  return {client, std::move(fn), nullptr, 0};
}

// ---------------------------------------------------------------- client --

FakeZooKeeper::FakeZooKeeper()
    : owned_server_(std::make_unique<FakeZooKeeperServer>()),
      server_(owned_server_.get()),
      client_(server_->Connect(absl::Seconds(10))) {}

FakeZooKeeper::FakeZooKeeper(FakeZooKeeperServer* server,
                             absl::Duration session_timeout)
    : server_(server), client_(server_->Connect(session_timeout)) {}

FakeZooKeeper::~FakeZooKeeper() {
  {
    // First, so that Close() delivers nothing to this client's callbacks.
    std::lock_guard<std::mutex> lock(server_->mu_);
    client_->destroyed = true;
  }
  Close();
}

template <typename T>
void FakeZooKeeper::Refuse(std::function<void(T)> done, absl::Status status) {
  server_->Deliver(
      {Delivery{client_, [done, status] { done(T(status)); }, nullptr, 0}});
}

template <typename T>
void FakeZooKeeper::Run(
    const std::string& what, std::function<void(T)> done,
    std::function<T(std::vector<Delivery>*, uint64_t*)> apply) {
  std::vector<Delivery> out;
  {
    std::lock_guard<std::mutex> lock(server_->mu_);
    absl::Status admitted = server_->AdmitLocked(*client_, what);
    if (!admitted.ok()) {
      out.push_back(
          {client_, [done, admitted] { done(T(admitted)); }, nullptr, 0});
    } else {
      ++server_->operations_;
      uint64_t watch_id = 0;
      T result = apply(&out, &watch_id);
      auto lost = [done, what] {
        done(
            T(absl::UnavailableError(absl::StrCat(what, ": connection loss"))));
      };
      if (server_->LoseReplyLocked(*client_)) {
        FakeZooKeeperServer::UnwatchLocked(client_.get(), watch_id);
        out.push_back({client_, lost, nullptr, 0});
      } else {
        out.push_back(
            {client_, [done, result] { done(result); }, lost, watch_id});
      }
    }
  }
  server_->Deliver(std::move(out));
}

void FakeZooKeeper::OnSessionEvent(std::function<void(SessionState)> cb) {
  std::lock_guard<std::mutex> lock(server_->mu_);
  client_->listeners.push_back(std::move(cb));
}

SessionState FakeZooKeeper::state() const {
  std::lock_guard<std::mutex> lock(server_->mu_);
  return client_->visible_state;
}

int64_t FakeZooKeeper::session_id() const {
  std::lock_guard<std::mutex> lock(server_->mu_);
  return client_->visible_session_id;
}

absl::Duration FakeZooKeeper::session_timeout() const {
  return client_->session_timeout;
}

void FakeZooKeeper::Create(
    const std::string& path, const std::string& data, int flags,
    std::function<void(absl::StatusOr<std::string>)> done) {
  using Result = absl::StatusOr<std::string>;
  const std::string what = What("create", path);
  size_t bytes = RequestBytes(Op::Create(path, data, flags));
  if (bytes > kMaxRequestBytes) {
    return Refuse<Result>(std::move(done), TooLarge(what, bytes));
  }
  Run<Result>(what, std::move(done),
              [this, path, data, flags](std::vector<Delivery>* out,
                                        uint64_t*) -> Result {
                std::vector<FakeZooKeeperServer::Trigger> triggers;
                Result created = server_->CreateIn(
                    server_->tree_, path, data, flags, client_->session_id,
                    server_->zxid_ + 1, &triggers);
                if (created.ok()) ++server_->zxid_;
                server_->FireLocked(triggers, out);
                return created;
              });
}

void FakeZooKeeper::CreateRecursive(const std::string& path, Done done) {
  Run<absl::Status>(
      What("create", path), std::move(done),
      [this, path](std::vector<Delivery>* out, uint64_t*) -> absl::Status {
        AGORA_RETURN_IF_ERROR(ValidatePath(What("create", path), path, false));
        std::vector<FakeZooKeeperServer::Trigger> triggers;
        std::string prefix;
        for (absl::string_view part :
             absl::StrSplit(path.substr(1), '/', absl::SkipEmpty())) {
          absl::StrAppend(&prefix, "/", part);
          if (server_->tree_.count(prefix) > 0) continue;
          absl::StatusOr<std::string> created =
              server_->CreateIn(server_->tree_, prefix, "", kPersistent, 0,
                                ++server_->zxid_, &triggers);
          if (!created.ok()) {
            server_->FireLocked(triggers, out);
            return created.status();
          }
        }
        server_->FireLocked(triggers, out);
        return absl::OkStatus();
      });
}

void FakeZooKeeper::Delete(const std::string& path, int32_t version,
                           Done done) {
  Run<absl::Status>(
      What("delete", path), std::move(done),
      [this, path, version](std::vector<Delivery>* out, uint64_t*) {
        std::vector<FakeZooKeeperServer::Trigger> triggers;
        absl::Status deleted =
            server_->DeleteIn(server_->tree_, path, version, &triggers);
        if (deleted.ok()) ++server_->zxid_;
        server_->FireLocked(triggers, out);
        return deleted;
      });
}

void FakeZooKeeper::Get(
    const std::string& path,
    std::function<void(absl::StatusOr<std::pair<std::string, Stat>>)> done) {
  using Result = absl::StatusOr<std::pair<std::string, Stat>>;
  const std::string what = What("get", path);
  Run<Result>(what, std::move(done),
              [this, path, what](std::vector<Delivery>*, uint64_t*) -> Result {
                AGORA_RETURN_IF_ERROR(ValidatePath(what, path, false));
                auto it = server_->tree_.find(path);
                if (it == server_->tree_.end()) {
                  return absl::NotFoundError(absl::StrCat(what, ": no node"));
                }
                return std::make_pair(it->second.data, Filled(it->second));
              });
}

void FakeZooKeeper::GetChildren(
    const std::string& path, Watcher watcher,
    std::function<void(absl::StatusOr<std::vector<std::string>>)> done) {
  using Result = absl::StatusOr<std::vector<std::string>>;
  const std::string what = What("get children of", path);
  Run<Result>(what, std::move(done),
              [this, path, what, watcher](std::vector<Delivery>*,
                                          uint64_t* watch_id) -> Result {
                AGORA_RETURN_IF_ERROR(ValidatePath(what, path, false));
                auto it = server_->tree_.find(path);
                if (it == server_->tree_.end()) {
                  return absl::NotFoundError(absl::StrCat(what, ": no node"));
                }
                if (watcher != nullptr) {
                  *watch_id = server_->next_watch_id_++;
                  client_->child_watches.emplace(
                      path, FakeZooKeeperServer::Watch{*watch_id, watcher});
                }
                // Reverse order: callers must not rely on any.
                return std::vector<std::string>(it->second.children.rbegin(),
                                                it->second.children.rend());
              });
}

void FakeZooKeeper::Exists(
    const std::string& path, Watcher watcher,
    std::function<void(absl::StatusOr<std::optional<Stat>>)> done) {
  using Result = absl::StatusOr<std::optional<Stat>>;
  const std::string what = What("exists", path);
  Run<Result>(what, std::move(done),
              [this, path, what, watcher](std::vector<Delivery>*,
                                          uint64_t* watch_id) -> Result {
                AGORA_RETURN_IF_ERROR(ValidatePath(what, path, false));
                if (watcher != nullptr) {
                  *watch_id = server_->next_watch_id_++;
                  client_->data_watches.emplace(
                      path, FakeZooKeeperServer::Watch{*watch_id, watcher});
                }
                auto it = server_->tree_.find(path);
                if (it == server_->tree_.end()) {
                  return std::optional<Stat>();
                }
                return std::optional<Stat>(Filled(it->second));
              });
}

void FakeZooKeeper::Multi(std::vector<Op> ops, Done done) {
  const std::string what = absl::StrCat("multi of ", ops.size(), " ops");
  size_t bytes = RequestBytes(ops);
  if (bytes > kMaxRequestBytes) {
    return Refuse<absl::Status>(std::move(done), TooLarge(what, bytes));
  }
  Run<absl::Status>(
      what, std::move(done),
      [this, ops = std::move(ops)](std::vector<Delivery>* out, uint64_t*) {
        std::vector<FakeZooKeeperServer::Trigger> triggers;
        absl::Status status =
            server_->MultiLocked(ops, client_->session_id, &triggers);
        server_->FireLocked(triggers, out);
        return status;
      });
}

void FakeZooKeeper::Sync(const std::string& path, Done done) {
  const std::string what = What("sync", path);
  Run<absl::Status>(what, std::move(done),
                    [path, what](std::vector<Delivery>*, uint64_t*) {
                      return ValidatePath(what, path, false);
                    });
}

void FakeZooKeeper::Close() {
  std::vector<Delivery> out;
  {
    std::lock_guard<std::mutex> lock(server_->mu_);
    if (client_->closed) return;
    client_->closed = true;
    client_->connected = false;
    client_->data_watches.clear();
    client_->child_watches.clear();
    client_->held.clear();
    server_->LoseQueuedRepliesLocked(client_.get());
    server_->DropEphemeralsLocked(client_->session_id, &out);
  }
  server_->Deliver(std::move(out));
}

// ---------------------------------------------------------- test controls --

void FakeZooKeeper::Expire(bool reconnect) {
  std::vector<Delivery> out;
  {
    std::lock_guard<std::mutex> lock(server_->mu_);
    if (client_->closed) return;
    const int64_t old_session = client_->session_id;
    client_->data_watches.clear();
    client_->child_watches.clear();
    client_->held.clear();
    server_->LoseQueuedRepliesLocked(client_.get());
    // Other sessions hear of the vanished ephemerals before this client
    // learns that its session is gone (it learns when it reconnects).
    server_->DropEphemeralsLocked(old_session, &out);
    client_->session_id = server_->next_session_id_++;
    client_->connected = reconnect;
    out.push_back(server_->SessionEventLocked(client_, SessionState::kExpired,
                                              old_session));
    out.push_back(server_->SessionEventLocked(
        client_, SessionState::kConnecting, old_session));
    if (reconnect) {
      out.push_back(server_->SessionEventLocked(
          client_, SessionState::kConnected, client_->session_id));
    }
  }
  server_->Deliver(std::move(out));
}

void FakeZooKeeper::Disconnect() {
  std::vector<Delivery> out;
  {
    std::lock_guard<std::mutex> lock(server_->mu_);
    if (client_->closed || !client_->connected) return;
    client_->connected = false;
    server_->LoseQueuedRepliesLocked(client_.get());
    out.push_back(server_->SessionEventLocked(
        client_, SessionState::kConnecting, client_->session_id));
  }
  server_->Deliver(std::move(out));
}

void FakeZooKeeper::Reconnect() {
  std::vector<Delivery> out;
  {
    std::lock_guard<std::mutex> lock(server_->mu_);
    if (client_->closed || client_->connected) return;
    client_->connected = true;
    out.push_back(server_->SessionEventLocked(client_, SessionState::kConnected,
                                              client_->session_id));
    for (Watcher& w : client_->held) {
      out.push_back({client_, std::move(w), nullptr, 0});
    }
    client_->held.clear();
  }
  server_->Deliver(std::move(out));
}

void FakeZooKeeper::FailNext(int n, absl::Status status) {
  std::lock_guard<std::mutex> lock(server_->mu_);
  for (int i = 0; i < n; ++i) client_->fail_next.push_back(status);
}

void FakeZooKeeper::LoseNextReplies(int n) {
  std::lock_guard<std::mutex> lock(server_->mu_);
  client_->lose_replies += n;
}

}  // namespace zk
}  // namespace agora
