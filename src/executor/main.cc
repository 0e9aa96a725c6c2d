// agora-executor: the command executor. The agent starts it in the task's
// sandbox with the environment of the executor protocol
// (AGORA_EXECUTOR_ENDPOINT, MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID,
// MESOS_SANDBOX, MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, ...); it takes no
// flags.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/event_loop.h"
#include "common/flags_util.h"
#include "executor/agent_connection.h"
#include "executor/command_executor.h"
#include "glog/logging.h"

extern char** environ;

namespace {

absl::StatusOr<std::string> RequiredEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    return absl::InvalidArgumentError(
        absl::StrCat("missing environment variable ", name,
                     " (agora-executor is started by agora-agent)"));
  }
  return std::string(value);
}

absl::StatusOr<agora::ExecutorConfig> ConfigFromEnvironment() {
  agora::ExecutorConfig config;
  for (const char* name :
       {"AGORA_EXECUTOR_ENDPOINT", "MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID"}) {
    absl::StatusOr<std::string> value = RequiredEnv(name);
    if (!value.ok()) return value.status();
  }
  config.endpoint = *RequiredEnv("AGORA_EXECUTOR_ENDPOINT");
  config.framework_id.set_value(*RequiredEnv("MESOS_FRAMEWORK_ID"));
  config.executor_id.set_value(*RequiredEnv("MESOS_EXECUTOR_ID"));
  const char* sandbox = std::getenv("MESOS_SANDBOX");
  if (sandbox == nullptr) sandbox = std::getenv("MESOS_DIRECTORY");
  if (sandbox != nullptr) {
    config.sandbox = sandbox;
  } else {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) != nullptr) config.sandbox = cwd;
  }
  for (auto [name, field] :
       {std::make_pair("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                       &config.shutdown_grace_period),
        std::make_pair("MESOS_RECOVERY_TIMEOUT", &config.recovery_timeout),
        std::make_pair("MESOS_SUBSCRIPTION_BACKOFF_MAX",
                       &config.subscription_backoff_max)}) {
    const char* value = std::getenv(name);
    if (value == nullptr) continue;
    absl::StatusOr<absl::Duration> d = agora::ParseDuration(value);
    if (!d.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, "='", value, "': ", d.status().message()));
    }
    *field = *d;
  }
  const char* checkpoint = std::getenv("MESOS_CHECKPOINT");
  config.checkpoint = checkpoint != nullptr && std::string(checkpoint) == "1";
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) {
      config.environment[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  return config;
}

}  // namespace

int main(int /*argc*/, char** argv) {
  agora::InitLogging(argv[0]);
  // Debian's abseil is built with the Mutex deadlock detector on, which
  // tracks every lock gRPC takes in a graph: a few percent of the CPU of
  // a process that starts once per task.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<agora::ExecutorConfig> config = ConfigFromEnvironment();
  if (!config.ok()) {
    std::cerr << "agora-executor: " << config.status().message() << std::endl;
    return 1;
  }
  // SIGINT/SIGTERM ask for a shutdown; SIGUSR1 is how the executor tells
  // this thread it has finished; SIGUSR2 is a restarted agent saying it is
  // back. Blocked before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGUSR2);
  // A shell starts background jobs with SIGINT ignored, and an ignored
  // signal is discarded even while blocked: restore the default first.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGUSR1, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  agora::EventLoop loop("executor");
  agora::AgentConnection connection(config->endpoint,
                                    config->subscription_backoff_max);
  std::atomic<int> exit_code{0};
  agora::CommandExecutor executor(*config, &loop, &connection,
                                  [&exit_code](int code) {
                                    exit_code = code;
                                    kill(getpid(), SIGUSR1);
                                  });
  loop.Start();
  loop.Post([&executor] { executor.Start(); });
  while (true) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal == SIGUSR1) break;
    if (signal == SIGUSR2) {
      loop.Post([&executor] { executor.OnAgentBack(); });
      continue;
    }
    loop.Post([&executor, signal] { executor.OnSignal(signal); });
  }
  connection.Close(absl::Seconds(2));
  loop.Stop();
  LOG(INFO) << "Command executor exiting with status " << exit_code.load();
  std::fflush(stdout);
  std::fflush(stderr);
  // Skip static destructors: gRPC's threads may still be winding down.
  _exit(exit_code.load());
}
