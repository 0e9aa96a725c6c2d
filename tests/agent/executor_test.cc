// Runs the real agora-executor ($AGORA_BIN_DIR) against a fake agent that
// serves agora.v1.Executor on a Unix socket, to check the executor's side
// of the protocol: updates, acknowledgements, resubscription, kills, and
// what happens when the agent goes away. Waits on conditions with
// deadlines.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agora/v1/service.grpc.pb.h"
#include "common/event_stream.h"
#include "common/ids.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "isolation/posix_launcher.h"

namespace agora {
namespace {

using mesos::v1::executor::Call;
using mesos::v1::executor::Event;

// The agent's half of the executor API, scripted by the test.
class FakeExecutorAgent : public agora::v1::Executor::CallbackService {
 public:
  explicit FakeExecutorAgent(const std::string& socket) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket,
                             grpc::InsecureServerCredentials());
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeExecutorAgent() override { Shutdown(); }

  bool started() const { return server_ != nullptr; }
  void Shutdown() {
    CloseStream();
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now());
      server_.reset();
    }
  }

  grpc::ServerWriteReactor<Event>* Subscribe(
      grpc::CallbackServerContext*,
      const mesos::v1::executor::Call* call) override {
    auto [reactor, stream] = EventStream<Event>::Create(100, nullptr);
    std::lock_guard<std::mutex> lock(mu_);
    stream_ = stream;
    calls_.push_back(*call);
    cv_.notify_all();
    return reactor;
  }
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const mesos::v1::executor::Call* call,
                                 agora::v1::CallResponse*) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(*call);
      cv_.notify_all();
    }
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  // The next call of `type` (in arrival order), removed from the log.
  std::optional<mesos::v1::executor::Call> Take(
      mesos::v1::executor::Call::Type type,
      absl::Duration timeout = absl::Seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<mesos::v1::executor::Call> found;
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
      for (auto it = calls_.begin(); it != calls_.end(); ++it) {
        if (it->type() == type) {
          found = *it;
          calls_.erase(it);
          return true;
        }
      }
      return false;
    });
    return found;
  }
  bool Send(const Event& event) {
    std::lock_guard<std::mutex> lock(mu_);
    return stream_ && stream_->Send(event);
  }
  void CloseStream() {
    std::lock_guard<std::mutex> lock(mu_);
    if (stream_) {
      stream_->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone"));
    }
    stream_.reset();
  }

 private:
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<mesos::v1::executor::Call> calls_;
  std::shared_ptr<EventStream<Event>> stream_;
};

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("AGORA_BIN_DIR");
    if (bin == nullptr) {
      GTEST_SKIP() << "AGORA_BIN_DIR is not set";
    }
    char tmpl[] = "/tmp/agora-executor-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    executor_path_ = absl::StrCat(bin, "/agora-executor");
    agent_ = std::make_unique<FakeExecutorAgent>(dir_ + "/agent.sock");
    ASSERT_TRUE(agent_->started());
  }
  void TearDown() override {
    if (pid_ > 0 && !exit_status_) launcher_.Kill(pid_, SIGKILL).IgnoreError();
    WaitForExit(absl::Seconds(10));
    agent_.reset();
    if (!dir_.empty()) {
      ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0);
    }
  }

  // `env` adds to (or overrides) the executor's environment.
  void StartExecutor(const std::map<std::string, std::string>& env = {}) {
    LaunchSpec spec;
    spec.program = executor_path_;
    spec.env = {{"AGORA_EXECUTOR_ENDPOINT", "unix:" + dir_ + "/agent.sock"},
                {"MESOS_FRAMEWORK_ID", "fw"},
                {"MESOS_EXECUTOR_ID", "task"},
                {"MESOS_SANDBOX", dir_},
                {"MESOS_DIRECTORY", dir_},
                {"PATH", "/usr/bin:/bin"}};
    for (const auto& [name, value] : env) spec.env[name] = value;
    spec.cwd = dir_;
    spec.stdout_path = dir_ + "/stdout";
    spec.stderr_path = dir_ + "/stderr";
    absl::StatusOr<pid_t> pid =
        launcher_.Launch(spec, [this](pid_t, int status) {
          std::lock_guard<std::mutex> lock(mu_);
          exit_status_ = status;
          cv_.notify_all();
        });
    ASSERT_TRUE(pid.ok()) << pid.status();
    pid_ = *pid;
  }
  std::optional<int> WaitForExit(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                 [this] { return exit_status_.has_value(); });
    return exit_status_;
  }

  // Answers the SUBSCRIBE and launches `command` as task "task".
  void SubscribeAndLaunch(const std::string& command,
                          absl::Duration kill_grace = absl::ZeroDuration()) {
    ASSERT_TRUE(agent_->Take(Call::SUBSCRIBE).has_value());
    Event subscribed;
    subscribed.set_type(Event::SUBSCRIBED);
    auto* s = subscribed.mutable_subscribed();
    s->mutable_executor_info()->mutable_executor_id()->set_value("task");
    s->mutable_framework_info()->set_user("u");
    s->mutable_framework_info()->set_name("n");
    s->mutable_agent_info()->set_hostname("h");
    ASSERT_TRUE(agent_->Send(subscribed));
    Event launch;
    launch.set_type(Event::LAUNCH);
    auto* task = launch.mutable_launch()->mutable_task();
    task->set_name("task");
    task->mutable_task_id()->set_value("task");
    task->mutable_agent_id()->set_value("agent");
    task->mutable_command()->set_value(command);
    if (kill_grace > absl::ZeroDuration()) {
      task->mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(
          absl::ToInt64Nanoseconds(kill_grace));
    }
    ASSERT_TRUE(agent_->Send(launch));
  }
  mesos::v1::TaskStatus NextUpdate() {
    auto call = agent_->Take(Call::UPDATE);
    EXPECT_TRUE(call.has_value()) << "no UPDATE";
    return call ? call->update().status() : mesos::v1::TaskStatus();
  }
  void Ack(const mesos::v1::TaskStatus& status) {
    Event ack;
    ack.set_type(Event::ACKNOWLEDGED);
    *ack.mutable_acknowledged()->mutable_task_id() = status.task_id();
    ack.mutable_acknowledged()->set_uuid(status.uuid());
    ASSERT_TRUE(agent_->Send(ack));
  }
  void Kill() {
    Event kill;
    kill.set_type(Event::KILL);
    kill.mutable_kill()->mutable_task_id()->set_value("task");
    ASSERT_TRUE(agent_->Send(kill));
  }
  std::string ReadFile(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Waits until the task wrote its pid to `name`.
  pid_t TaskPid(const std::string& name) {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    pid_t pid = 0;
    while ((std::istringstream(ReadFile(name)) >> pid, pid) <= 0 &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    return pid;
  }

  std::string dir_;
  std::string executor_path_;
  std::unique_ptr<FakeExecutorAgent> agent_;
  PosixLauncher launcher_;
  pid_t pid_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<int> exit_status_;
};

TEST_F(ExecutorTest, ReportsStartingRunningFinishedAndExitsOnTheAck) {
  StartExecutor();
  SubscribeAndLaunch("echo from-task; echo $MESOS_TASK_ID; pwd");
  mesos::v1::TaskStatus starting = NextUpdate();
  EXPECT_EQ(starting.state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(starting.source(), mesos::v1::TaskStatus::SOURCE_EXECUTOR);
  EXPECT_EQ(starting.uuid().size(), 16u);
  EXPECT_EQ(NextUpdate().state(), mesos::v1::TASK_RUNNING);
  mesos::v1::TaskStatus finished = NextUpdate();
  EXPECT_EQ(finished.state(), mesos::v1::TASK_FINISHED);
  EXPECT_EQ(finished.message(), "Command exited with status 0");
  EXPECT_EQ(ReadFile("stdout"), "from-task\ntask\n" + dir_ + "\n");
  EXPECT_FALSE(WaitForExit(absl::Milliseconds(100)).has_value())
      << "exited before its terminal update was acknowledged";
  Ack(finished);
  std::optional<int> status = WaitForExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST_F(ExecutorTest, ResubscribesWithItsUnacknowledgedUpdates) {
  StartExecutor({{"MESOS_CHECKPOINT", "1"}});
  SubscribeAndLaunch("sleep 1000");
  mesos::v1::TaskStatus starting = NextUpdate();
  mesos::v1::TaskStatus running = NextUpdate();
  ASSERT_EQ(running.state(), mesos::v1::TASK_RUNNING);
  agent_->CloseStream();
  auto again = agent_->Take(Call::SUBSCRIBE);
  ASSERT_TRUE(again.has_value());
  const auto& s = again->subscribe();
  ASSERT_EQ(s.unacknowledged_updates_size(), 2);
  EXPECT_EQ(s.unacknowledged_updates(0).status().uuid(), starting.uuid());
  EXPECT_EQ(s.unacknowledged_updates(1).status().uuid(), running.uuid());
  ASSERT_EQ(s.unacknowledged_tasks_size(), 1);
  EXPECT_EQ(s.unacknowledged_tasks(0).task_id().value(), "task");
  Event subscribed;
  subscribed.set_type(Event::SUBSCRIBED);
  subscribed.mutable_subscribed()
      ->mutable_executor_info()
      ->mutable_executor_id()
      ->set_value("task");
  subscribed.mutable_subscribed()->mutable_framework_info()->set_user("u");
  subscribed.mutable_subscribed()->mutable_framework_info()->set_name("n");
  subscribed.mutable_subscribed()->mutable_agent_info()->set_hostname("h");
  ASSERT_TRUE(agent_->Send(subscribed));
  Ack(starting);
  Ack(running);
  Kill();
  mesos::v1::TaskStatus killed = NextUpdate();
  EXPECT_EQ(killed.state(), mesos::v1::TASK_KILLED);
  EXPECT_EQ(killed.message(), "Command terminated with signal SIGTERM");
  Ack(killed);
  ASSERT_TRUE(WaitForExit(absl::Seconds(10)).has_value());
}

TEST_F(ExecutorTest, KillEscalatesToSigkillAfterTheGracePeriod) {
  StartExecutor();
  SubscribeAndLaunch("trap '' TERM; echo $$ > pid; while :; do :; done",
                     absl::Milliseconds(300));
  EXPECT_EQ(NextUpdate().state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(NextUpdate().state(), mesos::v1::TASK_RUNNING);
  ASSERT_GT(TaskPid("pid"), 0);  // The trap is set.
  absl::Time start = absl::Now();
  Kill();
  mesos::v1::TaskStatus killed = NextUpdate();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(killed.state(), mesos::v1::TASK_KILLED);
  EXPECT_EQ(killed.message(), "Command terminated with signal SIGKILL");
  Ack(killed);
}

// Without checkpointing (MESOS_CHECKPOINT unset) the executor does not wait
// for its agent to come back, as in Mesos.
TEST_F(ExecutorTest, KillsItsTaskAndExitsWhenTheAgentIsGone) {
  StartExecutor();
  SubscribeAndLaunch("echo $$ > pid; exec sleep 1000");
  EXPECT_EQ(NextUpdate().state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(NextUpdate().state(), mesos::v1::TASK_RUNNING);
  pid_t task = TaskPid("pid");
  ASSERT_GT(task, 0);
  agent_->Shutdown();
  std::optional<int> status = WaitForExit(absl::Seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_NE(kill(task, 0), 0) << "the task outlived its executor";
}

// With checkpointing the executor waits MESOS_RECOVERY_TIMEOUT for the
// agent, then kills its task and exits.
TEST_F(ExecutorTest, CheckpointingExecutorGivesUpAfterTheRecoveryTimeout) {
  StartExecutor({{"MESOS_CHECKPOINT", "1"},
                 {"MESOS_RECOVERY_TIMEOUT", "1secs"},
                 {"MESOS_SUBSCRIPTION_BACKOFF_MAX", "100ms"}});
  SubscribeAndLaunch("echo $$ > pid; exec sleep 1000");
  EXPECT_EQ(NextUpdate().state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(NextUpdate().state(), mesos::v1::TASK_RUNNING);
  pid_t task = TaskPid("pid");
  ASSERT_GT(task, 0);
  absl::Time gone = absl::Now();
  agent_->Shutdown();
  // Still there after half the timeout: it waits for the agent.
  EXPECT_FALSE(WaitForExit(absl::Milliseconds(500)).has_value());
  EXPECT_EQ(kill(task, 0), 0);
  std::optional<int> status = WaitForExit(absl::Seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_GE(absl::Now() - gone, absl::Seconds(1));
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_NE(kill(task, 0), 0) << "the task outlived its executor";
}

// A task that finishes while the agent is away: its terminal update is
// kept (the executor does not exit after the usual 5 s wait for its
// acknowledgement) and travels in the next SUBSCRIBE.
TEST_F(ExecutorTest, KeepsATerminalUpdateWhileTheAgentIsAway) {
  StartExecutor(
      {{"MESOS_CHECKPOINT", "1"}, {"MESOS_SUBSCRIPTION_BACKOFF_MAX", "100ms"}});
  SubscribeAndLaunch("sleep 1");
  mesos::v1::TaskStatus starting = NextUpdate();
  mesos::v1::TaskStatus running = NextUpdate();
  Ack(starting);
  Ack(running);
  agent_->CloseStream();
  // The executor resubscribes; this agent never answers SUBSCRIBED.
  ASSERT_TRUE(agent_->Take(Call::SUBSCRIBE).has_value());
  EXPECT_FALSE(WaitForExit(absl::Seconds(7)).has_value())
      << "exited with its terminal update unacknowledged";
  agent_->CloseStream();
  auto again = agent_->Take(Call::SUBSCRIBE);
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(again->subscribe().unacknowledged_updates_size(), 1);
  mesos::v1::TaskStatus finished =
      again->subscribe().unacknowledged_updates(0).status();
  EXPECT_EQ(finished.state(), mesos::v1::TASK_FINISHED);
  Event subscribed;
  subscribed.set_type(Event::SUBSCRIBED);
  subscribed.mutable_subscribed()
      ->mutable_executor_info()
      ->mutable_executor_id()
      ->set_value("task");
  subscribed.mutable_subscribed()->mutable_framework_info()->set_user("u");
  subscribed.mutable_subscribed()->mutable_framework_info()->set_name("n");
  subscribed.mutable_subscribed()->mutable_agent_info()->set_hostname("h");
  ASSERT_TRUE(agent_->Send(subscribed));
  Ack(finished);
  std::optional<int> status = WaitForExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

}  // namespace
}  // namespace agora
