// /state benchmarks on a master holding <agents> agents and <tasks> tasks
// (tasks spread evenly, 10 frameworks, each task cpus:0.1;mem:32 with a
// STAGING and a RUNNING status). The master is a real Master on a manual
// loop, filled through its agent protocol: every agent reregisters and
// reports its tasks (the frameworks are recovered from those reports).
//
// BM_StateSnapshot/<agents>/<tasks>
//   Master::Snapshot(): the only work a /state request does on the master's
//   loop, i.e. how long the loop is blocked per request (manual time: the
//   closure on the loop; freeing the snapshot happens on the HTTP thread).
// BM_StateJson/<agents>/<tasks>
//   A whole /state request: the snapshot plus RenderState() and dump() on
//   the HTTP thread. This is what the loop would be blocked for if /state
//   were rendered on it (as Mesos does).
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "common/event_loop.h"
#include "common/resources.h"
#include "common/resources_proto.h"
#include "glog/logging.h"
#include "master/master.h"
#include "master/registry.h"
#include "master/state_snapshot.h"

namespace agora {
namespace {

class NullLink : public AgentConnection {
 public:
  explicit NullLink(uint64_t id) : id_(id) {}
  uint64_t id() const override { return id_; }
  const std::string& peer() const override { return peer_; }
  bool Send(internal::MasterMessage) override { return true; }
  void Close(const absl::Status&) override {}

 private:
  const uint64_t id_;
  const std::string peer_ = "ipv4:10.0.0.1:5051";
};

constexpr int kFrameworks = 10;

internal::ReregisterAgent Report(int agent, int tasks, int* next_task) {
  internal::ReregisterAgent message;
  mesos::v1::AgentInfo* info = message.mutable_agent_info();
  info->set_hostname(absl::StrCat("agent-", agent));
  info->mutable_id()->set_value(absl::StrCat("bench-S", agent));
  *info->mutable_resources() =
      ToProto(*Resources::Parse("cpus:32;mem:65536;disk:100000;"
                                "ports:[31000-32000]"));
  message.set_version("bench");
  for (int f = 0; f < kFrameworks; ++f) {
    mesos::v1::FrameworkInfo* framework = message.add_frameworks();
    framework->set_name(absl::StrCat("framework-", f));
    framework->set_user("bench");
    framework->mutable_id()->set_value(absl::StrCat("bench-", f));
  }
  const auto resources =
      ToProto(Resources::Parse("cpus:0.1;mem:32")->AllocatedTo("*"));
  for (int t = 0; t < tasks; ++t, ++*next_task) {
    mesos::v1::Task* task = message.add_tasks();
    std::string id = absl::StrCat("task-", *next_task);
    task->set_name(id);
    task->mutable_task_id()->set_value(id);
    task->mutable_framework_id()->set_value(
        absl::StrCat("bench-", *next_task % kFrameworks));
    *task->mutable_agent_id() = info->id();
    task->mutable_executor_id()->set_value(id);
    task->set_state(mesos::v1::TASK_RUNNING);
    *task->mutable_resources() = resources;
    for (auto state : {mesos::v1::TASK_STAGING, mesos::v1::TASK_RUNNING}) {
      mesos::v1::TaskStatus* status = task->add_statuses();
      *status->mutable_task_id() = task->task_id();
      status->set_state(state);
      status->set_source(mesos::v1::TaskStatus::SOURCE_EXECUTOR);
      status->set_timestamp(1.7e9 + *next_task);
    }
  }
  return message;
}

struct Cluster {
  ManualClock clock;
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<Master> master;
};

Cluster* GetCluster(int agents, int tasks) {
  static std::map<std::pair<int, int>, std::unique_ptr<Cluster>> clusters;
  auto& cluster = clusters[{agents, tasks}];
  if (cluster != nullptr) return cluster.get();
  cluster = std::make_unique<Cluster>();
  cluster->loop = std::make_unique<EventLoop>("bench", &cluster->clock);
  MasterOptions options;
  options.registry = RegistryKind::kInMemory;
  cluster->master = std::make_unique<Master>(options, cluster->loop.get(),
                                             NewInMemoryRegistry());
  CHECK(cluster->master->Recover().ok());
  cluster->master->SetAddress("10.0.0.2", 5050);
  cluster->master->Start();
  int next_task = 0;
  for (int a = 0; a < agents; ++a) {
    int here = tasks / agents + (a < tasks % agents ? 1 : 0);
    internal::AgentMessage message;
    *message.mutable_reregister_agent() = Report(a, here, &next_task);
    auto link = std::make_shared<NullLink>(a + 1);
    Master* master = cluster->master.get();
    cluster->loop->Post(
        [master, link, message] { master->OnAgentMessage(link, message); });
    cluster->loop->RunUntilIdle();
  }
  return cluster.get();
}

// Takes a snapshot on the loop as a /state request does; `loop_time`, if
// given, receives how long the closure ran on the loop.
std::shared_ptr<const StateSnapshot> TakeSnapshot(
    Cluster* cluster, absl::Duration* loop_time = nullptr) {
  std::shared_ptr<const StateSnapshot> out;
  Master* master = cluster->master.get();
  cluster->loop->Post([&out, master, loop_time] {
    absl::Time start = absl::Now();
    out = master->Snapshot();
    if (loop_time != nullptr) *loop_time = absl::Now() - start;
  });
  cluster->loop->RunUntilIdle();
  return out;
}

// Manual time: only the closure on the loop counts; the snapshot is freed
// afterwards, untimed, as it is on the HTTP thread.
void BM_StateSnapshot(benchmark::State& state) {
  Cluster* cluster = GetCluster(state.range(0), state.range(1));
  size_t tasks = 0;
  for (auto _ : state) {
    absl::Duration loop_time;
    auto snapshot = TakeSnapshot(cluster, &loop_time);
    state.SetIterationTime(absl::ToDoubleSeconds(loop_time));
    tasks = snapshot->tasks.size();
    benchmark::DoNotOptimize(snapshot);
  }
  state.counters["tasks"] = static_cast<double>(tasks);
}

void BM_StateJson(benchmark::State& state) {
  Cluster* cluster = GetCluster(state.range(0), state.range(1));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = RenderState(*TakeSnapshot(cluster)).dump();
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

BENCHMARK(BM_StateSnapshot)
    ->Args({100, 1000})
    ->Args({1000, 10000})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StateJson)
    ->Args({100, 1000})
    ->Args({1000, 10000})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace agora

BENCHMARK_MAIN();
