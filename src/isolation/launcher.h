// Launcher: the seam through which the agent starts and stops the processes
// of its containers. PosixLauncher (posix_launcher.h) forks and execs into a
// new session; a cgroups-v2 launcher will put the process into its
// container's cgroup at birth behind the same interface.
//
// Thread rule: implementations are thread-safe. Exit callbacks run on a
// launcher-owned thread and must only post to the caller's event loop.
#ifndef AGORA_ISOLATION_LAUNCHER_H_
#define AGORA_ISOLATION_LAUNCHER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace agora {

// What to run and where its standard streams go.
struct LaunchSpec {
  // The program: a path, or a bare name looked up in the PATH of `env` (or
  // the default system PATH when `env` has none).
  std::string program;
  // The full argv, argv[0] included. When empty, {program} is used.
  std::vector<std::string> argv;
  // The exact environment of the new process; nothing is inherited.
  std::map<std::string, std::string> env;
  // The working directory; "" keeps the caller's.
  std::string cwd;
  // Files opened for append (created 0644 if missing) as stdout and stderr;
  // "" means /dev/null. stdin is always /dev/null.
  std::string stdout_path;
  std::string stderr_path;

  // The absolute path of a cgroup2 directory the process is born in
  // (clone3 with CLONE_INTO_CGROUP; on kernels without it the child
  // writes itself into cgroup.procs before exec). "" keeps the caller's.
  std::string cgroup;
  // A new pid namespace (the program is its pid 1) with /proc remounted in
  // a new mount namespace (isolator namespaces/pid).
  bool new_pid_namespace = false;
  // A new mount namespace in which `private_tmp` (a directory) is
  // bind-mounted on /tmp (isolator filesystem/linux). "" = no private /tmp.
  std::string private_tmp;
  // Run as this user (setgroups, setgid, setuid before exec).
  struct User {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
  };
  std::optional<User> user;
};

// The user `name` from the passwd database, with its supplementary groups.
// NotFound with a clear message when there is no such user.
absl::StatusOr<LaunchSpec::User> LookupUser(const std::string& name);

class Launcher {
 public:
  // Called once with the pid and its wait(2) status when the process exits.
  // A status of -1 means the exit status could not be collected.
  using ExitCallback = std::function<void(pid_t pid, int wait_status)>;

  virtual ~Launcher() = default;

  // Starts `spec` as the leader of a new session and process group (its
  // pgid equals the returned pid). Returns only once the program has been
  // executed, so a failure to exec reaches the caller:
  //   InvalidArgument  - empty program
  //   NotFound         - program, cwd or an output file's directory missing
  //   PermissionDenied - not executable, or no access to cwd or a file
  //   Internal/other   - fork or any other step failed (errno text included)
  // `on_exit` is called after a successful launch only.
  virtual absl::StatusOr<pid_t> Launch(const LaunchSpec& spec,
                                       ExitCallback on_exit) = 0;

  // Watches `pid`, a process launched by an earlier life of the agent (so
  // not a child of this process), for its exit; `on_exit` then gets a
  // status of -1, as the status of another's child cannot be collected.
  // NotFound when `pid` is gone or now names another process (its start
  // time, ProcStat::start_time_ticks, is not `start_time`): a reused pid is
  // never adopted.
  virtual absl::Status Adopt(pid_t pid, uint64_t start_time,
                             ExitCallback on_exit) = 0;

  // Sends `signal` to the process group led by `pid`, to every process
  // group and process descending from it, and to every process left in the
  // session `pid` led (orphans whose parent died), so a kill reaches the
  // whole container even when a child started its own group or the leader
  // is gone. NotFound when nothing was signalled.
  virtual absl::Status Kill(pid_t pid, int signal) = 0;

  // Kill() of each of `pids` (as the agent does with what an earlier agent
  // left); an implementation may share the work between them. Returns how
  // many were signalled.
  virtual int KillMany(const std::vector<pid_t>& pids, int signal) {
    int signalled = 0;
    for (pid_t pid : pids) signalled += Kill(pid, signal).ok();
    return signalled;
  }
};

}  // namespace agora

#endif  // AGORA_ISOLATION_LAUNCHER_H_
