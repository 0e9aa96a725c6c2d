// The ZooKeeper registry back-end: one znode per record below
// `<root>/registry` (docs/ha.md, "Registry"):
//
//   <root>/registry/agents/<agent id>       internal::Registry::Agent
//   <root>/registry/unreachable/<agent id> internal::Registry::UnreachableAgent
//   <root>/registry/gone/<agent id>         internal::Registry::GoneAgent
//   <root>/registry/roles                   internal::Registry::Roles
//
// never one znode for the whole state (ZooKeeper's 1 MB request limit is
// reached at a few thousand agents).
//
// Every Apply() is one Multi that starts with Check(fence_znode), the
// master's own election znode: once this master lost its session or its
// place, the znode is gone and every write fails (fencing), so a deposed
// leader never changes the registry. The back-end knows which records exist
// (from recovery and its own writes) and picks Create or SetData, Delete or
// nothing; after a failed or unanswered Multi it asks ZooKeeper (Exists)
// before writing those records again. A batch whose ops would exceed
// zk::kMaxRequestBytes is refused (InvalidArgument) before anything is sent;
// max_apply_bytes() lets the Registrar batch below that.
//
// Recover(): creates the three directories if missing, Sync()s, lists them
// and reads every record with all Gets issued at once. A record that does
// not parse, or names another agent than its znode, is DataLoss naming the
// znode.
//
// Thread rule: as Registry (registry.h). ZooKeeper callbacks run on the
// client's thread; `done` runs there. The back-end may be destroyed with
// operations in flight: their `done` then never runs.
#ifndef AGORA_MASTER_ZOOKEEPER_REGISTRY_H_
#define AGORA_MASTER_ZOOKEEPER_REGISTRY_H_

#include <memory>
#include <string>

#include "master/registry.h"
#include "zookeeper/zookeeper.h"

namespace agora {

// `zk` (the process's one session) must outlive the back-end. `root` is the
// --zk path ("/mesos"); `fence_znode` the full path of this master's
// election znode ("/mesos/json.info_0000000003").
std::unique_ptr<Registry> NewZooKeeperRegistry(zk::ZooKeeper* zk,
                                               std::string root,
                                               std::string fence_znode);

}  // namespace agora

#endif  // AGORA_MASTER_ZOOKEEPER_REGISTRY_H_
