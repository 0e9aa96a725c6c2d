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

absl::StatusOr<Ports> WaitForPortFile(const std::string& path,
                                      absl::Duration timeout);

// GET http://127.0.0.1:<port><path>; the body, or an error.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;
};
// POST http://127.0.0.1:<port><path> with `body`, Content-Type
// `content_type` and, unless empty, `accept` as Accept; the answer whatever
// its status, or Unavailable without one.
absl::StatusOr<HttpResult> HttpPost(int port, const std::string& path,
                                    const std::string& body,
                                    const std::string& content_type,
                                    const std::string& accept = "");

std::string BinDir();  // $AGORA_BIN_DIR, where the built binaries are.
std::string ReadFile(const std::string& path);

// One master and `agents` agents on loopback, each in a directory under a
// fresh temporary root.
class LocalCluster {
 public:
  struct Options {
    int agents = 1;
    std::string agent_resources =
        "cpus:4;mem:4096;disk:4096;ports:[31000-32000]";
    std::vector<std::string> master_flags;
    std::vector<std::string> agent_flags;
  };

  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(Options options);
  ~LocalCluster();

  const std::string& root() const { return root_; }
  std::string master_address() const;  // "127.0.0.1:<grpc port>"
  const Ports& master_ports() const { return master_ports_; }
  const Ports& agent_ports(int i = 0) const { return agent_ports_[i]; }
  std::string agent_work_dir(int i = 0) const;
  Subprocess* master() { return master_.get(); }
  Subprocess* agent(int i = 0) { return agents_[i].get(); }

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
  // Waits until the master's /state lists `n` active agents.
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
  std::string root_;
  std::unique_ptr<Subprocess> master_;
  Ports master_ports_;
  std::vector<std::unique_ptr<Subprocess>> agents_;
  std::vector<Ports> agent_ports_;
  std::vector<std::vector<std::string>> agent_args_;
  int executions_ = 0;
  int agent_runs_ = 0;
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_INTEGRATION_CLUSTER_H_
