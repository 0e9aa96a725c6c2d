// Registrar: the master's durable record of admitted, unreachable and gone
// agents, on top of a Registry back-end. Every change is written first and
// applied to the in-memory copy only when the write succeeded, so the master
// never acts on a transition that is not durable (Mesos's registrar and its
// AdmitSlave, MarkSlaveUnreachable, MarkSlaveReachable and MarkSlaveGone
// operations).
//
// Thread rule: master loop only.
#ifndef AGORA_MASTER_REGISTRAR_H_
#define AGORA_MASTER_REGISTRAR_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agora/internal/registry.pb.h"
#include "allocator/allocator.h"
#include "master/registry.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

class Registrar {
 public:
  explicit Registrar(std::unique_ptr<Registry> registry);

  // Loads the stored state; errors as Registry::Recover().
  absl::Status Recover();

  // Records `info` (which must carry an id) as admitted, replacing a record
  // with the same id. Returns the back-end's error when the write failed;
  // the state is then unchanged.
  absl::Status AdmitAgent(const mesos::v1::AgentInfo& info);

  // registrar_roles.cc: weights and quotas. Both write first and change
  // the state only when the write succeeded (back-end error otherwise).
  // Sets the weights of the given roles (others keep theirs).
  absl::Status UpdateWeights(const std::map<std::string, double>& weights);
  // Sets the quotas of the given roles; a default Quota removes the role's
  // record.
  absl::Status UpdateQuotas(const std::map<std::string, Quota>& quotas);
  std::map<std::string, double> Weights() const;
  std::map<std::string, Quota> Quotas() const;
  // Moves an admitted agent to the unreachable list with `time`
  // (MarkSlaveUnreachable). NotFound when it is not admitted; the back-end's
  // error when the write failed (the state is then unchanged).
  absl::Status MarkUnreachable(const std::string& agent_id, absl::Time time);
  // Moves `info` (with an id) from the unreachable list, where it may be
  // absent, to the admitted agents (MarkSlaveReachable). Back-end errors as
  // above.
  absl::Status MarkReachable(const mesos::v1::AgentInfo& info);
  // Records the agent as gone at `time`, dropping it from the admitted and
  // unreachable lists (MarkSlaveGone). Back-end errors as above.
  absl::Status MarkGone(const std::string& agent_id, absl::Time time);

  // The admitted record with that id, or null.
  const mesos::v1::AgentInfo* FindAgent(const std::string& agent_id) const;
  // When the agent was marked unreachable / gone; nullopt when it is not.
  std::optional<absl::Time> UnreachableSince(const std::string& agent_id) const;
  std::optional<absl::Time> GoneSince(const std::string& agent_id) const;
  // Unreachable / gone agents and their times, by id.
  const std::map<std::string, absl::Time>& unreachable() const {
    return unreachable_;
  }
  const std::map<std::string, absl::Time>& gone() const { return gone_; }
  const internal::Registry& state() const { return state_; }
  std::string Describe() const { return registry_->Describe(); }
  void SetFence(const std::string& znode) { registry_->SetFence(znode); }

 private:
  // Stores `next` and adopts it (rebuilding the indexes) on success.
  absl::Status Apply(internal::Registry next);
  void Reindex();

  std::unique_ptr<Registry> registry_;
  internal::Registry state_;
  std::map<std::string, int> admitted_;  // id -> index in state_.agents()
  std::map<std::string, absl::Time> unreachable_;
  std::map<std::string, absl::Time> gone_;
};

}  // namespace agora

#endif  // AGORA_MASTER_REGISTRAR_H_
