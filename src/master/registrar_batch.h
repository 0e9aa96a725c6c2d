// Registrar internals (registrar.cc, registrar_roles.cc): the records an
// operation or a batch of operations changes (Overlay), and the view an
// operation is applied to (Batch): the committed state as the operations
// before it in the batch leave it.
//
// Thread rule: master loop only, inside Registrar::MaybeWrite().
#ifndef AGORA_MASTER_REGISTRAR_BATCH_H_
#define AGORA_MASTER_REGISTRAR_BATCH_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "master/registrar.h"

namespace agora {

// Records changed by operations: a value puts the record, nullopt removes
// it.
struct Registrar::Overlay {
  std::map<std::string, std::optional<mesos::v1::AgentInfo>> agents;
  std::map<std::string, std::optional<absl::Time>> unreachable;
  std::map<std::string, std::optional<absl::Time>> gone;
  std::optional<internal::Registry::Roles> roles;

  // Takes `later`'s entries, which win.
  void MergeFrom(Overlay later);
};

class Registrar::Batch {
 public:
  explicit Batch(const Registrar& registrar)
      : registrar_(registrar), overlay_(std::make_unique<Overlay>()) {}

  // Reads: the current operation's own changes, then the batch's, then
  // the committed state.
  const mesos::v1::AgentInfo* FindAgent(const std::string& id) const;
  std::optional<absl::Time> UnreachableSince(const std::string& id) const;
  std::optional<absl::Time> GoneSince(const std::string& id) const;
  internal::Registry::Roles Roles() const;

  // Writes, staged for the current operation.
  void PutAgent(const mesos::v1::AgentInfo& info) {
    staged_.agents[info.id().value()] = info;
  }
  void EraseAgent(const std::string& id) { staged_.agents[id] = std::nullopt; }
  void PutUnreachable(const std::string& id, absl::Time time) {
    staged_.unreachable[id] = time;
  }
  void EraseUnreachable(const std::string& id) {
    staged_.unreachable[id] = std::nullopt;
  }
  void PutGone(const std::string& id, absl::Time time) {
    staged_.gone[id] = time;
  }
  void EraseGone(const std::string& id) { staged_.gone[id] = std::nullopt; }
  void PutRoles(internal::Registry::Roles roles) {
    staged_.roles = std::move(roles);
  }

  // What the staged changes count toward `registry`'s max_apply_bytes()
  // (removals of records the committed state lacks count nothing).
  size_t StagedBytes(const Registry& registry) const;
  // The current operation is in the batch / refused or left for later.
  void MergeStaged();
  void DropStaged() { staged_ = Overlay(); }

  std::unique_ptr<Overlay> TakeOverlay() { return std::move(overlay_); }
  // `overlay` as record changes; removals of records the committed state
  // does not hold are left out.
  std::vector<RegistryChange> Changes(const Overlay& overlay) const;

 private:
  const Registrar& registrar_;
  std::unique_ptr<Overlay> overlay_;
  Overlay staged_;
};

}  // namespace agora

#endif  // AGORA_MASTER_REGISTRAR_BATCH_H_
