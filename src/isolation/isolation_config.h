// IsolationConfig: the agent's --isolation flag with Mesos's isolator names,
// and the rule that picks the default.
//
//   cgroups/cpu   cpu.weight, cpu.max              (cgroup2 "cpu")
//   cgroups/mem   memory.low/max/swap.max, OOM     (cgroup2 "memory")
//   cgroups/pids  pids.max                         (cgroup2 "pids")
//   cgroups/io    io.weight                        (cgroup2 "io")
//   cgroups/all   the four above
//   posix/cpu, posix/mem    usage from /proc only, no enforcement
//   filesystem/posix        accepted (Mesos's default), nothing to do
//   namespaces/pid          the container gets its own pid namespace
//   filesystem/linux        own mount namespace with a private /tmp
//
// Default (an empty flag): cgroups/cpu,cgroups/mem,cgroups/pids when the
// cgroup2 hierarchy offers cpu, memory and pids under the cgroups root,
// else posix/cpu,posix/mem. An explicit cgroups isolator that the host
// cannot provide is an error naming what is missing.
//
// Thread rule: plain values and functions.
#ifndef AGORA_ISOLATION_ISOLATION_CONFIG_H_
#define AGORA_ISOLATION_ISOLATION_CONFIG_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "isolation/cgroup_fs.h"

namespace agora {

struct IsolationConfig {
  std::set<std::string> isolators;  // Normalized names; no cgroups/all.

  bool Has(const std::string& name) const { return isolators.count(name) > 0; }
  bool UsesCgroups() const { return !Controllers().empty(); }
  // The cgroup2 controllers the cgroups isolators need, in a fixed order
  // ("cpu", "io", "memory", "pids").
  std::vector<std::string> Controllers() const;
  // Comma-separated, sorted: "cgroups/cpu,cgroups/mem,cgroups/pids".
  std::string ToString() const;
};

// Parses a comma-separated list. InvalidArgument for an unknown name, an
// empty list or a posix and a cgroups isolator for the same resource.
absl::StatusOr<IsolationConfig> ParseIsolation(const std::string& flag);

// The controllers listed in `parent`'s cgroup.controllers (the cgroup under
// which the cgroups root is created).
absl::StatusOr<std::set<std::string>> AvailableControllers(
    const CgroupFs& fs, const std::string& parent);

// Resolves the flag: the default rule when `flag` is empty, else the parsed
// flag checked against the host. `fs` is null when `hierarchy` is not a
// cgroup2 mount. FailedPrecondition names the missing controller or mount.
absl::StatusOr<IsolationConfig> ResolveIsolation(const std::string& flag,
                                                 const CgroupFs* fs,
                                                 const std::string& hierarchy,
                                                 const std::string& root);

// The parent cgroup of `root` ("a/b" -> "a", "agora" -> "").
std::string ParentCgroup(const std::string& root);

}  // namespace agora

#endif  // AGORA_ISOLATION_ISOLATION_CONFIG_H_
