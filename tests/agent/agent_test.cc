// Runs a real Agent in-process against FakeAgentMaster, with the real
// agora-executor ($AGORA_BIN_DIR) running real commands. Waits on
// conditions with deadlines.
#include "agent/agent.h"

#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "agent/executor_launch.h"
#include "agent/fake_agent_master.h"
#include "common/resources.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "isolation/isolation_config.h"
#include "isolation/posix_launcher.h"
#include "nlohmann/json.hpp"

namespace agora {
namespace {

using agora::internal::AgentMessage;
using agora::internal::MasterMessage;
using agora::internal::StatusUpdate;
using testing::FakeAgentMaster;
using ::testing::HasSubstr;

constexpr char kAgentId[] = "M-S0";
constexpr char kFrameworkId[] = "M-0000";

// Pids of the live processes whose MESOS_SANDBOX is `sandbox`.
std::vector<pid_t> ProcessesOfSandbox(const std::string& sandbox) {
  std::vector<pid_t> pids;
  std::string marker = "MESOS_SANDBOX=" + sandbox;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = atoi(entry.path().filename().c_str());
    if (pid <= 0) continue;
    std::ifstream in(entry.path() / "environ");
    std::string var;
    while (std::getline(in, var, '\0')) {
      if (var == marker) {
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        size_t close = line.rfind(')');
        bool zombie =
            close != std::string::npos && line.compare(close + 2, 1, "Z") == 0;
        if (!zombie) pids.push_back(pid);
      }
    }
  }
  return pids;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("AGORA_BIN_DIR");
    if (bin == nullptr) {
      GTEST_SKIP() << "AGORA_BIN_DIR is not set";
    }
    char tmpl[] = "/tmp/agora-agent-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    executor_path_ = absl::StrCat(bin, "/agora-executor");
  }
  void TearDown() override {
    if (agent_) agent_->Stop();
    agent_.reset();
    if (!dir_.empty()) {
      ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0);
    }
  }

  void StartAgent() {
    AgentOptions o;
    o.master = master_.address();
    o.ip = "127.0.0.1";
    o.port = 0;
    o.http_port = 0;
    o.work_dir = dir_;
    o.resources =
        *Resources::Parse("cpus:2;mem:1024;disk:1024;ports:[31000-31010]");
    o.hostname = "agent-host";
    o.executor_path = executor_path_;
    o.registration_backoff_factor = absl::Milliseconds(10);
    o.executor_environment = AgentEnvironmentForExecutors();
    o.executor_registration_timeout = registration_timeout_;
    o.flags = {{"master", o.master}};
    if (configure_) configure_(o);
    agent_ = std::make_unique<Agent>(
        o, std::make_unique<StandaloneDetector>(o.master),
        std::make_unique<PosixLauncher>());
    ASSERT_TRUE(agent_->Start().ok());
  }

  // Waits for the agent's RegisterAgent and registers it.
  void Register(double ping_timeout_seconds = 60) {
    auto m = master_.Take(
        [](const AgentMessage& m) { return m.has_register_agent(); });
    ASSERT_TRUE(m.has_value()) << "no RegisterAgent";
    registration_ = m->register_agent();
    SendRegistered(ping_timeout_seconds);
  }
  void SendRegistered(double ping_timeout_seconds = 60) {
    MasterMessage reply;
    auto* r = reply.mutable_agent_registered();
    r->mutable_agent_id()->set_value(kAgentId);
    r->mutable_master_info()->set_id("M");
    r->mutable_master_info()->set_ip(0);
    r->mutable_master_info()->set_port(5050);
    r->set_ping_timeout_seconds(ping_timeout_seconds);
    ASSERT_TRUE(master_.Send(reply));
  }

  // The agent switches to the framework's user (--switch_user): use ours.
  static std::string CurrentUser() {
    struct passwd* pw = getpwuid(geteuid());
    return pw != nullptr ? pw->pw_name : "";
  }

  void RunTask(const std::string& id, const std::string& shell_command,
               const std::function<void(mesos::v1::TaskInfo*)>& edit = {},
               const std::string& user = CurrentUser()) {
    MasterMessage m;
    auto* run = m.mutable_run_task();
    auto* fw = run->mutable_framework();
    fw->set_user(user);
    fw->set_name("agent-test");
    fw->mutable_id()->set_value(kFrameworkId);
    auto* task = run->mutable_task();
    task->set_name(id);
    task->mutable_task_id()->set_value(id);
    task->mutable_agent_id()->set_value(kAgentId);
    task->mutable_command()->set_value(shell_command);
    auto* cpus = task->add_resources();
    cpus->set_name("cpus");
    cpus->set_type(mesos::v1::Value::SCALAR);
    cpus->mutable_scalar()->set_value(0.5);
    if (edit) edit(task);
    ASSERT_TRUE(master_.Send(m));
  }

  // The next status update of `task`, acknowledged unless told otherwise.
  StatusUpdate NextUpdate(const std::string& task, bool ack = true) {
    auto m = master_.Take([&](const AgentMessage& m) {
      return m.has_status_update() &&
             m.status_update().status().task_id().value() == task;
    });
    EXPECT_TRUE(m.has_value()) << "no status update for " << task;
    if (!m) return StatusUpdate();
    if (ack) Acknowledge(m->status_update());
    return m->status_update();
  }
  void Acknowledge(const StatusUpdate& u) {
    MasterMessage ack;
    *ack.mutable_acknowledgement()->mutable_framework_id() = u.framework_id();
    *ack.mutable_acknowledgement()->mutable_task_id() = u.status().task_id();
    ack.mutable_acknowledgement()->set_uuid(u.status().uuid());
    ASSERT_TRUE(master_.Send(ack));
  }
  // Collects (and acknowledges) updates of `task` up to a terminal one.
  std::vector<StatusUpdate> UpdatesUntilTerminal(const std::string& task) {
    std::vector<StatusUpdate> updates;
    for (int i = 0; i < 10; ++i) {
      updates.push_back(NextUpdate(task));
      if (!updates.back().has_status()) break;
      mesos::v1::TaskState s = updates.back().status().state();
      if (s != mesos::v1::TASK_STARTING && s != mesos::v1::TASK_RUNNING &&
          s != mesos::v1::TASK_KILLING) {
        break;
      }
    }
    return updates;
  }
  std::string Sandbox(const std::string& executor) {
    return absl::StrCat(dir_, "/slaves/", kAgentId, "/frameworks/",
                        kFrameworkId, "/executors/", executor, "/runs/latest");
  }
  nlohmann::json GetJson(const std::string& path) {
    httplib::Client client("127.0.0.1", agent_->http_port());
    auto res = client.Get(path.c_str());
    EXPECT_TRUE(res) << path;
    if (!res) return nlohmann::json();
    EXPECT_EQ(res->status, 200) << path;
    return nlohmann::json::parse(res->body, nullptr, false);
  }

  std::string dir_;
  std::string executor_path_;
  absl::Duration registration_timeout_ = absl::Minutes(1);
  std::function<void(AgentOptions&)> configure_;
  FakeAgentMaster master_;
  std::unique_ptr<Agent> agent_;
  agora::internal::RegisterAgent registration_;
};

TEST_F(AgentTest, RegistersWithItsInfo) {
  StartAgent();
  Register();
  EXPECT_FALSE(registration_.agent_info().has_id());
  EXPECT_EQ(registration_.agent_info().hostname(), "agent-host");
  EXPECT_EQ(registration_.agent_info().port(), agent_->grpc_port());
  EXPECT_EQ(registration_.agent_info().resources_size(), 4);
  // Pings are answered with the same sequence.
  MasterMessage ping;
  ping.mutable_ping()->set_sequence(7);
  ASSERT_TRUE(master_.Send(ping));
  auto pong = master_.Take([](const AgentMessage& m) { return m.has_pong(); });
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->pong().sequence(), 7u);
}

TEST_F(AgentTest, RunsACommandTaskToCompletion) {
  StartAgent();
  Register();
  RunTask("echo-task", "echo hello");
  StatusUpdate starting = NextUpdate("echo-task");
  EXPECT_EQ(starting.status().state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(starting.status().source(), mesos::v1::TaskStatus::SOURCE_EXECUTOR);
  EXPECT_EQ(starting.status().uuid().size(), 16u);
  EXPECT_EQ(starting.status().agent_id().value(), kAgentId);
  EXPECT_EQ(starting.status().executor_id().value(), "echo-task");
  EXPECT_EQ(starting.framework_id().value(), kFrameworkId);
  EXPECT_EQ(NextUpdate("echo-task").status().state(), mesos::v1::TASK_RUNNING);
  StatusUpdate finished = NextUpdate("echo-task");
  EXPECT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED);
  EXPECT_EQ(finished.latest_state(), mesos::v1::TASK_FINISHED);
  EXPECT_EQ(finished.status().message(), "Command exited with status 0");
  EXPECT_THAT(ReadAll(Sandbox("echo-task") + "/stdout"), HasSubstr("hello\n"));
}

TEST_F(AgentTest, UnknownUserFailsTheTaskWithTheReason) {
  StartAgent();
  Register();
  RunTask("nouser", "true", {}, "no-such-user-agora");
  StatusUpdate failed = NextUpdate("nouser");
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED);
  EXPECT_EQ(failed.status().reason(),
            mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_THAT(failed.status().message(),
              HasSubstr("user 'no-such-user-agora' does not exist"));
}

TEST_F(AgentTest, BadResourcesFailTheTaskWithTheReason) {
  StartAgent();
  Register();
  auto add = [](mesos::v1::TaskInfo* t, const char* name, double v) {
    auto* r = t->add_resources();
    r->set_name(name);
    r->set_type(mesos::v1::Value::SCALAR);
    r->mutable_scalar()->set_value(v);
  };
  RunTask("toobig", "true",
          [&](mesos::v1::TaskInfo* t) { add(t, "mem", 4096); });
  RunTask("nan", "true",
          [&](mesos::v1::TaskInfo* t) { add(t, "mem", std::nan("")); });
  RunTask("below", "true", [&](mesos::v1::TaskInfo* t) {
    add(t, "mem", 64);
    (*t->mutable_limits())["mem"].set_value(16);
  });
  for (const auto& [task, text] :
       std::vector<std::pair<std::string, std::string>>{
           {"toobig", "the agent has 1024 MB"},
           {"nan", "finite non-negative"},
           {"below", "is below its request"}}) {
    StatusUpdate failed = NextUpdate(task);
    EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << task;
    EXPECT_EQ(failed.status().reason(),
              mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED)
        << task;
    EXPECT_THAT(failed.status().message(), HasSubstr(text)) << task;
  }
}

TEST_F(AgentTest, MonitorStatisticsReportsPosixUsage) {
  StartAgent();
  Register();
  RunTask("sleeper", "sleep 30");
  EXPECT_EQ(NextUpdate("sleeper").status().state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(NextUpdate("sleeper").status().state(), mesos::v1::TASK_RUNNING);
  nlohmann::json stats = GetJson("/monitor/statistics");
  ASSERT_TRUE(stats.is_array()) << stats;
  ASSERT_EQ(stats.size(), 1u) << stats;
  EXPECT_EQ(stats[0]["executor_id"], "sleeper");
  EXPECT_EQ(stats[0]["framework_id"], kFrameworkId);
  const nlohmann::json& s = stats[0]["statistics"];
  // The executor's 0.1 cpus and 32 MB are part of the container.
  EXPECT_DOUBLE_EQ(s["cpus_limit"].get<double>(), 0.6);
  EXPECT_EQ(s["mem_limit_bytes"].get<uint64_t>(), 32u << 20);
  EXPECT_GT(s["mem_rss_bytes"].get<uint64_t>(), 0u);
  EXPECT_GE(s["processes"].get<int>(), 2);  // Executor, sh/sleep.
  EXPECT_TRUE(s.contains("cpus_user_time_secs"));
  EXPECT_TRUE(s.contains("timestamp"));
  nlohmann::json metrics = GetJson("/metrics/snapshot");
  EXPECT_EQ(metrics["containerizer/mesos/containers_running"], 1.0);
  EXPECT_GT(metrics["containerizer/mesos/mem_total_bytes"].get<double>(), 0);
  EXPECT_EQ(metrics["containerizer/mesos/container_destroy_errors"], 0.0);
  nlohmann::json state = GetJson("/state");
  EXPECT_THAT(state["isolation"].get<std::string>(),
              HasSubstr("posix/cpu,posix/mem"));
}

TEST_F(AgentTest, SwitchesToTheFrameworkUserAndOwnsTheSandbox) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  struct passwd* nobody = getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody'";
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);  // nobody reaches the socket.
  StartAgent();
  Register();
  RunTask("as-nobody", "id -u > \"$MESOS_SANDBOX/uid\"", {}, "nobody");
  std::vector<StatusUpdate> updates = UpdatesUntilTerminal("as-nobody");
  ASSERT_FALSE(updates.empty());
  EXPECT_EQ(updates.back().status().state(), mesos::v1::TASK_FINISHED)
      << updates.back().status().message();
  EXPECT_EQ(ReadAll(Sandbox("as-nobody") + "/uid"),
            absl::StrCat(nobody->pw_uid, "\n"));
  struct stat st;
  ASSERT_EQ(stat((Sandbox("as-nobody") + "/").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody->pw_uid);
}

TEST_F(AgentTest, PidNamespaceAndPrivateTmpIsolators) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for namespaces";
  configure_ = [](AgentOptions& o) {
    o.isolation = *ParseIsolation("posix/cpu,namespaces/pid,filesystem/linux");
  };
  {
    // A work_dir under /tmp is refused: the private /tmp would hide it.
    AgentOptions o;
    o.master = master_.address();
    o.ip = "127.0.0.1";
    o.port = 0;
    o.http_port = 0;
    o.work_dir = dir_;
    configure_(o);
    Agent refused(o, std::make_unique<StandaloneDetector>(o.master),
                  std::make_unique<PosixLauncher>());
    absl::Status st = refused.Start();
    EXPECT_THAT(st.message(), HasSubstr("must not be under /tmp"));
  }
  // So this agent works in /var/tmp.
  ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0);
  char tmpl[] = "/var/tmp/agora-agent-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  StartAgent();
  Register();
  std::string marker = absl::StrCat("agora-agent-test-", getpid());
  RunTask("ns", "echo $PPID > \"$MESOS_SANDBOX/ppid\"; touch /tmp/" + marker);
  std::vector<StatusUpdate> updates = UpdatesUntilTerminal("ns");
  ASSERT_FALSE(updates.empty());
  EXPECT_EQ(updates.back().status().state(), mesos::v1::TASK_FINISHED)
      << updates.back().status().message();
  // The executor is pid 1 of the container's pid namespace.
  EXPECT_EQ(ReadAll(Sandbox("ns") + "/ppid"), "1\n");
  EXPECT_EQ(access((Sandbox("ns") + "/tmp/" + marker).c_str(), F_OK), 0);
  EXPECT_NE(access(("/tmp/" + marker).c_str(), F_OK), 0);
  EXPECT_THAT(GetJson("/state")["isolation"].get<std::string>(),
              HasSubstr("pid namespace; private /tmp"));
}

TEST_F(AgentTest, FailingCommandIsTaskFailedWithItsStatus) {
  StartAgent();
  Register();
  RunTask("fail-task", "exit 3");
  std::vector<StatusUpdate> updates = UpdatesUntilTerminal("fail-task");
  ASSERT_EQ(updates.size(), 3u);
  EXPECT_EQ(updates[0].status().state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(updates[1].status().state(), mesos::v1::TASK_RUNNING);
  EXPECT_EQ(updates[2].status().state(), mesos::v1::TASK_FAILED);
  EXPECT_EQ(updates[2].status().message(), "Command exited with status 3");
}

TEST_F(AgentTest, MissingExecutorIsContainerLaunchFailed) {
  executor_path_ = dir_ + "/no-such-executor";
  StartAgent();
  Register();
  RunTask("lost-task", "echo never");
  StatusUpdate failed = NextUpdate("lost-task");
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED);
  EXPECT_EQ(failed.status().reason(),
            mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_EQ(failed.status().source(), mesos::v1::TaskStatus::SOURCE_AGENT);
  EXPECT_THAT(failed.status().message(),
              HasSubstr("No such file or directory"));
  EXPECT_EQ(failed.status().uuid().size(), 16u);
}

TEST_F(AgentTest, KillTerminatesTheCommand) {
  StartAgent();
  Register();
  RunTask("sleeper", "sleep 1000");
  EXPECT_EQ(NextUpdate("sleeper").status().state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(NextUpdate("sleeper").status().state(), mesos::v1::TASK_RUNNING);
  MasterMessage kill;
  kill.mutable_kill_task()->mutable_framework_id()->set_value(kFrameworkId);
  kill.mutable_kill_task()->mutable_task_id()->set_value("sleeper");
  ASSERT_TRUE(master_.Send(kill));
  StatusUpdate killed = NextUpdate("sleeper");
  EXPECT_EQ(killed.status().state(), mesos::v1::TASK_KILLED);
  EXPECT_EQ(killed.status().message(),
            "Command terminated with signal SIGTERM");
}

TEST_F(AgentTest, ExecutorDeathFailsItsTask) {
  StartAgent();
  Register();
  // The shell kills its parent, the executor, before the task ends.
  RunTask("orphan", "sleep 100 & kill -9 $PPID; wait");
  std::vector<StatusUpdate> updates = UpdatesUntilTerminal("orphan");
  ASSERT_FALSE(updates.empty());
  const mesos::v1::TaskStatus& last = updates.back().status();
  EXPECT_EQ(last.state(), mesos::v1::TASK_FAILED);
  EXPECT_EQ(last.reason(), mesos::v1::TaskStatus::REASON_EXECUTOR_TERMINATED);
  EXPECT_EQ(last.source(), mesos::v1::TaskStatus::SOURCE_AGENT);
  EXPECT_EQ(last.message(), "Executor terminated");
  auto exited = master_.Take(
      [](const AgentMessage& m) { return m.has_executor_exited(); });
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->executor_exited().executor_id().value(), "orphan");
  // Nothing of the container outlives its executor.
  std::string sandbox = std::filesystem::canonical(Sandbox("orphan"));
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!ProcessesOfSandbox(sandbox).empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(ProcessesOfSandbox(sandbox).empty());
}

TEST_F(AgentTest, ExecutorThatNeverSubscribesTimesOut) {
  executor_path_ = dir_ + "/mute-executor";
  std::ofstream(executor_path_) << "#!/bin/sh\nexec sleep 1000\n";
  ASSERT_EQ(chmod(executor_path_.c_str(), 0755), 0);
  registration_timeout_ = absl::Milliseconds(300);
  StartAgent();
  Register();
  RunTask("mute", "echo never");
  StatusUpdate failed = NextUpdate("mute");
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED);
  EXPECT_EQ(failed.status().reason(),
            mesos::v1::TaskStatus::REASON_EXECUTOR_REGISTRATION_TIMEOUT);
  EXPECT_EQ(failed.status().message(),
            "Executor did not register within 300ms");
}

TEST_F(AgentTest, KillBeforeTheExecutorSubscribesIsKilledDuringLaunch) {
  executor_path_ = dir_ + "/mute-executor";
  std::ofstream(executor_path_) << "#!/bin/sh\nexec sleep 1000\n";
  ASSERT_EQ(chmod(executor_path_.c_str(), 0755), 0);
  StartAgent();
  Register();
  RunTask("early", "echo never");
  MasterMessage kill;
  kill.mutable_kill_task()->mutable_framework_id()->set_value(kFrameworkId);
  kill.mutable_kill_task()->mutable_task_id()->set_value("early");
  ASSERT_TRUE(master_.Send(kill));
  StatusUpdate killed = NextUpdate("early");
  EXPECT_EQ(killed.status().state(), mesos::v1::TASK_KILLED);
  EXPECT_EQ(killed.status().reason(),
            mesos::v1::TaskStatus::REASON_TASK_KILLED_DURING_LAUNCH);
}

// Launches wait in a queue and start one per loop turn, after whatever
// else is waiting. A kill that reaches a task whose launch is still queued
// ends it there: no sandbox, no process. (Launched at once, as before the
// queue, its sandbox would exist by the time the kill is handled.)
TEST_F(AgentTest, KillOfATaskWhoseLaunchIsQueuedNeverStartsIt) {
  StartAgent();
  Register();
  constexpr int kTasks = 40;
  auto small = [](mesos::v1::TaskInfo* task) {
    task->mutable_resources(0)->mutable_scalar()->set_value(0.01);
  };
  for (int i = 0; i < kTasks; ++i) {
    RunTask(absl::StrCat("burst-", i), "sleep 1000", small);
  }
  const std::string last = absl::StrCat("burst-", kTasks - 1);
  MasterMessage kill;
  kill.mutable_kill_task()->mutable_framework_id()->set_value(kFrameworkId);
  kill.mutable_kill_task()->mutable_task_id()->set_value(last);
  ASSERT_TRUE(master_.Send(kill));
  StatusUpdate killed = NextUpdate(last);
  EXPECT_EQ(killed.status().state(), mesos::v1::TASK_KILLED);
  EXPECT_EQ(killed.status().reason(),
            mesos::v1::TaskStatus::REASON_TASK_KILLED_DURING_LAUNCH);
  EXPECT_FALSE(std::filesystem::exists(
      absl::StrCat(dir_, "/slaves/", kAgentId, "/frameworks/", kFrameworkId,
                   "/executors/", last)));
  // The others were launched in order and run.
  EXPECT_EQ(NextUpdate("burst-0").status().state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(NextUpdate(absl::StrCat("burst-", kTasks - 2)).status().state(),
            mesos::v1::TASK_STARTING);
}

TEST_F(AgentTest, ShutdownFrameworkKillsItsTasksWithoutUpdates) {
  StartAgent();
  Register();
  RunTask("doomed", "sleep 1000");
  EXPECT_EQ(NextUpdate("doomed").status().state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(NextUpdate("doomed").status().state(), mesos::v1::TASK_RUNNING);
  MasterMessage shutdown;
  shutdown.mutable_shutdown_framework()->mutable_framework_id()->set_value(
      kFrameworkId);
  ASSERT_TRUE(master_.Send(shutdown));
  auto killed = [](const nlohmann::json& state) {
    for (const auto& f : state["completed_frameworks"]) {
      for (const auto& e : f["completed_executors"]) {
        for (const auto& t : e["completed_tasks"]) {
          if (t["id"] == "doomed") return t["state"] == "TASK_KILLED";
        }
      }
    }
    return false;
  };
  nlohmann::json state;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!killed(state = GetJson("/state")) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(killed(state)) << state.dump(2);
  // A framework being shut down acknowledges nothing: no update is sent.
  EXPECT_FALSE(
      master_
          .Take([](const AgentMessage& m) { return m.has_status_update(); },
                absl::ZeroDuration())
          .has_value());
}

TEST_F(AgentTest, ReregistersAndResendsUnacknowledgedUpdates) {
  StartAgent();
  Register();
  RunTask("long", "sleep 1000");
  StatusUpdate starting = NextUpdate("long", /*ack=*/false);
  ASSERT_EQ(starting.status().state(), mesos::v1::TASK_STARTING);
  master_.CloseStream();  // The master goes away.
  auto rereg = master_.Take(
      [](const AgentMessage& m) { return m.has_reregister_agent(); });
  ASSERT_TRUE(rereg.has_value());
  EXPECT_EQ(rereg->reregister_agent().agent_info().id().value(), kAgentId);
  ASSERT_EQ(rereg->reregister_agent().tasks_size(), 1);
  const mesos::v1::Task& task = rereg->reregister_agent().tasks(0);
  EXPECT_EQ(task.task_id().value(), "long");
  EXPECT_EQ(task.status_update_state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(task.status_update_uuid(), starting.status().uuid());
  SendRegistered();
  // The head goes again right after reregistration, with the same uuid.
  StatusUpdate again = NextUpdate("long");
  EXPECT_EQ(again.status().uuid(), starting.status().uuid());
  EXPECT_EQ(NextUpdate("long").status().state(), mesos::v1::TASK_RUNNING);
}

TEST_F(AgentTest, MissingPingsMakeTheAgentReconnect) {
  StartAgent();
  Register(/*ping_timeout_seconds=*/0.2);
  auto rereg = master_.Take(
      [](const AgentMessage& m) { return m.has_reregister_agent(); });
  ASSERT_TRUE(rereg.has_value());
  EXPECT_EQ(rereg->reregister_agent().agent_info().id().value(), kAgentId);
  EXPECT_GE(master_.connections(), 2);
}

TEST_F(AgentTest, ServesStateMetricsFlagsAndHealth) {
  StartAgent();
  Register();
  RunTask("visible", "echo visible");
  ASSERT_EQ(UpdatesUntilTerminal("visible").back().status().state(),
            mesos::v1::TASK_FINISHED);
  httplib::Client client("127.0.0.1", agent_->http_port());
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  // The executor exits after the terminal acknowledgement; then the task,
  // executor and framework move to the completed lists.
  auto completed = [](const nlohmann::json& state) {
    for (const auto& f : state["completed_frameworks"]) {
      for (const auto& e : f["completed_executors"]) {
        for (const auto& t : e["completed_tasks"]) {
          if (t["id"] == "visible" && t["state"] == "TASK_FINISHED")
            return true;
        }
      }
    }
    return false;
  };
  nlohmann::json state;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!completed(state = GetJson("/state")) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(completed(state)) << state.dump(2);
  EXPECT_EQ(state["id"], kAgentId);
  EXPECT_EQ(state["hostname"], "agent-host");
  EXPECT_EQ(state["resources"]["cpus"], 2.0);
  EXPECT_EQ(state["resources"]["ports"], "[31000-31010]");
  EXPECT_TRUE(state["frameworks"].empty());

  nlohmann::json metrics = GetJson("/metrics/snapshot");
  EXPECT_EQ(metrics["slave/registered"], 1.0);
  EXPECT_EQ(metrics["slave/tasks_finished"], 1.0);
  EXPECT_EQ(metrics["slave/tasks_running"], 0.0);
  EXPECT_EQ(metrics["slave/executors_running"], 0.0);
  EXPECT_EQ(metrics["slave/cpus_total"], 2.0);
  EXPECT_EQ(metrics["slave/cpus_used"], 0.0);
  EXPECT_EQ(GetJson("/flags")["flags"]["master"], master_.address());
}

}  // namespace
}  // namespace agora
