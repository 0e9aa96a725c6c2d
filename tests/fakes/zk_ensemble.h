// ZkEnsemble: a real ZooKeeper ensemble (1 or 3 servers) for tests and
// benchmarks, started from Debian's `zookeeper` package as child JVMs on
// free loopback ports, each server in its own directory under `dir`
// (`s<id>/zoo.cfg`, `s<id>/data`, `s<id>/server.log`). Settings are the ones
// tests want: tickTime=500 (sessions from 1 s up to 60 s), no admin server,
// loopback only, the `srvr`/`ruok`/`mntr` four-letter words, a small heap.
//
// Where things are: `java` is looked up on PATH; the server's class path is
// $AGORA_ZK_JAR when set (a Java class path, e.g. "/opt/zk/lib/*" for
// Apache's tarball), else Debian's /usr/share/java/zookeeper.jar (whose
// manifest carries its dependencies) plus the log4j binding beside it.
// Both are resolved once per ensemble.
//
// Servers are indexed 0..size()-1 (ZooKeeper's myid is index + 1).
//
// Thread rule: not thread-safe; use from one test thread. The destructor
// kills (SIGKILL) every server still running; `dir` is left for the caller.
#ifndef AGORA_TESTS_FAKES_ZK_ENSEMBLE_H_
#define AGORA_TESTS_FAKES_ZK_ENSEMBLE_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agora::testing {

class Subprocess;

class ZkEnsemble {
 public:
  // How long Start() waits for every server to serve.
  static constexpr absl::Duration kStartTimeout = absl::Seconds(60);

  // Writes the configuration of `servers` servers under `dir` (created if
  // missing), starts them and waits (kStartTimeout) until each one serves.
  // Errors: InvalidArgument (servers outside 1..7), FailedPrecondition (no
  // `java` on PATH or no ZooKeeper jar, saying how to install them),
  // Internal (a server exited, with its log's path and tail),
  // DeadlineExceeded (a server did not serve in time, with its log's path
  // and tail). Never a skip: a test that needs ZooKeeper fails without it.
  static absl::StatusOr<std::unique_ptr<ZkEnsemble>> Start(int servers,
                                                           std::string dir);
  ~ZkEnsemble();

  ZkEnsemble(const ZkEnsemble&) = delete;
  ZkEnsemble& operator=(const ZkEnsemble&) = delete;

  int size() const { return static_cast<int>(servers_.size()); }
  // "127.0.0.1:p1,127.0.0.1:p2,..." in server order.
  std::string ConnectString() const;
  // "zk://127.0.0.1:p1,.../path"; `path` starts with '/'.
  std::string Url(const std::string& path) const;
  int client_port(int i) const;
  std::string log_path(int i) const;
  pid_t pid(int i) const;  // 0 when server `i` is not running.

  // SIGKILLs server `i` and reaps it; no-op when it is not running.
  void Stop(int i);
  void StopAll();
  // Stops server `i` if running and starts it again with the same
  // configuration and data; does not wait (see WaitServing).
  absl::Status Restart(int i);

  // What server `i` says to `srvr`: "leader", "follower", "standalone" (or
  // "observer"); "not serving" when it answers without serving (no quorum);
  // "down" when nothing answers.
  std::string Mode(int i) const;
  bool Serving(int i) const;
  // Index of the server that reports "leader" or "standalone", or -1.
  int Leader() const;

  // Until server `i` serves. Internal when it exits, DeadlineExceeded at
  // `deadline`; both name its log.
  absl::Status WaitServing(int i, absl::Time deadline);
  // Until a majority of the servers serve, one of them as the leader.
  // DeadlineExceeded at `deadline`, with every server's mode.
  absl::Status WaitQuorum(absl::Time deadline);

  // The children of `path`, sorted, read through a short-lived session of
  // ZooKeeper's C client (what a test checks the registry or the election
  // znodes with). NotFound when `path` does not exist, Unavailable when no
  // quorum answers within `timeout`, Internal for any other ZooKeeper
  // error. Defined in zk_ensemble_read.cc.
  absl::StatusOr<std::vector<std::string>> Children(
      const std::string& path,
      absl::Duration timeout = absl::Seconds(10)) const;

 private:
  struct Server {
    std::string dir;
    int client_port = 0;
    int quorum_port = 0;
    int election_port = 0;
    std::unique_ptr<Subprocess> process;
  };

  ZkEnsemble() = default;
  absl::Status WriteConfig(int i) const;
  absl::Status Launch(int i);
  std::string Describe(int i) const;  // Log path and the log's tail.

  std::string dir_;
  std::string java_;
  std::string classpath_;
  std::vector<Server> servers_;
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_FAKES_ZK_ENSEMBLE_H_
