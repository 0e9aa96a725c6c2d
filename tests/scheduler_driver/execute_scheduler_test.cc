// agora-execute's framework logic against a recording driver, with kill
// timers on a manual clock.
#include "cli/execute_scheduler.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/event_loop.h"
#include "common/resources_proto.h"
#include "gtest/gtest.h"

namespace agora::cli {
namespace {

using mesos::v1::Status;

// Records what the framework asks of the driver.
class RecordingDriver : public SchedulerDriver {
 public:
  std::vector<std::string> log;  // "launch o-1 t0,t1", "decline o-2", ...
  std::vector<mesos::v1::TaskInfo> launched;

  Status start() override { return Ok("start"); }
  Status stop(bool failover) override {
    return Ok(failover ? "stop failover" : "stop");
  }
  Status abort() override { return Ok("abort"); }
  Status join() override { return Ok("join"); }
  Status run() override { return Ok("run"); }
  Status launchTasks(const std::vector<mesos::v1::OfferID>& offers,
                     const std::vector<mesos::v1::TaskInfo>& tasks,
                     const mesos::v1::Filters&) override {
    std::string entry = "launch " + offers.at(0).value() + " ";
    for (const auto& t : tasks) {
      entry += (t.task_id().value() + (&t == &tasks.back() ? "" : ","));
      launched.push_back(t);
    }
    return Ok(entry);
  }
  Status launchTasks(const mesos::v1::OfferID& offer,
                     const std::vector<mesos::v1::TaskInfo>& tasks,
                     const mesos::v1::Filters& filters) override {
    return launchTasks(std::vector<mesos::v1::OfferID>{offer}, tasks, filters);
  }
  Status acceptOffers(const std::vector<mesos::v1::OfferID>&,
                      const std::vector<mesos::v1::Offer::Operation>&,
                      const mesos::v1::Filters&) override {
    return Ok("accept");
  }
  Status declineOffer(const mesos::v1::OfferID& offer,
                      const mesos::v1::Filters& filters) override {
    EXPECT_FALSE(filters.has_refuse_seconds());  // Mesos's default filter.
    return Ok("decline " + offer.value());
  }
  Status updateFramework(const mesos::v1::FrameworkInfo&,
                         const std::vector<std::string>&) override {
    return Ok("update");
  }
  Status reviveOffers() override { return Ok("revive"); }
  Status reviveOffers(const std::vector<std::string>&) override {
    return Ok("revive");
  }
  Status suppressOffers() override { return Ok("suppress"); }
  Status suppressOffers(const std::vector<std::string>&) override {
    return Ok("suppress");
  }
  Status killTask(const mesos::v1::TaskID& task) override {
    return Ok("kill " + task.value());
  }
  Status acknowledgeStatusUpdate(const mesos::v1::TaskStatus&) override {
    return Ok("ack");
  }
  Status reconcileTasks(
      const std::vector<mesos::v1::TaskStatus>& statuses) override {
    std::string entry = "reconcile";
    for (const auto& s : statuses) {
      entry += " " + s.task_id().value() + "@" + s.agent_id().value();
    }
    return Ok(entry);
  }
  Status sendFrameworkMessage(const mesos::v1::ExecutorID&,
                              const mesos::v1::AgentID&,
                              const std::string&) override {
    return Ok("message");
  }

 private:
  Status Ok(const std::string& entry) {
    log.push_back(entry);
    return mesos::v1::DRIVER_RUNNING;
  }
};

mesos::v1::Offer OfferOf(const std::string& id, const std::string& resources) {
  mesos::v1::Offer offer;
  offer.mutable_id()->set_value(id);
  offer.mutable_framework_id()->set_value("fw-1");
  offer.mutable_agent_id()->set_value("agent-1");
  offer.set_hostname("host");
  *offer.mutable_resources() =
      ToProto(Resources::Parse(resources)->AllocatedTo("*"));
  return offer;
}

mesos::v1::TaskStatus StatusOf(const std::string& task,
                               mesos::v1::TaskState state) {
  mesos::v1::TaskStatus status;
  status.mutable_task_id()->set_value(task);
  status.set_state(state);
  status.mutable_agent_id()->set_value("agent-1");
  return status;
}

class ExecuteSchedulerTest : public ::testing::Test {
 protected:
  void Make(int instances, std::optional<absl::Duration> kill_after = {}) {
    ExecuteFlags flags;
    flags.master = "127.0.0.1:5050";
    flags.name = "job";
    flags.command = "true";
    flags.instances = instances;
    flags.resources = "cpus:1;mem:128";
    ExecuteOptions options = *ValidateExecuteFlags(flags);
    options.kill_after = kill_after;
    scheduler_ = std::make_unique<ExecuteScheduler>(
        options, out_, err_,
        [this](absl::Duration delay, std::function<void()> fn) {
          timers_.PostAfter(delay, std::move(fn));
        });
    mesos::v1::FrameworkID id;
    id.set_value("fw-1");
    scheduler_->registered(&driver_, id, mesos::v1::MasterInfo());
  }

  void Update(const std::string& task, mesos::v1::TaskState state) {
    scheduler_->statusUpdate(&driver_, StatusOf(task, state));
  }

  std::ostringstream out_;
  std::ostringstream err_;
  ManualClock clock_;
  EventLoop timers_{"timers", &clock_};
  RecordingDriver driver_;
  std::unique_ptr<ExecuteScheduler> scheduler_;
};

TEST_F(ExecuteSchedulerTest, LaunchesWhatFitsDeclinesTheRestThenSuppresses) {
  Make(3);
  EXPECT_TRUE(scheduler_->WaitUntilSubscribedOrDone(absl::ZeroDuration()));
  // 2 of 3 tasks fit the first offer; the second fits nothing.
  scheduler_->resourceOffers(&driver_, {OfferOf("o-1", "cpus:2.5;mem:4096"),
                                        OfferOf("o-2", "cpus:0.5;mem:4096")});
  EXPECT_EQ(driver_.log, (std::vector<std::string>{"launch o-1 job-0,job-1",
                                                   "decline o-2"}));
  scheduler_->resourceOffers(&driver_, {OfferOf("o-3", "cpus:8;mem:4096")});
  scheduler_->resourceOffers(&driver_, {OfferOf("o-4", "cpus:8;mem:4096")});
  EXPECT_EQ(driver_.log, (std::vector<std::string>{
                             "launch o-1 job-0,job-1", "decline o-2",
                             "launch o-3 job-2", "suppress", "decline o-4"}));
  ASSERT_EQ(driver_.launched.size(), 3u);
  EXPECT_EQ(driver_.launched[2].agent_id().value(), "agent-1");
  std::string out = out_.str();
  EXPECT_TRUE(absl::StrContains(out, "Subscribed with ID fw-1\n"));
  EXPECT_TRUE(
      absl::StrContains(out, "Submitted task 'job-1' to agent 'agent-1'\n"));
  EXPECT_TRUE(
      absl::StrContains(out, "Submitted task 'job-2' to agent 'agent-1'\n"));
}

TEST_F(ExecuteSchedulerTest, ExitsZeroOnlyWhenEveryTaskFinished) {
  Make(2);
  scheduler_->resourceOffers(&driver_, {OfferOf("o-1", "cpus:4;mem:4096")});
  Update("job-0", mesos::v1::TASK_RUNNING);
  Update("job-0", mesos::v1::TASK_FINISHED);
  Update("job-0", mesos::v1::TASK_FINISHED);  // A duplicate counts once.
  EXPECT_FALSE(scheduler_->exit_code().has_value());
  EXPECT_EQ(driver_.log.back(), "suppress");
  Update("job-1", mesos::v1::TASK_FINISHED);
  EXPECT_EQ(scheduler_->exit_code(), kExitAllFinished);
  EXPECT_EQ(driver_.log.back(), "stop");  // TEARDOWN.
}

TEST_F(ExecuteSchedulerTest, AnyTaskNotFinishedExitsOne) {
  Make(2);
  scheduler_->resourceOffers(&driver_, {OfferOf("o-1", "cpus:4;mem:4096")});
  Update("job-0", mesos::v1::TASK_FINISHED);
  Update("other-task", mesos::v1::TASK_FAILED);  // Not ours: ignored.
  EXPECT_FALSE(scheduler_->exit_code().has_value());
  Update("job-1", mesos::v1::TASK_FAILED);
  EXPECT_EQ(scheduler_->exit_code(), kExitTaskNotFinished);
  EXPECT_EQ(driver_.log.back(), "stop");
}

TEST_F(ExecuteSchedulerTest, ReconcilesUnfinishedTasksAfterResubscribing) {
  Make(3);
  scheduler_->resourceOffers(&driver_, {OfferOf("o-1", "cpus:2;mem:4096")});
  Update("job-0", mesos::v1::TASK_FINISHED);
  scheduler_->disconnected(&driver_);
  scheduler_->reregistered(&driver_, mesos::v1::MasterInfo());
  // job-1 was launched and is unfinished; job-2 was never launched.
  EXPECT_EQ(driver_.log.back(), "reconcile job-1@agent-1");
}

TEST_F(ExecuteSchedulerTest, ErrorExitsTwo) {
  Make(1);
  scheduler_->error(&driver_, "Framework failed over");
  EXPECT_EQ(scheduler_->exit_code(), kExitFrameworkError);
  EXPECT_EQ(err_.str(), "Received an ERROR event: Framework failed over\n");
}

TEST_F(ExecuteSchedulerTest, KillAfterKillsThatLongAfterRunning) {
  Make(1, absl::Seconds(10));
  scheduler_->resourceOffers(&driver_, {OfferOf("o-1", "cpus:4;mem:4096")});
  Update("job", mesos::v1::TASK_STARTING);
  Update("job", mesos::v1::TASK_RUNNING);
  timers_.AdvanceTime(&clock_, absl::Seconds(9));
  EXPECT_NE(driver_.log.back(), "kill job");
  timers_.AdvanceTime(&clock_, absl::Seconds(1));
  EXPECT_EQ(driver_.log.back(), "kill job");
  EXPECT_TRUE(absl::StrContains(
      out_.str(), "Asked to kill task 'job' on agent 'agent-1'\n"));
}

TEST_F(ExecuteSchedulerTest, SubscribeFailuresArePrintedNowAndThen) {
  Make(1);
  for (int n = 1; n <= 10; ++n) {
    scheduler_->OnSubscribeFailure("m:5050", absl::UnavailableError("refused"),
                                   n);
  }
  EXPECT_EQ(
      err_.str(),
      "failed to reach master at m:5050: UNAVAILABLE: refused; retrying\n"
      "failed to reach master at m:5050: UNAVAILABLE: refused; retrying\n"
      "failed to reach master at m:5050: UNAVAILABLE: refused; retrying\n");
  EXPECT_EQ(scheduler_->last_subscribe_error(), "UNAVAILABLE: refused");
}

TEST(FormatStatusUpdateTest, PrintsLikeMesosExecute) {
  mesos::v1::TaskStatus status = StatusOf("job", mesos::v1::TASK_FAILED);
  status.set_message("Command exited with status 3");
  status.set_source(mesos::v1::TaskStatus::SOURCE_EXECUTOR);
  status.set_reason(mesos::v1::TaskStatus::REASON_COMMAND_EXECUTOR_FAILED);
  EXPECT_EQ(FormatStatusUpdate(status),
            "Received status update TASK_FAILED for task 'job'\n"
            "  message: 'Command exited with status 3'\n"
            "  source: SOURCE_EXECUTOR\n"
            "  reason: REASON_COMMAND_EXECUTOR_FAILED\n");
  EXPECT_EQ(FormatStatusUpdate(StatusOf("t", mesos::v1::TASK_RUNNING)),
            "Received status update TASK_RUNNING for task 't'\n");
}

TEST(ExitCodeTest, TerminalStatesAndExitCodes) {
  EXPECT_TRUE(IsTerminalState(mesos::v1::TASK_FINISHED));
  EXPECT_TRUE(IsTerminalState(mesos::v1::TASK_ERROR));
  EXPECT_TRUE(IsTerminalState(mesos::v1::TASK_DROPPED));
  EXPECT_TRUE(IsTerminalState(mesos::v1::TASK_GONE_BY_OPERATOR));
  EXPECT_FALSE(IsTerminalState(mesos::v1::TASK_UNREACHABLE));
  EXPECT_FALSE(IsTerminalState(mesos::v1::TASK_KILLING));
  EXPECT_FALSE(IsTerminalState(mesos::v1::TASK_STAGING));
  EXPECT_EQ(ExitCodeFor({{"a", mesos::v1::TASK_FINISHED},
                         {"b", mesos::v1::TASK_FINISHED}}),
            0);
  EXPECT_EQ(ExitCodeFor({{"a", mesos::v1::TASK_FINISHED},
                         {"b", mesos::v1::TASK_KILLED}}),
            1);
  EXPECT_EQ(ExitCodeFor({{"a", mesos::v1::TASK_LOST}}), 1);
  EXPECT_EQ(ExitCodeFor({}), 1);
}

}  // namespace
}  // namespace agora::cli
