// Test harness for integration tests: starts the real agora-master,
// agora-agent and agora-execute binaries on port 0 in a fresh temporary
// directory, reads their port files, and waits on conditions with deadlines.
#ifndef AGORA_TESTS_INTEGRATION_CLUSTER_H_
#define AGORA_TESTS_INTEGRATION_CLUSTER_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agora::testing {

// A child process whose stdout and stderr go to one log file. Killed
// (SIGKILL) on destruction if still running.
class Subprocess {
 public:
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const std::string& log_path);
  ~Subprocess();

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Waits for exit; returns the exit code (128 + signal when killed), or
  // DeadlineExceeded.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  bool Running();
  std::string Log() const;  // The whole log so far.

 private:
  Subprocess(pid_t pid, std::string log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  std::optional<int> exit_code_;
};

struct Ports {
  int grpc = 0;
  int http = 0;
};

// Polls `fn` every 20 ms until it returns true or `timeout` passes.
bool WaitFor(const std::function<bool()>& fn,
             absl::Duration timeout = absl::Seconds(30));

// Waits for `path` to hold both ports; gives up early (FailedPrecondition)
// once `process`, when given, has exited.
absl::StatusOr<Ports> WaitForPortFile(const std::string& path,
                                      absl::Duration timeout,
                                      Subprocess* process = nullptr);

// GET http://127.0.0.1:<port><path>; the body, or an error.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;
  std::string location;  // The Location header, if any.
};
// GET http://127.0.0.1:<port><path> without following redirects, waiting
// at most `timeout` for the connection and again for the answer; the answer
// whatever its status, or Unavailable without one.
absl::StatusOr<HttpResult> HttpGetResult(
    int port, const std::string& path,
    absl::Duration timeout = absl::Seconds(10));
// POST http://127.0.0.1:<port><path> with `body`, Content-Type
// `content_type` and, unless empty, `accept` as Accept; the answer whatever
// its status, or Unavailable without one.
absl::StatusOr<HttpResult> HttpPost(int port, const std::string& path,
                                    const std::string& body,
                                    const std::string& content_type,
                                    const std::string& accept = "");

std::string BinDir();  // $AGORA_BIN_DIR, where the built binaries are.
std::string ReadFile(const std::string& path);

// One master (or, with a ZooKeeper URL, `masters` masters electing a
// leader) and `agents` agents on loopback, each in a directory under a fresh
// temporary root. Master 0 lives in "<root>/master" (log "master.log"),
// master i > 0 in "<root>/master<i>".
class LocalCluster {
 public:
  struct Options {
    int agents = 1;
    std::string agent_resources =
        "cpus:4;mem:4096;disk:4096;ports:[31000-32000]";
    std::vector<std::string> master_flags;
    std::vector<std::string> agent_flags;
    // High availability: "zk://h1:p1,.../path". Every master gets --zk with
    // it, and agents and Execute() find the leader through it
    // (--master=zk://...). Empty: one master, found by address.
    std::string zk;
    int masters = 1;  // Used only with `zk`.
  };

  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(Options options);
  ~LocalCluster();

  const std::string& root() const { return root_; }
  // What clients pass as --master: the ZooKeeper URL with `zk`, else
  // master_address().
  std::string master_url() const;
  int masters() const { return static_cast<int>(masters_.size()); }
  std::string master_address(int i = 0) const;  // "127.0.0.1:<grpc port>"
  const Ports& master_ports(int i = 0) const { return master_ports_[i]; }
  const Ports& agent_ports(int i = 0) const { return agent_ports_[i]; }
  std::string agent_work_dir(int i = 0) const;
  Subprocess* master(int i = 0) { return masters_[i].get(); }
  Subprocess* agent(int i = 0) { return agents_[i].get(); }

  // The index of the running master whose GET /state answers 200 naming
  // itself as "leader", or -1.
  int Leader();
  // Polls Leader() until a master other than `other_than` (-1: any) leads;
  // DeadlineExceeded with every master's log tail otherwise.
  absl::StatusOr<int> WaitForLeader(absl::Duration timeout = absl::Seconds(30),
                                    int other_than = -1);
  // Starts master `i` again (after it exited or was killed) with the same
  // flags and work directory; waits for its new port file. Its ports change.
  absl::Status RestartMaster(int i);
  // HTTP port of the current leader (master 0 without `zk`), or
  // Unavailable.
  absl::StatusOr<int> LeaderHttpPort();

  // Stops agent `i` (SIGTERM) and starts it again with the same flags and
  // work directory; waits for its new port file. Its ports change.
  absl::Status RestartAgent(int i = 0);
  // The same with `signal` (SIGKILL: a crash) and flags added to the
  // restarted agent's.
  absl::Status RestartAgent(int i, int signal,
                            const std::vector<std::string>& extra_flags);
  // The two halves of a restart: stop with `signal` and wait for the exit;
  // start with the original flags plus `extra_flags`.
  absl::Status StopAgent(int i, int signal);
  absl::Status StartAgent(int i, const std::vector<std::string>& extra_flags);
  // Live processes (executors and tasks) whose MESOS_SANDBOX is under
  // `dir`; the destructor kills those under root().
  std::vector<pid_t> ProcessesUnder(const std::string& dir) const;
  // Waits until the (leading) master's /state lists `n` active agents.
  absl::Status WaitForAgents(int n, absl::Duration timeout = absl::Seconds(30));

  // Runs agora-execute against this cluster with `args` (plus --master) and
  // returns its exit code and output.
  struct ExecuteResult {
    int exit_code = -1;
    std::string output;
  };
  absl::StatusOr<ExecuteResult> Execute(
      const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(120));

 private:
  absl::Status StartMaster(int i);
  absl::Status LaunchAgent(int i, const Options& options);
  std::string MasterName(int i) const;

  std::string root_;
  std::string zk_;
  std::vector<std::unique_ptr<Subprocess>> masters_;
  std::vector<Ports> master_ports_;
  std::vector<std::vector<std::string>> master_args_;
  std::vector<int> master_starts_;
  std::vector<std::unique_ptr<Subprocess>> agents_;
  std::vector<Ports> agent_ports_;
  std::vector<std::vector<std::string>> agent_args_;
  int executions_ = 0;
  int agent_runs_ = 0;
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_INTEGRATION_CLUSTER_H_
