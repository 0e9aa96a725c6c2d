// Two frameworks written against the scheduler driver share one real agent;
// the master's allocator must hand the agent to them in DRF order.
//
// The agent has 10 CPUs and 10 GB. Framework A runs tasks of <1 CPU, 512 MB>
// (dominant share 1/10, CPU), framework B tasks of <0.5 CPU, 2560 MB>
// (dominant share 1/4, memory). Each launches one task per offer and gives
// the rest back with refuse_seconds 0, so every allocation cycle offers the
// whole free agent to the framework with the lowest dominant share. In units
// of 1/20 (A +2 per task, B +5 per task):
//   1. A 0 -> 2 (first to subscribe)    5. B 5 -> 10 (5 < 6)
//   2. B 0 -> 5 (0 < 2)                 6. A 6 -> 8
//   3. A 2 -> 4 (2 < 5)                 7. A 8 -> 10 (8 < 10)
//   4. A 4 -> 6 (4 < 5)                 8. B 10 -> 15: a tie, broken by
//                                          fewer allocations (B 2, A 5)
// after which memory is full: A runs 5 tasks, B 3, launched in the order
// A B A A B A A B (round robin would give A B A B ..., first-come A A A ...).
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agora/scheduler.h"
#include "gtest/gtest.h"
#include "integration/cluster.h"
#include "nlohmann/json.hpp"

namespace agora::testing {
namespace {

using mesos::v1::Offer;
using mesos::v1::TaskInfo;

// Shared by both frameworks: the order in which tasks were launched.
struct LaunchLog {
  // Set once both frameworks are subscribed. Until then a framework holds
  // the offer it got, so a late subscriber cannot miss its turn.
  std::atomic<bool> go{false};
  std::mutex mu;
  std::string order;  // One letter per launch.
  int running = 0;
};

void AddScalar(TaskInfo* task, const std::string& name, double value) {
  mesos::v1::Resource* r = task->add_resources();
  r->set_name(name);
  r->set_type(mesos::v1::Value::SCALAR);
  r->mutable_scalar()->set_value(value);
}

double OfferedScalar(const Offer& offer, const std::string& name) {
  double total = 0;
  for (const mesos::v1::Resource& r : offer.resources()) {
    if (r.name() == name && r.has_scalar()) total += r.scalar().value();
  }
  return total;
}

// Launches one <cpus, mem> task per offer while it fits; declines the rest.
class OneTaskPerOffer : public Scheduler {
 public:
  OneTaskPerOffer(std::string letter, double cpus, double mem, LaunchLog* log)
      : letter_(std::move(letter)), cpus_(cpus), mem_(mem), log_(log) {}

  void registered(SchedulerDriver*, const mesos::v1::FrameworkID&,
                  const mesos::v1::MasterInfo&) override {
    std::lock_guard<std::mutex> lock(mu_);
    registered_ = true;
  }
  void reregistered(SchedulerDriver*, const mesos::v1::MasterInfo&) override {}
  void disconnected(SchedulerDriver*) override {}

  void resourceOffers(SchedulerDriver* driver,
                      const std::vector<Offer>& offers) override {
    for (int i = 0; i < 3000 && !log_->go; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    mesos::v1::Filters no_filter;
    no_filter.set_refuse_seconds(0);
    for (const Offer& offer : offers) {
      if (OfferedScalar(offer, "cpus") + 1e-9 < cpus_ ||
          OfferedScalar(offer, "mem") + 1e-9 < mem_) {
        driver->declineOffer(offer.id(), no_filter);
        continue;
      }
      TaskInfo task;
      task.set_name(absl::StrCat(letter_, "-", launched_));
      task.mutable_task_id()->set_value(task.name());
      *task.mutable_agent_id() = offer.agent_id();
      AddScalar(&task, "cpus", cpus_);
      AddScalar(&task, "mem", mem_);
      task.mutable_command()->set_value("sleep 600");
      ++launched_;
      {
        std::lock_guard<std::mutex> lock(log_->mu);
        log_->order += letter_;
      }
      driver->launchTasks(offer.id(), {task}, no_filter);
    }
  }

  void offerRescinded(SchedulerDriver*, const mesos::v1::OfferID&) override {}
  void statusUpdate(SchedulerDriver*,
                    const mesos::v1::TaskStatus& status) override {
    if (status.state() == mesos::v1::TASK_RUNNING) {
      std::lock_guard<std::mutex> lock(log_->mu);
      ++log_->running;
    }
  }
  void frameworkMessage(SchedulerDriver*, const mesos::v1::ExecutorID&,
                        const mesos::v1::AgentID&,
                        const std::string&) override {}
  void agentLost(SchedulerDriver*, const mesos::v1::AgentID&) override {}
  void executorLost(SchedulerDriver*, const mesos::v1::ExecutorID&,
                    const mesos::v1::AgentID&, int) override {}
  void error(SchedulerDriver*, const std::string& message) override {
    ADD_FAILURE() << "framework " << letter_ << ": " << message;
  }

  bool IsRegistered() {
    std::lock_guard<std::mutex> lock(mu_);
    return registered_;
  }

 private:
  const std::string letter_;
  const double cpus_;
  const double mem_;
  LaunchLog* const log_;
  int launched_ = 0;  // Only touched on the driver's callback thread.
  std::mutex mu_;
  bool registered_ = false;
};

mesos::v1::FrameworkInfo Framework(const std::string& name) {
  mesos::v1::FrameworkInfo info;
  info.set_name(name);
  info.set_user("");
  return info;
}

TEST(DrfOrderTest, TwoFrameworksOnOneAgentGetOffersInDrfOrder) {
  LocalCluster::Options options;
  options.agent_resources = "cpus:10;mem:10240;disk:1024;ports:[31000-32000]";
  auto cluster = LocalCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->WaitForAgents(1).ok());

  LaunchLog log;
  OneTaskPerOffer a("A", 1, 512, &log);
  OneTaskPerOffer b("B", 0.5, 2560, &log);
  AgoraSchedulerDriver driver_a(&a, Framework("drf-a"),
                                (*cluster)->master_address());
  AgoraSchedulerDriver driver_b(&b, Framework("drf-b"),
                                (*cluster)->master_address());

  // A subscribes first, so the first offer is A's (held until B is in).
  ASSERT_EQ(driver_a.start(), mesos::v1::DRIVER_RUNNING);
  ASSERT_TRUE(WaitFor([&] { return a.IsRegistered(); }));
  ASSERT_EQ(driver_b.start(), mesos::v1::DRIVER_RUNNING);
  ASSERT_TRUE(WaitFor([&] { return b.IsRegistered(); }));
  log.go = true;

  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(log.mu);
        return log.running >= 8;
      },
      absl::Seconds(60)))
      << "launched so far: " << log.order;

  // Several more allocation cycles (100 ms each here): nothing else fits.
  absl::SleepFor(absl::Seconds(1));
  {
    std::lock_guard<std::mutex> lock(log.mu);
    EXPECT_EQ(log.order, "ABAABAAB");
    EXPECT_EQ(log.running, 8);
  }

  // The master agrees: 6.5 CPUs and all 10 GB in use.
  auto metrics = HttpGet((*cluster)->master_ports().http, "/metrics/snapshot");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  nlohmann::json snapshot = nlohmann::json::parse(*metrics);
  EXPECT_DOUBLE_EQ(snapshot["master/cpus_used"].get<double>(), 6.5);
  EXPECT_DOUBLE_EQ(snapshot["master/mem_used"].get<double>(), 10240.0);
  EXPECT_DOUBLE_EQ(snapshot["master/tasks_running"].get<double>(), 8.0);

  driver_a.stop();
  driver_b.stop();
  driver_a.join();
  driver_b.join();
}

// The example of the DRF paper (Ghodsi et al., NSDI 2011, section 4): 9 CPUs
// and 18 GB; A's tasks need <1 CPU, 4 GB> (dominant: memory, 2/9 each), B's
// <3 CPUs, 1 GB> (dominant: CPU, 1/3 each). Offering the whole free agent to
// the lowest dominant share each cycle:
//   A 0 -> 2/9 | B 0 -> 1/3 | A 2/9 -> 4/9 | B 1/3 -> 2/3 | A 4/9 -> 2/3
// and then all 9 CPUs are in use: A runs 3 tasks (3 CPUs, 12 GB), B runs 2
// (6 CPUs, 2 GB), equalising the dominant shares at 2/3 as the paper shows.
TEST(DrfOrderTest, DrfPaperExample) {
  LocalCluster::Options options;
  options.agent_resources = "cpus:9;mem:18432;disk:1024;ports:[31000-32000]";
  auto cluster = LocalCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->WaitForAgents(1).ok());

  LaunchLog log;
  OneTaskPerOffer a("A", 1, 4096, &log);
  OneTaskPerOffer b("B", 3, 1024, &log);
  AgoraSchedulerDriver driver_a(&a, Framework("paper-a"),
                                (*cluster)->master_address());
  AgoraSchedulerDriver driver_b(&b, Framework("paper-b"),
                                (*cluster)->master_address());
  ASSERT_EQ(driver_a.start(), mesos::v1::DRIVER_RUNNING);
  ASSERT_TRUE(WaitFor([&] { return a.IsRegistered(); }));
  ASSERT_EQ(driver_b.start(), mesos::v1::DRIVER_RUNNING);
  ASSERT_TRUE(WaitFor([&] { return b.IsRegistered(); }));
  log.go = true;

  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(log.mu);
        return log.running >= 5;
      },
      absl::Seconds(60)))
      << "launched so far: " << log.order;
  absl::SleepFor(absl::Seconds(1));  // Ten more cycles: nothing else fits.
  {
    std::lock_guard<std::mutex> lock(log.mu);
    EXPECT_EQ(log.order, "ABABA");
    EXPECT_EQ(log.running, 5);
  }
  auto metrics = HttpGet((*cluster)->master_ports().http, "/metrics/snapshot");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  nlohmann::json snapshot = nlohmann::json::parse(*metrics);
  EXPECT_DOUBLE_EQ(snapshot["master/cpus_used"].get<double>(), 9.0);
  EXPECT_DOUBLE_EQ(snapshot["master/mem_used"].get<double>(), 14336.0);

  driver_a.stop();
  driver_b.stop();
  driver_a.join();
  driver_b.join();
}

}  // namespace
}  // namespace agora::testing
