// agora-execute: runs one command (or --instances copies) on the cluster and
// exits with its outcome. Mesos's mesos-execute flags; see README.md.
#include <pwd.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "agora/scheduler.h"
#include "cli/execute_options.h"
#include "cli/execute_scheduler.h"
#include "common/event_loop.h"
#include "common/flags_util.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

DEFINE_string(master, "", "The master's host:port (required).");
DEFINE_string(name, "", "Name of the task, also its task id (required).");
DEFINE_string(command, "", "The command to run (required).");
DEFINE_bool(shell, true,
            "Run --command under /bin/sh -c; with --noshell it is split at "
            "whitespace into the program and its arguments.");
DEFINE_string(resources, "cpus:1;mem:128",
              "Resources of each task, in Mesos's text or JSON form.");
DEFINE_string(env, "",
              "Environment of the command: a JSON object {\"NAME\":\"value\"} "
              "or file://<path> of one.");
DEFINE_string(role, "*", "The framework's role.");
DEFINE_string(kill_after, "",
              "Kill each task this long after it is TASK_RUNNING (e.g. "
              "10secs).");
DEFINE_bool(checkpoint, false, "Whether the framework checkpoints.");
DEFINE_bool(partition_aware, true, "Whether the framework is PARTITION_AWARE.");
DEFINE_int32(instances, 1,
             "Number of copies of the task; with more than one the task ids "
             "are <name>-0 ... <name>-<N-1>.");

namespace {

// Subscribing keeps being retried as Mesos does, but a master never reached
// in this long is taken to be a wrong address or a cluster that is down.
constexpr absl::Duration kSubscribeGiveUp = absl::Seconds(60);

std::string CurrentUser() {
  struct passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? pw->pw_name : "";
}

agora::cli::ExecuteFlags FlagsFromCommandLine() {
  agora::cli::ExecuteFlags flags;
  flags.master = FLAGS_master;
  flags.name = FLAGS_name;
  flags.command = FLAGS_command;
  flags.shell = FLAGS_shell;
  flags.resources = FLAGS_resources;
  flags.env = FLAGS_env;
  flags.role = FLAGS_role;
  flags.kill_after = FLAGS_kill_after;
  flags.checkpoint = FLAGS_checkpoint;
  flags.partition_aware = FLAGS_partition_aware;
  flags.instances = FLAGS_instances;
  return flags;
}

int Run(const agora::cli::ExecuteOptions& options, const std::string& user) {
  agora::EventLoop timers("execute-timers");
  timers.Start();
  agora::cli::ExecuteScheduler scheduler(
      options, std::cout, std::cerr,
      [&timers](absl::Duration delay, std::function<void()> fn) {
        timers.PostAfter(delay, std::move(fn));
      });
  agora::AgoraSchedulerDriver::Options driver_options;
  driver_options.on_subscribe_failure = [&scheduler](const std::string& master,
                                                     const absl::Status& error,
                                                     int failures) {
    scheduler.OnSubscribeFailure(master, error, failures);
  };
  agora::AgoraSchedulerDriver driver(
      &scheduler, agora::cli::BuildFrameworkInfo(options, user), options.master,
      /*implicit_acknowledgements=*/true, driver_options);
  int code = agora::cli::kExitFrameworkError;
  if (driver.start() == mesos::v1::DRIVER_RUNNING) {
    if (scheduler.WaitUntilSubscribedOrDone(kSubscribeGiveUp)) {
      driver.join();
      code = scheduler.exit_code().value_or(agora::cli::kExitFrameworkError);
    } else {
      std::cerr << "agora-execute: could not subscribe to master at "
                << options.master << " within "
                << agora::FormatMesosDuration(kSubscribeGiveUp) << " ("
                << scheduler.last_subscribe_error() << "); giving up"
                << std::endl;
      driver.stop(/*failover=*/true);
      driver.join();
    }
  }
  timers.Stop();  // Before the driver goes: a kill timer may call it.
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "--master=HOST:PORT --name=NAME --command=COMMAND [flags]\n"
      "Runs COMMAND as a task (or --instances copies) and exits 0 when every "
      "task finished, 1 when any did not, 2 on a framework error.");
  // Like mesos-execute, flags come from the command line only. The
  // driver's progress is logged at INFO; show warnings and errors only
  // unless asked (--minloglevel=0).
  FLAGS_minloglevel = google::GLOG_WARNING;
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  agora::InitLogging(argv[0]);

  absl::StatusOr<agora::cli::ExecuteOptions> options =
      agora::cli::ValidateExecuteFlags(FlagsFromCommandLine());
  if (!options.ok()) {
    std::cerr << "agora-execute: " << options.status().message() << std::endl;
    return 1;
  }
  std::string user = CurrentUser();
  if (user.empty()) {
    std::cerr << "agora-execute: no user name for uid " << ::geteuid()
              << std::endl;
    return 1;
  }
  return Run(*options, user);
}
