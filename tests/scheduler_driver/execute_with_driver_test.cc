// agora-execute's framework on the real driver against the fake master: the
// whole conversation of a run, call by call.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agora/scheduler.h"
#include "cli/execute_scheduler.h"
#include "common/resources_proto.h"
#include "gtest/gtest.h"
#include "scheduler_driver/fake_master.h"

namespace agora::testing {
namespace {

using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;

Event OffersEvent(const std::string& resources) {
  Event event;
  event.set_type(Event::OFFERS);
  mesos::v1::Offer* offer = event.mutable_offers()->add_offers();
  offer->mutable_id()->set_value("o-1");
  offer->mutable_framework_id()->set_value("fw-1");
  offer->mutable_agent_id()->set_value("agent-1");
  offer->set_hostname("host");
  *offer->mutable_resources() =
      ToProto(Resources::Parse(resources)->AllocatedTo("*"));
  offer->mutable_allocation_info()->set_role("*");
  return event;
}

Event UpdateEvent(const std::string& task, mesos::v1::TaskState state,
                  const std::string& uuid) {
  Event event;
  event.set_type(Event::UPDATE);
  mesos::v1::TaskStatus* status = event.mutable_update()->mutable_status();
  status->mutable_task_id()->set_value(task);
  status->set_state(state);
  status->mutable_agent_id()->set_value("agent-1");
  status->set_source(mesos::v1::TaskStatus::SOURCE_EXECUTOR);
  status->set_uuid(uuid);
  return event;
}

std::vector<std::string> CallTypes(const FakeMaster& master) {
  std::vector<std::string> types;
  for (const auto& c : master.calls()) {
    types.push_back(Call::Type_Name(c.call.type()));
  }
  return types;
}

TEST(ExecuteWithDriverTest, RunsTwoInstancesToCompletion) {
  FakeMaster master;
  cli::ExecuteFlags flags;
  flags.master = master.address();
  flags.name = "job";
  flags.command = "true";
  flags.instances = 2;
  cli::ExecuteOptions options = *cli::ValidateExecuteFlags(flags);
  std::ostringstream out, err;
  cli::ExecuteScheduler scheduler(options, out, err,
                                  [](absl::Duration, std::function<void()>) {});
  AgoraSchedulerDriver driver(
      &scheduler, cli::BuildFrameworkInfo(options, "tester"), options.master);
  ASSERT_EQ(driver.start(), mesos::v1::DRIVER_RUNNING);
  ASSERT_TRUE(scheduler.WaitUntilSubscribedOrDone(absl::Seconds(10)));

  ASSERT_TRUE(master.SendEvent(OffersEvent("cpus:4;mem:1024")));
  ASSERT_TRUE(master.WaitForCalls(2));
  EXPECT_EQ(CallTypes(master),
            (std::vector<std::string>{"ACCEPT", "SUPPRESS"}));
  const Call::Accept accept = master.calls()[0].call.accept();
  ASSERT_EQ(accept.operations(0).launch().task_infos_size(), 2);
  EXPECT_EQ(accept.operations(0).launch().task_infos(1).task_id().value(),
            "job-1");

  master.SendEvent(UpdateEvent("job-0", mesos::v1::TASK_RUNNING, "u1"));
  master.SendEvent(UpdateEvent("job-1", mesos::v1::TASK_FAILED, "u2"));
  master.SendEvent(UpdateEvent("job-0", mesos::v1::TASK_FINISHED, "u3"));
  EXPECT_EQ(driver.join(), mesos::v1::DRIVER_STOPPED);
  // The last update stops the driver from inside the callback: as in Mesos,
  // it is not acknowledged; the TEARDOWN ends the framework.
  EXPECT_EQ(CallTypes(master),
            (std::vector<std::string>{"ACCEPT", "SUPPRESS", "ACKNOWLEDGE",
                                      "ACKNOWLEDGE", "TEARDOWN"}));
  EXPECT_EQ(scheduler.exit_code(), cli::kExitTaskNotFinished);
  EXPECT_TRUE(absl::StrContains(out.str(),
                                "Received status update TASK_FAILED for task "
                                "'job-1'\n  source: SOURCE_EXECUTOR\n"))
      << out.str();
}

// Where a binary is: $AGORA_BIN_DIR (set by ctest), else beside this test
// binary (all land in build/bin).
std::string BinaryPath(const std::string& name) {
  const char* dir = std::getenv("AGORA_BIN_DIR");
  if (dir != nullptr) return std::string(dir) + "/" + name;
  char self[4096] = {};
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string path(self, n > 0 ? n : 0);
  return path.substr(0, path.rfind('/')) + "/" + name;
}

// Runs `binary` with `args`, its stdout and stderr in `log`.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log,
            const std::string& binary = "agora-execute") {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::string path = BinaryPath(binary);
  std::vector<char*> argv = {path.data()};
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc =
      posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// The exit code of `pid`, or -1 if it has not exited within `timeout`
// (it is killed then).
int WaitExit(pid_t pid, absl::Duration timeout) {
  std::future<int> exited = std::async(std::launch::async, [pid] {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  });
  if (exited.wait_for(absl::ToChronoNanoseconds(timeout)) ==
      std::future_status::ready) {
    return exited.get();
  }
  ::kill(pid, SIGKILL);
  exited.get();
  return -1;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ExecuteBinaryTest, PrintsLikeMesosExecuteAndExitsWithTheOutcome) {
  FakeMaster master;
  std::string log = absl::StrCat(::testing::TempDir(), "/agora_execute_",
                                 ::getpid(), "_binary.log");
  pid_t pid = Spawn({"--master=" + master.address(), "--name=hello",
                     "--command=echo hi", "--resources=cpus:0.5;mem:64"},
                    log);
  ASSERT_GT(pid, 0) << "cannot run " << BinaryPath("agora-execute");
  ASSERT_TRUE(master.WaitForSubscriptions(1));
  const mesos::v1::FrameworkInfo info =
      master.subscribe_calls()[0].subscribe().framework_info();
  EXPECT_EQ(info.name(), "agora-execute instance");
  EXPECT_FALSE(info.user().empty());

  // SUBSCRIBED is sent at once; the offer follows it on the stream.
  ASSERT_TRUE(master.SendEvent(OffersEvent("cpus:1;mem:128")));
  ASSERT_TRUE(master.WaitForCalls(2));
  EXPECT_EQ(CallTypes(master),
            (std::vector<std::string>{"ACCEPT", "SUPPRESS"}));
  master.SendEvent(UpdateEvent("hello", mesos::v1::TASK_RUNNING, "u1"));
  Event finished = UpdateEvent("hello", mesos::v1::TASK_FINISHED, "u2");
  finished.mutable_update()->mutable_status()->set_message(
      "Command exited with status 0");
  master.SendEvent(finished);

  EXPECT_EQ(WaitExit(pid, absl::Seconds(20)), 0) << ReadAll(log);
  std::string out = ReadAll(log);
  EXPECT_TRUE(absl::StrContains(out, "Subscribed with ID fw-1\n")) << out;
  EXPECT_TRUE(
      absl::StrContains(out, "Submitted task 'hello' to agent 'agent-1'\n"))
      << out;
  EXPECT_TRUE(absl::StrContains(
      out,
      "Received status update TASK_FINISHED for task 'hello'\n"
      "  message: 'Command exited with status 0'\n"
      "  source: SOURCE_EXECUTOR\n"))
      << out;
  EXPECT_EQ(CallTypes(master).back(), "TEARDOWN");
}

TEST(ExecuteBinaryTest, ErrorEventExitsTwo) {
  FakeMaster master;
  std::string log = absl::StrCat(::testing::TempDir(), "/agora_execute_",
                                 ::getpid(), "_error.log");
  pid_t pid = Spawn(
      {"--master=" + master.address(), "--name=x", "--command=true"}, log);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(master.WaitForSubscriptions(1));
  Event error;
  error.set_type(Event::ERROR);
  error.mutable_error()->set_message("Framework failed over");
  ASSERT_TRUE(master.SendEvent(error));
  EXPECT_EQ(WaitExit(pid, absl::Seconds(20)), 2) << ReadAll(log);
  EXPECT_TRUE(absl::StrContains(
      ReadAll(log), "Received an ERROR event: Framework failed over"));
}

TEST(ExampleFrameworkTest, RunsItsTasksAndExitsZero) {
  FakeMaster master;
  std::string log = absl::StrCat(::testing::TempDir(), "/example_framework_",
                                 ::getpid(), ".log");
  pid_t pid = Spawn({"--master=" + master.address(), "--tasks=2"}, log,
                    "agora-example-framework");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(master.WaitForSubscriptions(1));
  ASSERT_TRUE(master.SendEvent(OffersEvent("cpus:1;mem:1024")));
  ASSERT_TRUE(master.WaitForCalls(1));
  const Call::Accept accept = master.calls()[0].call.accept();
  ASSERT_EQ(accept.operations(0).launch().task_infos_size(), 2);
  for (const char* task : {"task-0", "task-1"}) {
    master.SendEvent(UpdateEvent(task, mesos::v1::TASK_FINISHED, task));
  }
  EXPECT_EQ(WaitExit(pid, absl::Seconds(20)), 0) << ReadAll(log);
  EXPECT_EQ(CallTypes(master).back(), "TEARDOWN");
}

}  // namespace
}  // namespace agora::testing
