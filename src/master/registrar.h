// Registrar: the master's durable record of admitted, unreachable and gone
// agents and of role weights and quotas, on top of a Registry back-end
// (Mesos's registrar and its AdmitSlave, MarkSlaveUnreachable,
// MarkSlaveReachable, MarkSlaveGone, UpdateWeights, UpdateQuota and Prune
// operations).
//
// Every operation is asynchronous. Operations are applied in the order they
// were asked for: each is checked against the state as the operations
// before it leave it, and turned into a few record changes. Operations
// queued while a write runs go together into the next write (one Apply(),
// up to the back-end's max_apply_bytes()), so a busy master makes few large
// writes. The in-memory state changes only once the write succeeded, and
// then an operation's `done` runs with OK; on failure it runs with the
// error and the state is unchanged. A write that has not completed within
// `store_timeout` is fatal (Mesos's --registry_store_timeout): the injected
// handler runs; the master's default logs and exits non-zero.
//
// Thread rule: master loop only, except RecoverNow() (before the loop
// runs). `done` always runs on the loop, never inside the call that took it,
// each in a closure of its own (in operation order), so that a large batch
// does not hold the loop for all its follow-up work at once.
#ifndef AGORA_MASTER_REGISTRAR_H_
#define AGORA_MASTER_REGISTRAR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agora/internal/registry.pb.h"
#include "allocator/allocator.h"
#include "common/event_loop.h"
#include "master/registry.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

class Registrar {
 public:
  using Done = std::function<void(absl::Status)>;

  struct Options {
    absl::Duration store_timeout = absl::Seconds(20);
    // Runs on the loop with DeadlineExceeded when a write is late. Required.
    std::function<void(const absl::Status&)> on_store_timeout;
  };

  // Agents to drop from the unreachable and gone lists (SelectForPruning).
  struct PruneList {
    std::vector<std::string> unreachable;
    std::vector<std::string> gone;
    bool empty() const { return unreachable.empty() && gone.empty(); }
  };

  // `loop` must outlive the registrar.
  Registrar(EventLoop* loop, std::unique_ptr<Registry> registry,
            Options options);
  ~Registrar();

  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // Loads the stored state, blocking until the back-end answers; for use
  // before the loop runs (a back-end that completes only when its caller
  // drives it, such as a fake, needs Recover()). Errors as
  // Registry::Recover(); DataLoss for a record without an agent id.
  absl::Status RecoverNow();
  // The same, asynchronously: `done` runs on the loop once the state is
  // loaded (or with the error).
  void Recover(Done done);

  // Records `info` (with a valid id) as admitted, replacing a record with
  // the same id and leaving the unreachable list (Mesos's AdmitSlave and
  // MarkSlaveReachable). InvalidArgument for a bad id or an oversized
  // record; FailedPrecondition when the agent is gone.
  void AdmitAgent(const mesos::v1::AgentInfo& info, Done done);
  // Moves an admitted agent to the unreachable list at `time`. NotFound
  // when it is not admitted.
  void MarkUnreachable(const std::string& agent_id, absl::Time time, Done done);
  // Records the agent as gone at `time`, dropping it from the admitted and
  // unreachable lists. OK without a change when it is gone already.
  void MarkGone(const std::string& agent_id, absl::Time time, Done done);
  // Sets the weights of the given roles; other roles keep theirs.
  void UpdateWeights(const std::map<std::string, double>& weights, Done done);
  // Sets the quotas of the given roles; a default Quota removes the role's.
  void UpdateQuotas(const std::map<std::string, Quota>& quotas, Done done);
  // Drops the listed agents from the unreachable and gone lists (those no
  // longer there are skipped, as Mesos's Prune does).
  void Prune(PruneList list, Done done);
  // Mesos's registry GC: of each list, the oldest entries beyond
  // `max_count`, and every entry older than `max_age` at `now`.
  PruneList SelectForPruning(absl::Time now, absl::Duration max_age,
                             size_t max_count) const;

  // True while an operation on the agent is queued, being written, or
  // waiting for its completion to run.
  bool IsPending(const std::string& agent_id) const;

  // The committed state.
  const std::map<std::string, mesos::v1::AgentInfo>& agents() const {
    return agents_;
  }
  // The admitted record with that id, or null.
  const mesos::v1::AgentInfo* FindAgent(const std::string& agent_id) const;
  // When the agent was marked unreachable / gone; nullopt when it is not.
  std::optional<absl::Time> UnreachableSince(const std::string& agent_id) const;
  std::optional<absl::Time> GoneSince(const std::string& agent_id) const;
  const std::map<std::string, absl::Time>& unreachable() const {
    return unreachable_;
  }
  const std::map<std::string, absl::Time>& gone() const { return gone_; }
  // registrar_roles.cc
  std::map<std::string, double> Weights() const;
  std::map<std::string, Quota> Quotas() const;
  std::string Describe() const { return registry_->Describe(); }
  // Gives a registrar built without a back-end its back-end; before
  // Recover()/RecoverNow().
  void UseRegistry(std::unique_ptr<Registry> registry) {
    registry_ = std::move(registry);
  }

  // Internals (registrar_batch.h), public only so that its helpers can
  // name them.
  class Batch;
  struct Overlay;

 private:
  struct Operation {
    std::string what;      // "admit agent S1", for messages.
    std::string agent_id;  // Empty for roles.
    // Checks the operation against `batch` and stages its changes there.
    std::function<absl::Status(Batch*)> apply;
    Done done;
  };
  struct Written {
    Operation op;
    absl::Status refused;  // Not OK: refused before the write.
  };

  absl::Status Adopt(const internal::Registry& state);
  void Enqueue(Operation op);
  // Builds the next batch from the queue and hands it to the back-end
  // unless a write runs.
  void MaybeWrite();
  // Applies queued operations to `batch` while they fit the back-end's
  // limit; returns them with their refusals.
  std::vector<Written> TakeBatch(Batch* batch);
  void StartWrite(std::vector<RegistryChange> changes);
  void OnWritten(uint64_t write, absl::Status status);
  void OnStoreTimeout(uint64_t write);
  void Complete(std::vector<Written> ops, const absl::Status& status);
  void Commit(const Overlay& overlay);

  EventLoop* const loop_;
  std::unique_ptr<Registry> registry_;
  const Options options_;
  // Posted closures hold a weak reference: they do nothing once the
  // registrar is gone.
  const std::shared_ptr<Registrar*> self_;

  std::map<std::string, mesos::v1::AgentInfo> agents_;
  std::map<std::string, absl::Time> unreachable_;
  std::map<std::string, absl::Time> gone_;
  internal::Registry::Roles roles_;

  std::deque<Operation> queue_;
  std::map<std::string, int> pending_agents_;  // Agent id -> operations.
  // The write in flight: its number, operations, changes and timer.
  uint64_t write_ = 0;
  bool writing_ = false;
  std::vector<Written> written_;
  std::unique_ptr<Overlay> overlay_;
  EventLoop::TimerId store_timer_ = 0;
};

}  // namespace agora

#endif  // AGORA_MASTER_REGISTRAR_H_
