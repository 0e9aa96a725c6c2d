// Registrar: the master's durable record of admitted agents, on top of a
// Registry back-end. Every change is written first and applied to the
// in-memory copy only when the write succeeded, so the master never acts on
// an admission that is not durable (Mesos's registrar).
//
// Thread rule: master loop only.
#ifndef AGORA_MASTER_REGISTRAR_H_
#define AGORA_MASTER_REGISTRAR_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
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

  // The admitted record with that id, or null.
  const mesos::v1::AgentInfo* FindAgent(const std::string& agent_id) const;
  const internal::Registry& state() const { return state_; }
  std::string Describe() const { return registry_->Describe(); }

 private:
  std::unique_ptr<Registry> registry_;
  internal::Registry state_;
};

}  // namespace agora

#endif  // AGORA_MASTER_REGISTRAR_H_
