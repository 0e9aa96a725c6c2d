#include "master/zookeeper_registry.h"

#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"

namespace agora {
namespace {

// The record kinds with one znode per agent, and their directories.
constexpr RecordKind kAgentKinds[] = {
    RecordKind::kAgent, RecordKind::kUnreachable, RecordKind::kGone};

std::string DirOf(RecordKind kind) {
  RegistryChange change{kind, "", std::nullopt};
  std::string name = change.Name();  // "agents/" ...
  return name.substr(0, name.size() - 1);
}

// What an op counts toward zk::kMaxRequestBytes (zk::RequestBytes).
size_t OpBytes(const std::string& path, size_t data) {
  return path.size() + data + zk::kOpOverheadBytes;
}

// The back-end's state, shared with ZooKeeper callbacks, which may run after
// the back-end is destroyed.
struct Shared {
  Shared(zk::ZooKeeper* zk, std::string base, std::string fence)
      : zk(zk), base(std::move(base)), fence(std::move(fence)) {}

  std::string Path(const RegistryChange& change) const {
    return absl::StrCat(base, "/", change.Name());
  }
  size_t ChangeBytes(const RegistryChange& change) const {
    return OpBytes(Path(change), change.record ? change.record->size() : 0);
  }

  zk::ZooKeeper* const zk;
  const std::string base;   // <root>/registry
  const std::string fence;  // The master's election znode.

  std::mutex mu;
  bool closed ABSL_GUARDED_BY(mu) = false;
  // Records (by RegistryChange::Name()) known to exist, and those whose
  // existence a failed Multi left unknown.
  std::set<std::string> existing ABSL_GUARDED_BY(mu);
  std::set<std::string> uncertain ABSL_GUARDED_BY(mu);
};

absl::Status WithContext(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(),
                      absl::StrCat("registry: ", what, ": ", status.message()));
}

// Recover(): create the directories, sync, list, read every record.
class Recovery : public std::enable_shared_from_this<Recovery> {
 public:
  Recovery(zk::ZooKeeper* zk, std::string base, std::shared_ptr<Shared> shared,
           Registry::RecoverDone done)
      : zk_(zk),
        base_(std::move(base)),
        shared_(std::move(shared)),
        done_(std::move(done)) {}

  void Start() {
    Expect(3);
    auto self = shared_from_this();
    for (RecordKind kind : kAgentKinds) {
      const std::string dir = Path(DirOf(kind));
      zk_->CreateRecursive(dir, [self, dir](absl::Status status) {
        self->Arrived(
            status.ok() ? status
                        : WithContext(status, absl::StrCat("failed to create '",
                                                           dir, "'")),
            [self] { self->Sync(); });
      });
    }
  }

 private:
  std::string Path(const std::string& name) const {
    return absl::StrCat(base_, "/", name);
  }

  // The next `n` callbacks make up one step.
  void Expect(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    outstanding_ = n;
  }

  // One callback of the step arrived with `status`; the last one runs
  // `next` unless the recovery failed.
  void Arrived(const absl::Status& status, const std::function<void()>& next) {
    absl::Status error;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!status.ok() && error_.ok()) error_ = status;
      if (--outstanding_ > 0) return;
      error = error_;
    }
    if (!error.ok()) return Finish(error);
    next();
  }

  void Sync() {
    Expect(1);
    auto self = shared_from_this();
    zk_->Sync(base_, [self](absl::Status status) {
      self->Arrived(status.ok()
                        ? status
                        : WithContext(status, absl::StrCat("failed to sync '",
                                                           self->base_, "'")),
                    [self] { self->List(); });
    });
  }

  void List() {
    Expect(4);
    auto self = shared_from_this();
    for (RecordKind kind : kAgentKinds) {
      const std::string dir = Path(DirOf(kind));
      zk_->GetChildren(
          dir, nullptr,
          [self, kind, dir](absl::StatusOr<std::vector<std::string>> children) {
            absl::Status status = children.status();
            if (status.ok()) {
              std::lock_guard<std::mutex> lock(self->mu_);
              for (std::string& id : *children) {
                self->wanted_.push_back({kind, std::move(id), std::nullopt});
              }
            } else {
              status = WithContext(status,
                                   absl::StrCat("failed to list '", dir, "'"));
            }
            self->Arrived(status, [self] { self->ReadAll(); });
          });
    }
    ReadRecord({RecordKind::kRoles, "", std::nullopt},
               [self] { self->ReadAll(); });
  }

  // All Gets at once (pipelined).
  void ReadAll() {
    std::vector<RegistryChange> wanted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wanted.swap(wanted_);
      outstanding_ = static_cast<int>(wanted.size());
    }
    if (wanted.empty()) return Finish(absl::OkStatus());
    auto self = shared_from_this();
    for (RegistryChange& record : wanted) {
      ReadRecord(std::move(record), [self] { self->Finish(absl::OkStatus()); });
    }
  }

  // Reads and parses `record`; a missing znode is skipped (the roles record
  // not written yet, or a record removed since it was listed).
  void ReadRecord(RegistryChange record, std::function<void()> next) {
    auto self = shared_from_this();
    const std::string path = Path(record.Name());
    zk_->Get(path,
             [self, record = std::move(record), path, next](
                 absl::StatusOr<std::pair<std::string, zk::Stat>> got) mutable {
               absl::Status status;
               if (got.ok()) {
                 record.record = std::move(got->first);
                 status = self->Add(record, path);
               } else if (!absl::IsNotFound(got.status())) {
                 status = WithContext(
                     got.status(), absl::StrCat("failed to read '", path, "'"));
               }
               self->Arrived(status, next);
             });
  }

  absl::Status Add(const RegistryChange& record, const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    absl::StatusOr<std::vector<RegistryChange>> added =
        records_.Apply({record});
    if (!added.ok()) {
      return absl::DataLossError(
          absl::StrCat("registry: znode '", path,
                       "' holds a record that does not parse or names "
                       "another agent (",
                       added.status().message(), ")"));
    }
    names_.insert(record.Name());
    return absl::OkStatus();
  }

  void Finish(const absl::Status& status) {
    absl::StatusOr<internal::Registry> state = internal::Registry();
    std::set<std::string> names;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
      if (status.ok()) {
        state = records_.ToRegistry();
      } else {
        state = status;
      }
      names.swap(names_);
    }
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->closed) return;
    if (state.ok()) {
      shared_->existing = std::move(names);
      shared_->uncertain.clear();
    }
    done_(std::move(state));
  }

  zk::ZooKeeper* const zk_;
  const std::string base_;
  const std::shared_ptr<Shared> shared_;
  const Registry::RecoverDone done_;

  std::mutex mu_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<RegistryChange> wanted_ ABSL_GUARDED_BY(mu_);
  RegistryRecords records_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> names_ ABSL_GUARDED_BY(mu_);
};

// Writes `changes` as one Multi fenced by the master's election znode.
void Send(const std::shared_ptr<Shared>& shared,
          std::vector<RegistryChange> changes, Registry::Done done) {
  std::vector<zk::Op> ops;
  ops.reserve(changes.size() + 1);
  ops.push_back(zk::Op::Check(shared->fence));
  std::vector<std::pair<std::string, bool>> written;  // Name, exists after.
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    for (RegistryChange& change : changes) {
      std::string name = change.Name();
      const bool exists = shared->existing.count(name) > 0;
      if (change.record.has_value()) {
        const std::string path = shared->Path(change);
        ops.push_back(exists ? zk::Op::SetData(path, *std::move(change.record))
                             : zk::Op::Create(path, *std::move(change.record)));
        written.emplace_back(std::move(name), true);
      } else if (exists) {
        ops.push_back(zk::Op::Delete(shared->Path(change)));
        written.emplace_back(std::move(name), false);
      }
    }
  }
  const size_t bytes = zk::RequestBytes(ops);
  if (bytes > zk::kMaxRequestBytes) {
    return done(absl::InvalidArgumentError(absl::StrCat(
        "registry: a write of ", changes.size(), " records takes ", bytes,
        " bytes, over ZooKeeper's limit of ", zk::kMaxRequestBytes)));
  }
  const std::string context =
      absl::StrCat("writing ", written.size(), " records under '", shared->base,
                   "' (fenced by '", shared->fence, "') failed");
  shared->zk->Multi(
      std::move(ops), [shared, written = std::move(written), context,
                       done = std::move(done)](absl::Status status) {
        std::lock_guard<std::mutex> lock(shared->mu);
        for (const auto& [name, exists] : written) {
          if (!status.ok()) {
            shared->uncertain.insert(name);  // A lost reply may hide a success.
          } else if (exists) {
            shared->existing.insert(name);
          } else {
            shared->existing.erase(name);
          }
        }
        if (shared->closed) return;
        done(status.ok() ? status : WithContext(status, context));
      });
}

// After a failed Multi the back-end does not know whether those records
// exist: it asks (Exists) before writing them again.
void ResolveThenSend(const std::shared_ptr<Shared>& shared,
                     std::vector<std::string> unsure,
                     std::vector<RegistryChange> changes, Registry::Done done) {
  struct Pending {
    std::mutex mu;
    size_t left ABSL_GUARDED_BY(mu) = 0;
    absl::Status error ABSL_GUARDED_BY(mu);
    std::vector<RegistryChange> changes;
    Registry::Done done;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = unsure.size();
  pending->changes = std::move(changes);
  pending->done = std::move(done);
  for (const std::string& name : unsure) {
    const std::string path = absl::StrCat(shared->base, "/", name);
    auto on_stat = [shared, pending, name,
                    path](absl::StatusOr<std::optional<zk::Stat>> stat) {
      if (stat.ok()) {
        std::lock_guard<std::mutex> lock(shared->mu);
        shared->uncertain.erase(name);
        if (stat->has_value()) {
          shared->existing.insert(name);
        } else {
          shared->existing.erase(name);
        }
      }
      absl::Status error;
      {
        std::lock_guard<std::mutex> lock(pending->mu);
        if (!stat.ok() && pending->error.ok()) {
          pending->error = WithContext(
              stat.status(), absl::StrCat("failed to check '", path, "'"));
        }
        if (--pending->left > 0) return;
        error = pending->error;
      }
      if (error.ok()) {
        return Send(shared, std::move(pending->changes),
                    std::move(pending->done));
      }
      std::lock_guard<std::mutex> lock(shared->mu);
      if (!shared->closed) pending->done(error);
    };
    shared->zk->Exists(path, nullptr, std::move(on_stat));
  }
}

class ZooKeeperRegistry : public Registry {
 public:
  ZooKeeperRegistry(zk::ZooKeeper* zk, const std::string& root,
                    std::string fence)
      : shared_(std::make_shared<Shared>(
            zk, absl::StrCat(root == "/" ? "" : root, "/registry"),
            std::move(fence))) {}

  ~ZooKeeperRegistry() override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->closed = true;
  }

  void Recover(RecoverDone done) override {
    std::make_shared<Recovery>(shared_->zk, shared_->base, shared_,
                               std::move(done))
        ->Start();
  }

  void Apply(std::vector<RegistryChange> changes, Done done) override {
    std::vector<std::string> unsure;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      for (const RegistryChange& change : changes) {
        if (shared_->uncertain.count(change.Name()) > 0) {
          unsure.push_back(change.Name());
        }
      }
    }
    if (unsure.empty())
      return Send(shared_, std::move(changes), std::move(done));
    ResolveThenSend(shared_, std::move(unsure), std::move(changes),
                    std::move(done));
  }

  size_t max_apply_bytes() const override {
    return zk::kMaxRequestBytes - OpBytes(shared_->fence, 0);
  }
  size_t ChangeBytes(const RegistryChange& change) const override {
    return shared_->ChangeBytes(change);
  }

  std::string Describe() const override {
    return absl::StrCat("zookeeper ", shared_->base);
  }

 private:
  const std::shared_ptr<Shared> shared_;
};

}  // namespace

std::unique_ptr<Registry> NewZooKeeperRegistry(zk::ZooKeeper* zk,
                                               std::string root,
                                               std::string fence_znode) {
  return std::make_unique<ZooKeeperRegistry>(zk, std::move(root),
                                             std::move(fence_znode));
}

}  // namespace agora
