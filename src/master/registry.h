// Registry: where the master keeps what must outlive it (admitted agents,
// later unreachable and gone agents, weights). Two back-ends: `in_memory`
// (tests; lost with the process) and `local` (one file in --work_dir,
// replaced atomically on every write). Registrar (registrar.h) is the
// master's view on top of it.
//
// Thread rule: not thread-safe; the master calls it from its loop. Store()
// blocks until the state is durable.
#ifndef AGORA_MASTER_REGISTRY_H_
#define AGORA_MASTER_REGISTRY_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agora/internal/registry.pb.h"
#include "zookeeper/zookeeper.h"

namespace agora {

class Registry {
 public:
  virtual ~Registry() = default;

  // The stored state, or an empty Registry when nothing was stored yet.
  // DataLoss when the stored state exists but cannot be parsed;
  // Unavailable when it cannot be read.
  virtual absl::StatusOr<internal::Registry> Recover() = 0;

  // Replaces the stored state with `state` and returns once it is durable.
  // On error (Unavailable/Internal, naming the path and cause) the
  // previously stored state is intact.
  virtual absl::Status Store(const internal::Registry& state) = 0;

  // "in_memory" or "local file <path>", for logs.
  virtual std::string Describe() const = 0;

  // Every later write also checks that the ZooKeeper node `znode` (this
  // master's election node) exists, and fails without writing otherwise, so
  // a deposed leader can never write. Back-ends outside ZooKeeper have no
  // election to fence and ignore it.
  virtual void SetFence(const std::string& znode) { (void)znode; }
};

std::unique_ptr<Registry> NewInMemoryRegistry();

// The state lives in `path`; writes go to `path`.tmp, are fsynced and then
// renamed over `path` (and the directory fsynced), so a crash leaves either
// the old or the new state, never a mix.
std::unique_ptr<Registry> NewLocalRegistry(std::string path);

// One znode per record under `root` (<zk path>/registry), every write a
// multi-op fenced by SetFence()'s znode. `zk` must outlive the registry.
std::unique_ptr<Registry> NewZooKeeperRegistry(zk::ZooKeeper* zk,
                                               std::string root);

}  // namespace agora

#endif  // AGORA_MASTER_REGISTRY_H_
