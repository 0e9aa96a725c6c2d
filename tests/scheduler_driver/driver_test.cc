// AgoraSchedulerDriver against a fake master: a real agora.v1.Scheduler gRPC
// server on port 0. Tests wait on conditions with deadlines, never sleep.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "agora/scheduler.h"
#include "gtest/gtest.h"
#include "scheduler_driver/fake_master.h"
#include "scheduler_driver/recording_scheduler.h"

namespace agora::testing {
namespace {

using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;

mesos::v1::FrameworkInfo TestFramework() {
  mesos::v1::FrameworkInfo info;
  info.set_name("driver-test");
  return info;
}

// Short retry timings so the resubscription tests run quickly.
AgoraSchedulerDriver::Options FastOptions() {
  AgoraSchedulerDriver::Options options;
  options.subscribe_retry_interval = absl::Milliseconds(10);
  options.resubscribe_backoff_initial = absl::Milliseconds(10);
  options.resubscribe_backoff_max = absl::Milliseconds(50);
  return options;
}

Event UpdateEvent(const std::string& task, const std::string& uuid) {
  Event event;
  event.set_type(Event::UPDATE);
  mesos::v1::TaskStatus* status = event.mutable_update()->mutable_status();
  status->mutable_task_id()->set_value(task);
  status->set_state(mesos::v1::TASK_RUNNING);
  status->mutable_agent_id()->set_value("agent-1");
  if (!uuid.empty()) status->set_uuid(uuid);
  return event;
}

class DriverTest : public ::testing::Test {
 protected:
  void StartDriver(bool implicit_acks = true,
                   AgoraSchedulerDriver::Options options = FastOptions()) {
    driver_ = std::make_unique<AgoraSchedulerDriver>(
        &scheduler_, TestFramework(), master_.address(), implicit_acks,
        std::move(options));
    ASSERT_EQ(driver_->start(), mesos::v1::DRIVER_RUNNING);
    ASSERT_TRUE(scheduler_.WaitFor("registered"));
  }

  void TearDown() override {
    driver_.reset();
    EXPECT_TRUE(scheduler_.serial_on_one_thread());
  }

  FakeMaster master_;
  RecordingScheduler scheduler_;
  std::unique_ptr<AgoraSchedulerDriver> driver_;
};

TEST_F(DriverTest, SubscribesAndCallsRegisteredWithTheFrameworkId) {
  StartDriver();
  EXPECT_EQ(scheduler_.framework_id().value(), "fw-1");
  std::vector<Call> subscribes = master_.subscribe_calls();
  ASSERT_EQ(subscribes.size(), 1u);
  EXPECT_EQ(subscribes[0].type(), Call::SUBSCRIBE);
  const mesos::v1::FrameworkInfo& info =
      subscribes[0].subscribe().framework_info();
  EXPECT_EQ(info.name(), "driver-test");
  EXPECT_FALSE(info.user().empty());  // Filled with the OS user.
  EXPECT_FALSE(info.has_id());
  EXPECT_EQ(scheduler_.log(), std::vector<std::string>{"registered"});
}

TEST_F(DriverTest, CallsCarryTheStreamIdAndFrameworkId) {
  StartDriver();
  EXPECT_EQ(driver_->reviveOffers({"web"}), mesos::v1::DRIVER_RUNNING);
  ASSERT_TRUE(master_.WaitForCalls(1));
  FakeMaster::RecordedCall call = master_.calls()[0];
  EXPECT_EQ(call.call.type(), Call::REVIVE);
  EXPECT_EQ(call.call.framework_id().value(), "fw-1");
  EXPECT_EQ(call.call.revive().roles(0), "web");
  EXPECT_FALSE(call.stream_id.empty());
  EXPECT_EQ(call.stream_id, master_.current_stream_id());
}

TEST_F(DriverTest, OffersReachResourceOffers) {
  StartDriver();
  Event event;
  event.set_type(Event::OFFERS);
  for (const char* id : {"o-1", "o-2"}) {
    mesos::v1::Offer* offer = event.mutable_offers()->add_offers();
    offer->mutable_id()->set_value(id);
    offer->mutable_framework_id()->set_value("fw-1");
    offer->mutable_agent_id()->set_value("agent-1");
    offer->set_hostname("host");
  }
  ASSERT_TRUE(master_.SendEvent(event));
  ASSERT_TRUE(scheduler_.WaitFor("resourceOffers"));
  std::vector<mesos::v1::Offer> offers = scheduler_.offers();
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_EQ(offers[0].id().value(), "o-1");
  EXPECT_EQ(offers[1].id().value(), "o-2");
}

TEST_F(DriverTest, UpdateWithUuidIsAcknowledgedAfterTheCallbackReturns) {
  // Calls leave in order, so a REVIVE made inside the callback precedes an
  // acknowledgement sent after it returns.
  scheduler_.on_status_update = [](SchedulerDriver* driver,
                                   const mesos::v1::TaskStatus&) {
    driver->reviveOffers();
  };
  StartDriver();
  // A master-generated update (no uuid) first: it must not be acknowledged.
  ASSERT_TRUE(master_.SendEvent(UpdateEvent("from-master", "")));
  ASSERT_TRUE(master_.SendEvent(UpdateEvent("from-agent", "uuid-bytes-0001")));
  ASSERT_TRUE(master_.WaitForCalls(3));
  ASSERT_TRUE(scheduler_.WaitFor("statusUpdate", 2));

  std::vector<FakeMaster::RecordedCall> calls = master_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].call.type(), Call::REVIVE);
  EXPECT_EQ(calls[1].call.type(), Call::REVIVE);
  const Call& ack = calls[2].call;
  ASSERT_EQ(ack.type(), Call::ACKNOWLEDGE);
  EXPECT_EQ(ack.framework_id().value(), "fw-1");
  EXPECT_EQ(ack.acknowledge().task_id().value(), "from-agent");
  EXPECT_EQ(ack.acknowledge().agent_id().value(), "agent-1");
  EXPECT_EQ(ack.acknowledge().uuid(), "uuid-bytes-0001");
}

TEST_F(DriverTest, ExplicitAcknowledgementsAreSentOnlyWhenAsked) {
  scheduler_.on_status_update = [](SchedulerDriver* driver,
                                   const mesos::v1::TaskStatus&) {
    driver->reviveOffers();  // Queued before any implicit ack could be.
  };
  StartDriver(/*implicit_acks=*/false);
  ASSERT_TRUE(master_.SendEvent(UpdateEvent("t", "uuid-bytes-0002")));
  ASSERT_TRUE(scheduler_.WaitFor("statusUpdate"));
  mesos::v1::TaskStatus status = scheduler_.updates()[0];
  EXPECT_EQ(driver_->acknowledgeStatusUpdate(status),
            mesos::v1::DRIVER_RUNNING);
  driver_->suppressOffers();
  ASSERT_TRUE(master_.WaitForCalls(3));
  std::vector<FakeMaster::RecordedCall> calls = master_.calls();
  EXPECT_EQ(calls[0].call.type(), Call::REVIVE);
  EXPECT_EQ(calls[1].call.type(), Call::ACKNOWLEDGE);
  EXPECT_EQ(calls[1].call.acknowledge().uuid(), "uuid-bytes-0002");
  EXPECT_EQ(calls[2].call.type(), Call::SUPPRESS);
}

TEST_F(DriverTest, LaunchTasksSendsAcceptWithLaunchAndFilters) {
  StartDriver();
  mesos::v1::OfferID offer;
  offer.set_value("o-7");
  mesos::v1::TaskInfo task;
  task.set_name("t");
  task.mutable_task_id()->set_value("t");
  task.mutable_agent_id()->set_value("agent-1");
  task.mutable_command()->set_value("true");
  mesos::v1::Filters filters;
  filters.set_refuse_seconds(30);
  driver_->launchTasks({offer}, {task}, filters);
  driver_->declineOffer(offer);
  ASSERT_TRUE(master_.WaitForCalls(2));
  std::vector<FakeMaster::RecordedCall> calls = master_.calls();

  const Call& accept = calls[0].call;
  ASSERT_EQ(accept.type(), Call::ACCEPT);
  ASSERT_EQ(accept.accept().offer_ids_size(), 1);
  EXPECT_EQ(accept.accept().offer_ids(0).value(), "o-7");
  ASSERT_EQ(accept.accept().operations_size(), 1);
  EXPECT_EQ(accept.accept().operations(0).type(),
            mesos::v1::Offer::Operation::LAUNCH);
  ASSERT_EQ(accept.accept().operations(0).launch().task_infos_size(), 1);
  EXPECT_EQ(
      accept.accept().operations(0).launch().task_infos(0).task_id().value(),
      "t");
  EXPECT_EQ(accept.accept().filters().refuse_seconds(), 30);

  const Call& decline = calls[1].call;
  ASSERT_EQ(decline.type(), Call::DECLINE);
  EXPECT_TRUE(decline.decline().has_filters());
  EXPECT_EQ(decline.decline().filters().refuse_seconds(), 5);  // Mesos default.
}

TEST_F(DriverTest, StreamLossCallsDisconnectedThenReregisteredWithTheId) {
  StartDriver();
  std::string first_stream = master_.current_stream_id();
  master_.CloseStream(grpc::Status(grpc::StatusCode::UNAVAILABLE, "restart"));
  ASSERT_TRUE(scheduler_.WaitFor("reregistered"));
  EXPECT_EQ(
      scheduler_.log(),
      (std::vector<std::string>{"registered", "disconnected", "reregistered"}));
  std::vector<Call> subscribes = master_.subscribe_calls();
  ASSERT_EQ(subscribes.size(), 2u);
  EXPECT_EQ(subscribes[1].framework_id().value(), "fw-1");
  EXPECT_EQ(subscribes[1].subscribe().framework_info().id().value(), "fw-1");

  // Calls now carry the new stream's id.
  driver_->reviveOffers();
  ASSERT_TRUE(master_.WaitForCalls(1));
  EXPECT_NE(master_.calls()[0].stream_id, first_stream);
  EXPECT_EQ(master_.calls()[0].stream_id, master_.current_stream_id());
}

TEST_F(DriverTest, ResubscriptionKeepsSuppressedRolesAndUpdatedInfo) {
  StartDriver();
  driver_->suppressOffers();  // All roles: "*".
  ASSERT_TRUE(master_.WaitForCalls(1));
  EXPECT_EQ(master_.calls()[0].call.type(), Call::SUPPRESS);

  mesos::v1::FrameworkInfo info;
  info.set_user("someone");
  info.set_name("renamed");
  info.add_roles("a");
  info.add_roles("b");
  driver_->updateFramework(info, {"b"});
  ASSERT_TRUE(master_.WaitForCalls(2));
  const Call update = master_.calls()[1].call;
  ASSERT_EQ(update.type(), Call::UPDATE_FRAMEWORK);
  EXPECT_EQ(update.framework_id().value(), "fw-1");
  // The driver fills in the framework's id.
  EXPECT_EQ(update.update_framework().framework_info().id().value(), "fw-1");
  EXPECT_EQ(update.update_framework().framework_info().name(), "renamed");
  ASSERT_EQ(update.update_framework().suppressed_roles_size(), 1);
  EXPECT_EQ(update.update_framework().suppressed_roles(0), "b");

  driver_->suppressOffers({"a"});
  driver_->reviveOffers({"b"});
  ASSERT_TRUE(master_.WaitForCalls(4));
  master_.CloseStream(grpc::Status(grpc::StatusCode::UNAVAILABLE, "restart"));
  ASSERT_TRUE(scheduler_.WaitFor("reregistered"));
  std::vector<Call> subscribes = master_.subscribe_calls();
  ASSERT_EQ(subscribes.size(), 2u);
  const Call::Subscribe& again = subscribes[1].subscribe();
  EXPECT_EQ(again.framework_info().name(), "renamed");
  EXPECT_EQ(again.framework_info().id().value(), "fw-1");
  ASSERT_EQ(again.suppressed_roles_size(), 1);
  EXPECT_EQ(again.suppressed_roles(0), "a");
}

TEST_F(DriverTest, SilentStreamIsTreatedAsLost) {
  master_.set_heartbeat_interval_seconds(0.05);
  AgoraSchedulerDriver::Options options = FastOptions();
  options.heartbeat_misses = 2;
  StartDriver(true, options);
  // The fake sends no heartbeats: after 2 x 50ms the driver resubscribes.
  ASSERT_TRUE(scheduler_.WaitFor("reregistered"));
  EXPECT_EQ(scheduler_.log()[1], "disconnected");
  EXPECT_EQ(master_.subscribe_calls()[1].framework_id().value(), "fw-1");
}

TEST_F(DriverTest, StopSendsTeardownAndJoinReturnsStopped) {
  StartDriver();
  EXPECT_EQ(driver_->stop(), mesos::v1::DRIVER_STOPPED);
  EXPECT_EQ(driver_->join(), mesos::v1::DRIVER_STOPPED);
  // join() returns only once the TEARDOWN has been delivered.
  std::vector<FakeMaster::RecordedCall> calls = master_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].call.type(), Call::TEARDOWN);
  EXPECT_EQ(calls[0].call.framework_id().value(), "fw-1");
  EXPECT_TRUE(master_.WaitForStreamDone());
  EXPECT_EQ(driver_->reviveOffers(), mesos::v1::DRIVER_STOPPED);
  EXPECT_EQ(scheduler_.Count("disconnected"), 0u);
}

TEST_F(DriverTest, StopFromInsideACallbackTearsDown) {
  scheduler_.on_status_update = [](SchedulerDriver* driver,
                                   const mesos::v1::TaskStatus&) {
    driver->stop();
  };
  StartDriver();
  ASSERT_TRUE(master_.SendEvent(UpdateEvent("t", "uuid-bytes-0003")));
  EXPECT_EQ(driver_->join(), mesos::v1::DRIVER_STOPPED);
  // As Mesos's driver: stopped inside the callback, so no acknowledgement.
  std::vector<FakeMaster::RecordedCall> calls = master_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].call.type(), Call::TEARDOWN);
}

TEST_F(DriverTest, StopWithFailoverOnlyDisconnects) {
  StartDriver();
  EXPECT_EQ(driver_->stop(/*failover=*/true), mesos::v1::DRIVER_STOPPED);
  EXPECT_EQ(driver_->join(), mesos::v1::DRIVER_STOPPED);
  EXPECT_TRUE(master_.WaitForStreamDone());
  EXPECT_TRUE(master_.calls().empty());
}

TEST_F(DriverTest, ErrorEventAbortsTheDriverAndCallsError) {
  StartDriver();
  Event event;
  event.set_type(Event::ERROR);
  event.mutable_error()->set_message("Framework failed over");
  ASSERT_TRUE(master_.SendEvent(event));
  EXPECT_EQ(driver_->join(), mesos::v1::DRIVER_ABORTED);
  ASSERT_TRUE(scheduler_.WaitFor("error"));
  EXPECT_EQ(scheduler_.last_error(), "Framework failed over");
  EXPECT_EQ(driver_->reviveOffers(), mesos::v1::DRIVER_ABORTED);
  // An aborted driver does not resubscribe.
  EXPECT_EQ(master_.subscribe_calls().size(), 1u);
}

TEST_F(DriverTest, RefusedSubscriptionIsAnError) {
  master_.RefuseNextSubscriptions(
      1,
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "role '' is invalid"));
  driver_ = std::make_unique<AgoraSchedulerDriver>(
      &scheduler_, TestFramework(), master_.address(), true, FastOptions());
  EXPECT_EQ(driver_->run(), mesos::v1::DRIVER_ABORTED);
  ASSERT_TRUE(scheduler_.WaitFor("error"));
  EXPECT_TRUE(absl::StrContains(scheduler_.last_error(), "role '' is invalid"))
      << scheduler_.last_error();
  EXPECT_EQ(scheduler_.Count("registered"), 0u);
}

TEST_F(DriverTest, RetriesSubscribeUntilTheMasterAnswers) {
  master_.RefuseNextSubscriptions(
      2, grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leader yet"));
  std::mutex mu;
  std::vector<int> failures;
  AgoraSchedulerDriver::Options options = FastOptions();
  options.on_subscribe_failure = [&](const std::string& master,
                                     const absl::Status& error, int n) {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(master, master_.address());
    EXPECT_EQ(error.code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(absl::StrContains(error.message(), "not the leader yet"));
    failures.push_back(n);
  };
  StartDriver(true, options);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(failures, (std::vector<int>{1, 2}));
  EXPECT_EQ(master_.subscribe_calls().size(), 3u);
}

TEST(DriverStandaloneTest, FollowsAStandbysPointerToTheLeader) {
  FakeMaster standby;
  FakeMaster leader;
  standby.RefuseNextSubscriptions(
      1000, grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leader"),
      leader.address());
  RecordingScheduler scheduler;
  AgoraSchedulerDriver driver(&scheduler, TestFramework(), standby.address(),
                              true, FastOptions());
  ASSERT_EQ(driver.start(), mesos::v1::DRIVER_RUNNING);
  ASSERT_TRUE(scheduler.WaitFor("registered"));
  EXPECT_EQ(standby.subscribe_calls().size(), 1u);
  EXPECT_EQ(leader.subscribe_calls().size(), 1u);
  driver.reviveOffers();
  EXPECT_TRUE(leader.WaitForCalls(1));
}

TEST(DriverStandaloneTest, UnreachableMasterIsRetriedAndReported) {
  RecordingScheduler scheduler;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<absl::Status> errors;
  AgoraSchedulerDriver::Options options = FastOptions();
  options.on_subscribe_failure = [&](const std::string&,
                                     const absl::Status& error, int) {
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back(error);
    cv.notify_all();
  };
  // Port 1 on loopback: nothing listens there.
  AgoraSchedulerDriver driver(&scheduler, TestFramework(), "127.0.0.1:1", true,
                              options);
  ASSERT_EQ(driver.start(), mesos::v1::DRIVER_RUNNING);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20),
                            [&] { return errors.size() >= 3; }));
    EXPECT_EQ(errors[0].code(), absl::StatusCode::kUnavailable) << errors[0];
  }
  EXPECT_EQ(driver.stop(), mesos::v1::DRIVER_STOPPED);
  EXPECT_EQ(driver.join(), mesos::v1::DRIVER_STOPPED);
  EXPECT_TRUE(scheduler.log().empty());
}

TEST(DriverStandaloneTest, BadMasterAddressAbortsAtStart) {
  RecordingScheduler scheduler;
  AgoraSchedulerDriver driver(&scheduler, TestFramework(), "no-port-here");
  EXPECT_EQ(driver.start(), mesos::v1::DRIVER_ABORTED);
  EXPECT_EQ(scheduler.log(), std::vector<std::string>{"error"});
  EXPECT_TRUE(absl::StrContains(scheduler.last_error(), "no-port-here"));
  EXPECT_EQ(driver.join(), mesos::v1::DRIVER_ABORTED);
}

TEST(DriverStandaloneTest, CallsBeforeStartReportNotStarted) {
  RecordingScheduler scheduler;
  AgoraSchedulerDriver driver(&scheduler, TestFramework(), "127.0.0.1:1");
  EXPECT_EQ(driver.reviveOffers(), mesos::v1::DRIVER_NOT_STARTED);
  EXPECT_EQ(driver.join(), mesos::v1::DRIVER_NOT_STARTED);
  EXPECT_EQ(driver.stop(), mesos::v1::DRIVER_NOT_STARTED);
}

}  // namespace
}  // namespace agora::testing
