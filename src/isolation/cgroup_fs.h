// CgroupFs: the cgroup2 filesystem seen as cgroups (paths relative to a
// hierarchy root, "" being the root itself) holding interface files. The
// isolator (cgroups2_isolator.h) does all its cgroup work through this
// interface so that it can be unit-tested against an in-memory fake; the
// real implementation reads and writes files below a directory where a
// cgroup2 filesystem is mounted.
//
// Errors keep the kernel's errno in the status (absl::ErrnoToStatus), so
// callers can tell EBUSY (a cgroup still populated) from ENOENT (a
// controller's file missing) and name the file in their messages.
//
// Thread rule: implementations are thread-safe (they keep no state).
#ifndef AGORA_ISOLATION_CGROUP_FS_H_
#define AGORA_ISOLATION_CGROUP_FS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace agora {

class CgroupFs {
 public:
  virtual ~CgroupFs() = default;

  // The absolute path of `cgroup` (for open(2) and messages).
  virtual std::string Path(const std::string& cgroup) const = 0;
  virtual bool Exists(const std::string& cgroup) const = 0;
  // mkdir: AlreadyExists when it exists, NotFound without its parent.
  virtual absl::Status Create(const std::string& cgroup) = 0;
  // rmdir: FailedPrecondition (EBUSY) while it has processes or children.
  virtual absl::Status Remove(const std::string& cgroup) = 0;
  // The names of the child cgroups of `cgroup`.
  virtual absl::StatusOr<std::vector<std::string>> Children(
      const std::string& cgroup) const = 0;
  virtual absl::StatusOr<std::string> Read(const std::string& cgroup,
                                           const std::string& file) const = 0;
  // One write(2) of `value`, as the kernel wants for interface files.
  virtual absl::Status Write(const std::string& cgroup, const std::string& file,
                             const std::string& value) = 0;
};

// Files below `mount_point` (a cgroup2 mount, or a sub-directory of one).
std::unique_ptr<CgroupFs> NewRealCgroupFs(std::string mount_point);

// True when `path` is on a cgroup2 filesystem (statfs magic).
bool IsCgroup2Mount(const std::string& path);

// The cgroup2 cgroup of the calling process, from the "0::/a/b" line of
// /proc/self/cgroup, relative to the cgroup2 mount ("a/b"; "" for the
// root). NotFound when the process has no cgroup2 membership.
absl::StatusOr<std::string> OwnCgroup2Path();

// "a/b" joined with "c" -> "a/b/c"; "" + "c" -> "c".
std::string JoinCgroup(const std::string& parent, const std::string& child);

}  // namespace agora

#endif  // AGORA_ISOLATION_CGROUP_FS_H_
