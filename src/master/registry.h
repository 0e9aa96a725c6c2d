// Registry: where the master keeps what must outlive it (admitted agents,
// unreachable and gone agents with the time of the transition, role weights
// and quotas), as records a back-end stores. Registrar (registrar.h) is the
// master's view on top of it; it turns each operation into a few record
// changes and hands them to the back-end with Apply().
//
// Back-ends: `in_memory` (tests; lost with the process), `local` (one file
// in --work_dir, replaced atomically on every write, by a writer thread) and
// `zookeeper` (one znode per record, zookeeper_registry.h). All are
// asynchronous: nothing blocks the caller, and `done` reports the outcome.
//
// Thread rule: Recover() and Apply() may be called from any one thread at a
// time (the master's loop); `done` runs on a back-end thread or inside the
// call, must not block, and should only post to the caller's loop.
#ifndef AGORA_MASTER_REGISTRY_H_
#define AGORA_MASTER_REGISTRY_H_

#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agora/internal/registry.pb.h"

namespace agora {

enum class RecordKind { kAgent, kUnreachable, kGone, kRoles };

// One record written or removed. `record` holds the serialized record:
// internal::Registry::Agent (kAgent), UnreachableAgent (kUnreachable),
// GoneAgent (kGone), Registry::Roles (kRoles); the agent records name
// `agent_id`.
struct RegistryChange {
  RecordKind kind = RecordKind::kAgent;
  std::string agent_id;               // Empty for kRoles.
  std::optional<std::string> record;  // nullopt removes the record.

  // "agents/<id>", "unreachable/<id>", "gone/<id>" or "roles": the record's
  // name in messages, and its path below a per-record back-end's root.
  std::string Name() const;
};

class Registry {
 public:
  using Done = std::function<void(absl::Status)>;
  using RecoverDone = std::function<void(absl::StatusOr<internal::Registry>)>;

  virtual ~Registry() = default;

  // Reads the whole stored state (empty when nothing was stored yet) and
  // hands it to `done`. DataLoss naming the file or record when something
  // stored does not parse; Unavailable when it cannot be read. Called
  // before any Apply(), and again only when no Apply() is outstanding (it
  // reloads).
  virtual void Recover(RecoverDone done) = 0;

  // Makes `changes` durable, all or none, then calls `done` with OK or the
  // error (Unavailable/Internal naming the cause, InvalidArgument for a
  // record that does not parse or a batch over max_apply_bytes(); the stored
  // state is then unchanged). The caller has at most one Apply outstanding
  // and names each record at most once per call. Destroying the back-end
  // may drop a write that has not started; its `done` never runs then.
  virtual void Apply(std::vector<RegistryChange> changes, Done done) = 0;

  // What one Apply() may carry, counted with ChangeBytes(): the Registrar
  // batches queued operations up to this and refuses an operation that
  // alone exceeds it. A back-end wrapping another must forward both.
  virtual size_t max_apply_bytes() const {
    return std::numeric_limits<size_t>::max();
  }
  virtual size_t ChangeBytes(const RegistryChange& change) const;

  // "in_memory", "local file <path>", "zookeeper <path>", for logs.
  virtual std::string Describe() const = 0;
};

// The whole state as records, kept by back-ends that hold a full copy
// (in-memory, local) and used to check and assemble records at recovery.
// Not thread-safe.
class RegistryRecords {
 public:
  RegistryRecords() = default;
  // Loads `state` (a recovered Registry). InvalidArgument naming the entry
  // when an agent entry has no id.
  absl::Status Load(const internal::Registry& state);

  // Applies `changes` in order. InvalidArgument naming the record when one
  // does not parse or names another agent than its change; nothing is
  // applied then. Returns the changes that undo these.
  absl::StatusOr<std::vector<RegistryChange>> Apply(
      const std::vector<RegistryChange>& changes);

  // The state: agents by id, unreachable and gone agents by (time, id).
  internal::Registry ToRegistry() const;
  // ToRegistry() serialized, built by concatenating the stored records
  // (no copy or parse of each: the local back-end writes the whole state
  // on every write).
  std::string Serialize() const;

 private:
  struct Record {
    std::string bytes;    // The serialized record.
    int64_t time_ns = 0;  // Unreachable and gone records: their time.
  };

  // By agent id.
  std::map<std::string, Record> agents_;
  std::map<std::string, Record> unreachable_;
  std::map<std::string, Record> gone_;
  internal::Registry::Roles roles_;
};

// Completes every call inside it (the Registrar posts the outcome to its
// loop, so tests see completions in RunUntilIdle()).
std::unique_ptr<Registry> NewInMemoryRegistry();

// The state lives in `path` (a serialized internal::Registry; its directory
// is created, with missing parents, by Recover()). Writes run on a writer
// thread owned by the back-end: the whole state goes to `path`.tmp, is
// fsynced and renamed over `path`, and the directory fsynced, so a crash
// leaves either the old or the new state, never a mix.
std::unique_ptr<Registry> NewLocalRegistry(std::string path);

}  // namespace agora

#endif  // AGORA_MASTER_REGISTRY_H_
