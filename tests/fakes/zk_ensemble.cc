#include "fakes/zk_ensemble.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "integration/cluster.h"

namespace agora::testing {
namespace {

constexpr char kDebianJar[] = "/usr/share/java/zookeeper.jar";
constexpr char kInstallHint[] =
    "install Debian's zookeeper package (AGORA_INSTALL_TEST_DEPS=1 "
    "scripts/install-deps.sh) or set AGORA_ZK_JAR to a ZooKeeper class path";
constexpr absl::Duration kPollInterval = absl::Milliseconds(100);
constexpr absl::Duration kSrvrTimeout = absl::Milliseconds(500);

// Logging goes to the server's stdout (its server.log) through log4j 1.2,
// which Debian's libzookeeper-java depends on.
constexpr char kLog4jProperties[] =
    "log4j.rootLogger=INFO, CONSOLE\n"
    "log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n"
    "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n"
    "log4j.appender.CONSOLE.layout.ConversionPattern="
    "%d{ISO8601} %-5p [%t] %c{1}: %m%n\n";

bool IsExecutable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

absl::StatusOr<std::string> FindJava() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "", ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/java");
    if (IsExecutable(candidate)) return candidate;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("zookeeper ensemble: no 'java' on PATH; ", kInstallHint));
}

// $AGORA_ZK_JAR as given (each entry without a wildcard must exist), or
// Debian's jar plus the log4j binding installed beside it.
absl::StatusOr<std::string> ResolveClasspath() {
  const char* env = std::getenv("AGORA_ZK_JAR");
  if (env != nullptr && *env != '\0') {
    for (absl::string_view entry :
         absl::StrSplit(env, ':', absl::SkipEmpty())) {
      if (!absl::StrContains(entry, '*') &&
          !std::filesystem::exists(std::string(entry))) {
        return absl::FailedPreconditionError(
            absl::StrCat("zookeeper ensemble: AGORA_ZK_JAR entry '", entry,
                         "' does not exist"));
      }
    }
    return std::string(env);
  }
  if (!std::filesystem::exists(kDebianJar)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "zookeeper ensemble: no ", kDebianJar, "; ", kInstallHint));
  }
  std::vector<std::string> entries = {kDebianJar};
  for (const char* extra :
       {"/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"}) {
    if (std::filesystem::exists(extra)) entries.push_back(extra);
  }
  return absl::StrJoin(entries, ":");
}

// Distinct free loopback TCP ports: all `n` sockets stay bound until every
// port is chosen, then they are released for the servers to take.
absl::StatusOr<std::vector<int>> PickFreePorts(int n) {
  std::vector<int> fds;
  std::vector<int> ports;
  absl::Status status;
  for (int i = 0; i < n && status.ok(); ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      status = absl::InternalError(
          absl::StrCat("zookeeper ensemble: socket: ", std::strerror(errno)));
      break;
    }
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      status = absl::InternalError(
          absl::StrCat("zookeeper ensemble: cannot pick a free port: ",
                       std::strerror(errno)));
      break;
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) ::close(fd);
  if (!status.ok()) return status;
  return ports;
}

// Waits until `fd` is ready for `events` or `deadline` passes.
bool PollUntil(int fd, short events, absl::Time deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    int ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) return false;
    int r = ::poll(&p, 1, ms);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

// Sends a four-letter word to 127.0.0.1:`port` and returns the whole
// answer (the server closes the connection after it); "" on any failure.
std::string FourLetterWord(int port, const char* word, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string answer;
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  bool connected =
      r == 0 || (errno == EINPROGRESS && PollUntil(fd, POLLOUT, deadline));
  int err = 0;
  socklen_t len = sizeof(err);
  if (connected && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
      err == 0 &&
      ::send(fd, word, std::strlen(word), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(std::strlen(word))) {
    char buf[4096];
    while (PollUntil(fd, POLLIN, deadline)) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

std::string Tail(const std::string& path, int lines) {
  std::vector<std::string> all =
      absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty());
  size_t from =
      all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + from, all.end(), "\n");
}

bool IsServingMode(const std::string& mode) {
  return mode == "leader" || mode == "follower" || mode == "standalone" ||
         mode == "observer";
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    return absl::InternalError(
        absl::StrCat("zookeeper ensemble: cannot write '", path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ZkEnsemble>> ZkEnsemble::Start(int servers,
                                                              std::string dir) {
  if (servers < 1 || servers > 7) {
    return absl::InvalidArgumentError(absl::StrCat(
        "zookeeper ensemble: ", servers, " servers; expected 1 to 7"));
  }
  std::unique_ptr<ZkEnsemble> ensemble(new ZkEnsemble());
  AGORA_ASSIGN_OR_RETURN(ensemble->java_, FindJava());
  AGORA_ASSIGN_OR_RETURN(ensemble->classpath_, ResolveClasspath());
  ensemble->dir_ = std::move(dir);
  // A standalone server needs only its client port.
  int per_server = servers == 1 ? 1 : 3;
  AGORA_ASSIGN_OR_RETURN(std::vector<int> ports,
                         PickFreePorts(servers * per_server));
  for (int i = 0; i < servers; ++i) {
    Server server;
    server.dir = absl::StrCat(ensemble->dir_, "/s", i + 1);
    server.client_port = ports[i * per_server];
    if (per_server == 3) {
      server.quorum_port = ports[i * per_server + 1];
      server.election_port = ports[i * per_server + 2];
    }
    ensemble->servers_.push_back(std::move(server));
  }
  for (int i = 0; i < servers; ++i) {
    AGORA_RETURN_IF_ERROR(ensemble->WriteConfig(i));
    AGORA_RETURN_IF_ERROR(ensemble->Launch(i));
  }
  absl::Time deadline = absl::Now() + kStartTimeout;
  for (int i = 0; i < servers; ++i) {
    AGORA_RETURN_IF_ERROR(ensemble->WaitServing(i, deadline));
  }
  return ensemble;
}

ZkEnsemble::~ZkEnsemble() { StopAll(); }

absl::Status ZkEnsemble::WriteConfig(int i) const {
  const Server& server = servers_[i];
  std::error_code ec;
  std::filesystem::create_directories(server.dir + "/data", ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("zookeeper ensemble: cannot create '", server.dir,
                     "/data': ", ec.message()));
  }
  AGORA_RETURN_IF_ERROR(
      WriteFile(server.dir + "/data/myid", absl::StrCat(i + 1, "\n")));
  AGORA_RETURN_IF_ERROR(
      WriteFile(server.dir + "/log4j.properties", kLog4jProperties));
  // tickTime=500 lets sessions be as short as 1 s (2 ticks); forceSync=no
  // spares the shared test disk an fsync per write (a SIGKILLed server
  // still finds its writes in the page cache when restarted).
  std::string cfg = absl::StrCat(
      "tickTime=500\ninitLimit=10\nsyncLimit=5\n", "dataDir=", server.dir,
      "/data\n", "clientPort=", server.client_port, "\n",
      "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n",
      "maxSessionTimeout=60000\n4lw.commands.whitelist=srvr,ruok,mntr\n",
      "forceSync=no\n");
  if (size() > 1) {
    for (int j = 0; j < size(); ++j) {
      absl::StrAppend(&cfg, "server.", j + 1,
                      "=127.0.0.1:", servers_[j].quorum_port, ":",
                      servers_[j].election_port, "\n");
    }
  }
  return WriteFile(server.dir + "/zoo.cfg", cfg);
}

absl::Status ZkEnsemble::Launch(int i) {
  Server& server = servers_[i];
  // A small heap, the serial collector and the client JIT only: several
  // JVMs share a 2-core test machine, so each spends little CPU on JIT and
  // GC threads.
  std::vector<std::string> args = {
      "-Xmx128m",
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-XX:ErrorFile=" + server.dir + "/hs_err_%p.log",
      "-Dlog4j.configuration=file:" + server.dir + "/log4j.properties",
      "-Dzookeeper.log.dir=" + server.dir,
      "-cp",
      classpath_,
      "org.apache.zookeeper.server.quorum.QuorumPeerMain",
      server.dir + "/zoo.cfg"};
  auto process = Subprocess::Start(java_, args, log_path(i));
  if (!process.ok()) {
    return absl::InternalError(absl::StrCat("zookeeper server ", i + 1,
                                            ": cannot start ", java_, ": ",
                                            process.status().message()));
  }
  server.process = std::move(*process);
  return absl::OkStatus();
}

std::string ZkEnsemble::ConnectString() const {
  std::vector<std::string> hosts;
  for (const Server& server : servers_) {
    hosts.push_back(absl::StrCat("127.0.0.1:", server.client_port));
  }
  return absl::StrJoin(hosts, ",");
}

std::string ZkEnsemble::Url(const std::string& path) const {
  return absl::StrCat("zk://", ConnectString(), path);
}

int ZkEnsemble::client_port(int i) const { return servers_[i].client_port; }

std::string ZkEnsemble::log_path(int i) const {
  return servers_[i].dir + "/server.log";
}

pid_t ZkEnsemble::pid(int i) const {
  const auto& process = servers_[i].process;
  return process != nullptr && process->Running() ? process->pid() : 0;
}

void ZkEnsemble::Stop(int i) {
  std::unique_ptr<Subprocess>& process = servers_[i].process;
  if (process == nullptr) return;
  process->Signal(SIGKILL);
  process->Wait(absl::Seconds(10)).IgnoreError();
  process.reset();
}

void ZkEnsemble::StopAll() {
  for (int i = 0; i < size(); ++i) Stop(i);
}

absl::Status ZkEnsemble::Restart(int i) {
  Stop(i);
  return Launch(i);
}

std::string ZkEnsemble::Mode(int i) const {
  std::string answer =
      FourLetterWord(servers_[i].client_port, "srvr", kSrvrTimeout);
  if (answer.empty()) return "down";
  for (absl::string_view line : absl::StrSplit(answer, '\n')) {
    if (absl::ConsumePrefix(&line, "Mode:")) {
      return std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return "not serving";
}

bool ZkEnsemble::Serving(int i) const { return IsServingMode(Mode(i)); }

int ZkEnsemble::Leader() const {
  for (int i = 0; i < size(); ++i) {
    std::string mode = Mode(i);
    if (mode == "leader" || mode == "standalone") return i;
  }
  return -1;
}

std::string ZkEnsemble::Describe(int i) const {
  return absl::StrCat("see ", log_path(i), "; its last lines:\n",
                      Tail(log_path(i), 30));
}

absl::Status ZkEnsemble::WaitServing(int i, absl::Time deadline) {
  while (true) {
    if (Serving(i)) return absl::OkStatus();
    Subprocess* process = servers_[i].process.get();
    if (process == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("zookeeper server ", i + 1, " is stopped"));
    }
    if (!process->Running()) {
      absl::StatusOr<int> code = process->Wait(absl::ZeroDuration());
      return absl::InternalError(absl::StrCat(
          "zookeeper server ", i + 1, " exited with code ",
          code.ok() ? *code : -1, " before serving; ", Describe(i)));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "zookeeper server ", i + 1, " (client port ", servers_[i].client_port,
          ") is not serving (mode '", Mode(i), "'); ", Describe(i)));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::Status ZkEnsemble::WaitQuorum(absl::Time deadline) {
  while (true) {
    int serving = 0;
    bool leader = false;
    std::vector<std::string> modes;
    for (int i = 0; i < size(); ++i) {
      std::string mode = Mode(i);
      if (mode == "leader" || mode == "standalone") leader = true;
      if (IsServingMode(mode)) ++serving;
      modes.push_back(absl::StrCat(i + 1, ":", mode));
    }
    if (leader && serving > size() / 2) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("zookeeper ensemble has no quorum (",
                       absl::StrJoin(modes, " "), "); logs under ", dir_));
    }
    absl::SleepFor(kPollInterval);
  }
}

}  // namespace agora::testing
