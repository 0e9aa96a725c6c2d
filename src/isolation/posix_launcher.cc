#include "isolation/posix_launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/child_process.h"
#include "common/status_macros.h"
#include "common/vfork_clone.h"

namespace agora {
namespace {

constexpr char kDefaultPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What the child reports through the CLOEXEC pipe when a step fails.
enum Step : int {
  kSetsid = 1,
  kChdir,
  kStdio,
  kExec,
  kCgroup,
  kMountPrivate,
  kMountProc,
  kMountTmp,
  kSetgroups,
  kSetgid,
  kSetuid
};

// What the child does between clone and exec, prepared by the parent.
struct ChildSetup {
  int cgroup_procs = -1;  // Fallback: write own pid here.
  bool mount_ns = false;
  bool mount_proc = false;
  const char* private_tmp = nullptr;
  const LaunchSpec::User* user = nullptr;
  // The program, opened before the child changes its mounts: a private
  // /tmp must not hide a binary that lives under the host's /tmp.
  int program_fd = -1;
};

// Owns the C strings handed to execve so they outlive fork().
class CStrings {
 public:
  explicit CStrings(std::vector<std::string> strings)
      : strings_(std::move(strings)) {
    for (std::string& s : strings_) ptrs_.push_back(s.data());
    ptrs_.push_back(nullptr);
  }
  char* const* get() { return ptrs_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> ptrs_;
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

absl::Status OpenOutput(const std::string& path, Fd* fd) {
  const char* target = path.empty() ? "/dev/null" : path.c_str();
  int flags = O_WRONLY | O_CLOEXEC | (path.empty() ? 0 : O_CREAT | O_APPEND);
  fd->reset(open(target, flags, 0644));
  if (fd->get() < 0) {
    return absl::ErrnoToStatus(errno,
                               absl::StrCat("failed to open '", target, "'"));
  }
  return absl::OkStatus();
}

// Runs in the forked child: async-signal-safe calls only.
[[noreturn]] void RunChild(const char* program, char* const* argv,
                           char* const* envp, const char* cwd, int out, int err,
                           int in, int report, const ChildSetup& setup) {
  auto fail = [report](int step) { FailInChild(report, step); };
  // The parent may block or ignore signals (gRPC ignores SIGPIPE); the new
  // program starts with defaults.
  ResetSignalsInChild();

  if (setup.cgroup_procs >= 0) {
    // Async-signal-safe decimal formatting of our pid.
    char buf[24];
    char* p = buf + sizeof(buf);
    unsigned long v = static_cast<unsigned long>(getpid());
    do {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    if (write(setup.cgroup_procs, p,
              static_cast<size_t>(buf + sizeof(buf) - p)) < 0) {
      fail(kCgroup);
    }
  }
  if (setsid() < 0) fail(kSetsid);
  if (setup.mount_ns) {
    // Nothing mounted here may propagate back to the host.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
      fail(kMountPrivate);
    }
    if (setup.mount_proc &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) < 0) {
      fail(kMountProc);
    }
    if (setup.private_tmp != nullptr &&
        mount(setup.private_tmp, "/tmp", nullptr, MS_BIND | MS_REC, nullptr) <
            0) {
      fail(kMountTmp);
    }
  }
  if (setup.user != nullptr) {
    const LaunchSpec::User& u = *setup.user;
    // Raw system calls: glibc's wrappers would try to synchronise the
    // parent's other threads, which do not exist in this child.
    if (syscall(SYS_setgroups, u.groups.size(), u.groups.data()) < 0) {
      fail(kSetgroups);
    }
    if (syscall(SYS_setgid, u.gid) < 0) fail(kSetgid);
    if (syscall(SYS_setuid, u.uid) < 0) fail(kSetuid);
  }
  if (cwd[0] != '\0' && chdir(cwd) < 0) fail(kChdir);
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) fail(kStdio);
  // Nothing else of the parent's leaks into the program.
  CloseOnExecFrom3InChild(report);
  if (setup.program_fd >= 0) {
    syscall(SYS_execveat, setup.program_fd, "", argv, envp, AT_EMPTY_PATH);
  } else {
    execve(program, argv, envp);
  }
  fail(kExec);
  _exit(127);  // Not reached.
}

// Everything RunChild needs, in one place the child can reach through a
// single pointer (it shares or copies the parent's memory).
struct ChildArgs {
  const char* program;
  char* const* argv;
  char* const* envp;
  const char* cwd;
  int out, err, in, report;
  const ChildSetup* setup;
};

void RunChildEntry(void* p) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(p);
  RunChild(a.program, a.argv, a.envp, a.cwd, a.out, a.err, a.in, a.report,
           *a.setup);
}

// Starts the child (StartChildProcess): where clone3 and the trampoline
// exist it shares this process's memory until exec and is born in the
// cgroup open as `cgroup_fd` (-1: none). Otherwise, and when `use_clone3`
// is false, the copied child writes itself into `cgroup_procs` (opened
// here) before exec.
absl::StatusOr<pid_t> StartChild(bool use_clone3, const std::string& cgroup,
                                 uint64_t ns_flags, int cgroup_fd,
                                 ChildArgs* child, ChildSetup* setup,
                                 Fd* cgroup_procs) {
  int open_error = 0;
  auto open_procs = [&]() -> int {
    if (cgroup.empty()) return 0;
    std::string procs = cgroup + "/cgroup.procs";
    cgroup_procs->reset(open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (cgroup_procs->get() < 0) {
      open_error = errno;
      return -open_error;
    }
    setup->cgroup_procs = cgroup_procs->get();
    return 0;
  };
  uint64_t flags = ns_flags | (cgroup_fd >= 0 ? kCloneIntoCgroup : 0);
  pid_t pid = StartChildProcess(flags, cgroup_fd, use_clone3, &RunChildEntry,
                                child, open_procs);
  if (open_error != 0) {
    return absl::ErrnoToStatus(
        open_error,
        absl::StrCat("launch: failed to open '", cgroup, "/cgroup.procs'"));
  }
  if (pid < 0) return absl::ErrnoToStatus(-pid, "launch: clone failed");
  return pid;
}

absl::Status ChildFailureToStatus(const ChildFailure& f, const LaunchSpec& spec,
                                  const std::string& program) {
  switch (f.step) {
    case kSetsid:
      return absl::ErrnoToStatus(f.error, "failed to create a session");
    case kChdir:
      return absl::ErrnoToStatus(
          f.error,
          absl::StrCat("failed to change directory to '", spec.cwd, "'"));
    case kStdio:
      return absl::ErrnoToStatus(f.error,
                                 "failed to redirect stdin/stdout/stderr");
    case kCgroup:
      return absl::ErrnoToStatus(
          f.error, absl::StrCat("failed to enter cgroup '", spec.cgroup, "'"));
    case kMountPrivate:
      return absl::ErrnoToStatus(f.error,
                                 "failed to make the mount namespace private");
    case kMountProc:
      return absl::ErrnoToStatus(f.error, "failed to mount /proc");
    case kMountTmp:
      return absl::ErrnoToStatus(
          f.error,
          absl::StrCat("failed to mount '", spec.private_tmp, "' on /tmp"));
    case kSetgroups:
    case kSetgid:
    case kSetuid:
      return absl::ErrnoToStatus(
          f.error, absl::StrCat("failed to switch to user '",
                                spec.user ? spec.user->name : "", "'"));
    default:
      return absl::ErrnoToStatus(
          f.error, absl::StrCat("failed to execute '", program, "'"));
  }
}

}  // namespace

absl::StatusOr<LaunchSpec::User> LookupUser(const std::string& name) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (found == nullptr) {
    if (rc != 0) {
      return absl::ErrnoToStatus(
          rc, absl::StrCat("failed to look up user '", name, "'"));
    }
    return absl::NotFoundError(
        absl::StrCat("user '", name, "' does not exist on this agent"));
  }
  LaunchSpec::User user;
  user.name = name;
  user.uid = pw.pw_uid;
  user.gid = pw.pw_gid;
  int ngroups = 64;
  std::vector<gid_t> groups(static_cast<size_t>(ngroups));
  if (getgrouplist(name.c_str(), pw.pw_gid, groups.data(), &ngroups) < 0) {
    groups.resize(static_cast<size_t>(ngroups));
    getgrouplist(name.c_str(), pw.pw_gid, groups.data(), &ngroups);
  }
  groups.resize(static_cast<size_t>(std::max(ngroups, 0)));
  user.groups = std::move(groups);
  return user;
}

absl::StatusOr<std::string> ResolveProgram(const std::string& program,
                                           const std::string& path) {
  if (program.find('/') != std::string::npos) return program;
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("failed to find '", program, "' in PATH '", path, "'"));
}

absl::StatusOr<pid_t> PosixLauncher::Launch(const LaunchSpec& spec,
                                            ExitCallback on_exit) {
  if (spec.program.empty()) {
    return absl::InvalidArgumentError("launch: empty program");
  }
  auto path_it = spec.env.find("PATH");
  AGORA_ASSIGN_OR_RETURN(std::string program,
                         ResolveProgram(spec.program, path_it == spec.env.end()
                                                          ? kDefaultPath
                                                          : path_it->second));
  CStrings argv(spec.argv.empty() ? std::vector<std::string>{spec.program}
                                  : spec.argv);
  std::vector<std::string> env_strings;
  for (const auto& [name, value] : spec.env) {
    env_strings.push_back(absl::StrCat(name, "=", value));
  }
  CStrings envp(std::move(env_strings));

  Fd out, err, in(open("/dev/null", O_RDONLY | O_CLOEXEC));
  AGORA_RETURN_IF_ERROR(OpenOutput(spec.stdout_path, &out));
  AGORA_RETURN_IF_ERROR(OpenOutput(spec.stderr_path, &err));
  int pipe_fds[2];
  if (in.get() < 0 || pipe2(pipe_fds, O_CLOEXEC) < 0) {
    return absl::ErrnoToStatus(errno, "launch: failed to set up descriptors");
  }
  Fd report_read(pipe_fds[0]), report_write(pipe_fds[1]);

  ChildSetup setup;
  setup.mount_ns = spec.new_pid_namespace || !spec.private_tmp.empty();
  setup.mount_proc = spec.new_pid_namespace;
  setup.private_tmp =
      spec.private_tmp.empty() ? nullptr : spec.private_tmp.c_str();
  setup.user = spec.user ? &*spec.user : nullptr;
  Fd program_fd;
  if (setup.mount_ns) {
    program_fd.reset(open(program.c_str(), O_PATH | O_CLOEXEC));
    if (program_fd.get() < 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("launch: failed to open '", program, "'"));
    }
    setup.program_fd = program_fd.get();
  }
  uint64_t ns_flags = (spec.new_pid_namespace ? CLONE_NEWPID : 0) |
                      (setup.mount_ns ? CLONE_NEWNS : 0);
  Fd cgroup_dir, cgroup_procs;
  if (!spec.cgroup.empty()) {
    cgroup_dir.reset(
        open(spec.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (cgroup_dir.get() < 0) {
      return absl::ErrnoToStatus(
          errno,
          absl::StrCat("launch: failed to open cgroup '", spec.cgroup, "'"));
    }
  }

  ChildArgs child{program.c_str(),  argv.get(),         envp.get(),
                  spec.cwd.c_str(), out.get(),          err.get(),
                  in.get(),         report_write.get(), &setup};
  AGORA_ASSIGN_OR_RETURN(
      pid_t pid, StartChild(options_.use_clone3, spec.cgroup, ns_flags,
                            cgroup_dir.get(), &child, &setup, &cgroup_procs));
  report_write.reset();
  if (std::optional<ChildFailure> failure =
          ReadChildFailure(report_read.get())) {
    // The child never ran the program; collect it here so it is not left
    // a zombie and nobody else reports its exit.
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return ChildFailureToStatus(*failure, spec, program);
  }
  reaper_.Watch(pid, std::move(on_exit));
  return pid;
}

absl::Status PosixLauncher::Adopt(pid_t pid, uint64_t start_time,
                                  ExitCallback on_exit) {
  if (!reaper_.WatchAdopted(pid, start_time, std::move(on_exit))) {
    return absl::NotFoundError(absl::StrCat(
        "process ", pid, " is gone or is not the one started at tick ",
        start_time));
  }
  return absl::OkStatus();
}

absl::Status PosixLauncher::Kill(pid_t pid, int signal) {
  return KillInTable(ReadProcessTable(), pid, signal);
}

int PosixLauncher::KillMany(const std::vector<pid_t>& pids, int signal) {
  if (pids.empty()) return 0;
  // One walk of /proc for all of them: it is what a kill costs.
  std::map<pid_t, ProcEntry> table = ReadProcessTable();
  int signalled = 0;
  for (pid_t pid : pids) signalled += KillInTable(table, pid, signal).ok();
  return signalled;
}

absl::Status PosixLauncher::KillInTable(const std::map<pid_t, ProcEntry>& table,
                                        pid_t pid, int signal) {
  std::vector<pid_t> targets = Descendants(table, pid);
  targets.push_back(pid);
  // The launched process leads its own session, so everything still in
  // that session belongs to it, including orphans of a dead leader.
  for (const auto& [p, e] : table) {
    if (e.sid == pid && p != pid) targets.push_back(p);
  }
  std::set<pid_t> groups = {pid};
  for (pid_t p : targets) {
    auto it = table.find(p);
    if (it != table.end()) groups.insert(it->second.pgid);
  }
  groups.erase(getpgrp());  // Never signal the caller's own group.
  bool delivered = false;
  for (pid_t group : groups) {
    if (group > 1 && ::kill(-group, signal) == 0) delivered = true;
  }
  for (pid_t p : targets) {
    if (p != getpid() && ::kill(p, signal) == 0) delivered = true;
  }
  if (!delivered) {
    return absl::NotFoundError(
        absl::StrCat("kill: no process or process group ", pid));
  }
  return absl::OkStatus();
}

}  // namespace agora
