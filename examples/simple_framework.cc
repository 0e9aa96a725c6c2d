// A minimal Agora framework, built on the scheduler driver.
//
// It runs --tasks copies of --command, packing as many tasks into each offer
// as fit, prints every status update, and exits once every task has ended:
// 0 when all finished, 1 otherwise.
//
//   agora-example-framework --master=127.0.0.1:5050 --tasks=3
//       --command='echo hello from Agora'
#include <iostream>
#include <string>
#include <vector>

#include "agora/scheduler.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

DEFINE_string(master, "127.0.0.1:5050", "The master's host:port.");
DEFINE_int32(tasks, 3, "How many tasks to run.");
DEFINE_string(command, "echo hello from Agora", "What each task runs.");
DEFINE_double(cpus, 0.1, "CPUs per task.");
DEFINE_double(mem, 32, "Memory per task, in MB.");

namespace {

// The total of one scalar resource (e.g. "cpus") in an offer.
double ScalarIn(const mesos::v1::Offer& offer, const std::string& name) {
  double total = 0;
  for (const mesos::v1::Resource& r : offer.resources()) {
    if (r.name() == name && r.type() == mesos::v1::Value::SCALAR) {
      total += r.scalar().value();
    }
  }
  return total;
}

// A scalar resource for a task launched on `offer`: it is allocated to the
// role the offer was made to.
mesos::v1::Resource ScalarFor(const mesos::v1::Offer& offer,
                              const std::string& name, double value) {
  mesos::v1::Resource r;
  r.set_name(name);
  r.set_type(mesos::v1::Value::SCALAR);
  r.mutable_scalar()->set_value(value);
  *r.mutable_allocation_info() = offer.allocation_info();
  return r;
}

bool IsTerminal(mesos::v1::TaskState state) {
  switch (state) {
    case mesos::v1::TASK_FINISHED:
    case mesos::v1::TASK_FAILED:
    case mesos::v1::TASK_KILLED:
    case mesos::v1::TASK_ERROR:
    case mesos::v1::TASK_LOST:
    case mesos::v1::TASK_DROPPED:
    case mesos::v1::TASK_GONE:
    case mesos::v1::TASK_GONE_BY_OPERATOR:
      return true;
    default:
      return false;
  }
}

class SimpleScheduler : public agora::Scheduler {
 public:
  void registered(agora::SchedulerDriver*, const mesos::v1::FrameworkID& id,
                  const mesos::v1::MasterInfo&) override {
    std::cout << "Registered as framework " << id.value() << std::endl;
  }

  void reregistered(agora::SchedulerDriver*,
                    const mesos::v1::MasterInfo&) override {
    std::cout << "Reregistered" << std::endl;
  }

  void disconnected(agora::SchedulerDriver*) override {
    std::cout << "Disconnected; the driver reconnects by itself" << std::endl;
  }

  void resourceOffers(agora::SchedulerDriver* driver,
                      const std::vector<mesos::v1::Offer>& offers) override {
    for (const mesos::v1::Offer& offer : offers) {
      double cpus = ScalarIn(offer, "cpus");
      double mem = ScalarIn(offer, "mem");
      std::vector<mesos::v1::TaskInfo> tasks;
      while (launched_ < FLAGS_tasks && cpus >= FLAGS_cpus &&
             mem >= FLAGS_mem) {
        tasks.push_back(NewTask(offer));
        cpus -= FLAGS_cpus;
        mem -= FLAGS_mem;
      }
      if (tasks.empty()) {
        driver->declineOffer(offer.id());
      } else {
        driver->launchTasks({offer.id()}, tasks);
      }
    }
  }

  void offerRescinded(agora::SchedulerDriver*,
                      const mesos::v1::OfferID&) override {}

  // The driver acknowledges each update once this returns.
  void statusUpdate(agora::SchedulerDriver* driver,
                    const mesos::v1::TaskStatus& status) override {
    std::cout << "Task " << status.task_id().value() << " is "
              << mesos::v1::TaskState_Name(status.state());
    if (status.has_message()) std::cout << " (" << status.message() << ")";
    std::cout << std::endl;
    if (!IsTerminal(status.state())) return;
    ++ended_;
    if (status.state() != mesos::v1::TASK_FINISHED) all_finished_ = false;
    if (ended_ == FLAGS_tasks) driver->stop();  // Tears the framework down.
  }

  void frameworkMessage(agora::SchedulerDriver*, const mesos::v1::ExecutorID&,
                        const mesos::v1::AgentID&,
                        const std::string&) override {}

  void agentLost(agora::SchedulerDriver*,
                 const mesos::v1::AgentID& id) override {
    std::cout << "Agent " << id.value() << " lost" << std::endl;
  }

  void executorLost(agora::SchedulerDriver*, const mesos::v1::ExecutorID&,
                    const mesos::v1::AgentID&, int) override {}

  void error(agora::SchedulerDriver*, const std::string& message) override {
    std::cerr << "Error: " << message << std::endl;
    all_finished_ = false;
  }

  bool all_finished() const { return all_finished_; }

 private:
  mesos::v1::TaskInfo NewTask(const mesos::v1::Offer& offer) {
    std::string id = "task-" + std::to_string(launched_++);
    mesos::v1::TaskInfo task;
    task.set_name(id);
    task.mutable_task_id()->set_value(id);
    *task.mutable_agent_id() = offer.agent_id();
    task.mutable_command()->set_value(FLAGS_command);  // Runs under /bin/sh.
    *task.add_resources() = ScalarFor(offer, "cpus", FLAGS_cpus);
    *task.add_resources() = ScalarFor(offer, "mem", FLAGS_mem);
    std::cout << "Launching " << id << " on " << offer.hostname() << std::endl;
    return task;
  }

  // Touched only from callbacks, which the driver runs one at a time.
  int launched_ = 0;
  int ended_ = 0;
  bool all_finished_ = true;
};

}  // namespace

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);

  mesos::v1::FrameworkInfo framework;
  framework.set_name("simple framework (C++)");
  framework.set_user("");  // The driver fills in the current user.

  SimpleScheduler scheduler;
  agora::AgoraSchedulerDriver driver(&scheduler, framework, FLAGS_master);
  mesos::v1::Status status = driver.run();  // start(), then join().
  if (status != mesos::v1::DRIVER_STOPPED) return 1;
  return scheduler.all_finished() ? 0 : 1;
}
