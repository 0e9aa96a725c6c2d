#include "isolation/posix_launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace agora {
namespace {

constexpr char kDefaultPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What the child reports through the CLOEXEC pipe when a step fails.
enum Step : int { kSetsid = 1, kChdir, kStdio, kExec };
struct ChildFailure {
  int step;
  int error;
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
                           int in, int report) {
  auto fail = [report](int step) {
    ChildFailure f{step, errno};
    ssize_t n = write(report, &f, sizeof(f));
    (void)n;
    _exit(127);
  };
  // The parent may block or ignore signals (gRPC ignores SIGPIPE); the new
  // program starts with defaults.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);

  if (setsid() < 0) fail(kSetsid);
  if (cwd[0] != '\0' && chdir(cwd) < 0) fail(kChdir);
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) fail(kStdio);
    // Nothing else of the parent's leaks into the program: every other
    // descriptor closes on exec (the report pipe already does).
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) < 0)
#endif
  {
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = 3; fd < max; ++fd) {
      if (fd != report) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  execve(program, argv, envp);
  fail(kExec);
  _exit(127);  // Not reached.
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
    default:
      return absl::ErrnoToStatus(
          f.error, absl::StrCat("failed to execute '", program, "'"));
  }
}

struct ProcEntry {
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
};

// Every process's parent and group, from /proc/<pid>/stat.
std::map<pid_t, ProcEntry> ReadProcessTable() {
  std::map<pid_t, ProcEntry> table;
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator("/proc", ec)) {
    int pid;
    if (!absl::SimpleAtoi(dir.path().filename().string(), &pid)) continue;
    std::ifstream in(dir.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;  // The process just exited.
    // "pid (comm) state ppid pgrp session ..."; comm may hold spaces and
    // ')'.
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields =
        absl::StrSplit(line.substr(close + 1), ' ', absl::SkipEmpty());
    ProcEntry e;
    if (fields.size() < 4 || !absl::SimpleAtoi(fields[1], &e.ppid) ||
        !absl::SimpleAtoi(fields[2], &e.pgid) ||
        !absl::SimpleAtoi(fields[3], &e.sid)) {
      continue;
    }
    table[pid] = e;
  }
  return table;
}

std::vector<pid_t> Descendants(const std::map<pid_t, ProcEntry>& table,
                               pid_t root) {
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, e] : table) children.emplace(e.ppid, pid);
  std::vector<pid_t> out;
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    auto [begin, end] = children.equal_range(p);
    for (auto it = begin; it != end; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return out;
}

}  // namespace

std::vector<pid_t> ProcessDescendants(pid_t pid) {
  return Descendants(ReadProcessTable(), pid);
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

  pid_t pid = fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "launch: fork failed");
  if (pid == 0) {
    RunChild(program.c_str(), argv.get(), envp.get(), spec.cwd.c_str(),
             out.get(), err.get(), in.get(), report_write.get());
  }
  report_write.reset();
  ChildFailure failure;
  ssize_t n;
  do {
    n = read(report_read.get(), &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(failure))) {
    // The child never ran the program; collect it here so it is not left
    // a zombie and nobody else reports its exit.
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return ChildFailureToStatus(failure, spec, program);
  }
  reaper_.Watch(pid, std::move(on_exit));
  return pid;
}

absl::Status PosixLauncher::Kill(pid_t pid, int signal) {
  std::map<pid_t, ProcEntry> table = ReadProcessTable();
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
