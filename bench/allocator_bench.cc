// Allocator benchmarks on the setup of Mesos's
// HierarchicalAllocator_BENCHMARK_Test.DeclineOffers: every agent has
// cpus:24;mem:4096;disk:4096;ports:[31000-32000], of which
// cpus:16;mem:2014;disk:1024 and 16 ports are already used by one framework
// (round robin); all frameworks are in role "*".
//
// BM_AllocationCycle/<agents>/<frameworks>
//   Time of one Allocate() over all agents, in which every agent is offered
//   (its free cpus:8;mem:2082;disk:3072 and 985 ports) to one framework.
//   Between timed cycles, untimed, every offer is recovered without a
//   filter and the clock moves one allocation interval, so each iteration
//   is the same full cycle.
// BM_AllocationCycleExpiringFilters/<agents>/<frameworks>
//   The same, but each offer is declined with a 1 s filter (one interval):
//   the timed cycle also expires all of the previous cycle's filters.
// BM_DeclineOffersRounds/<agents>/<frameworks>
//   Mesos's DeclineOffers proper: each offer is declined with a filter that
//   never expires, so round k walks past up to k filtered frameworks per
//   agent. Twenty rounds; the time is the mean per round.
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "allocator/allocator.h"
#include "benchmark/benchmark.h"
#include "common/resources.h"

namespace agora {
namespace {

Resources AgentTotal() {
  return *Resources::Parse("cpus:24;mem:4096;disk:4096;ports:[31000-32000]");
}

// cpus:16;mem:2014;disk:1024 and 16 single ports spread over the range,
// allocated to "*".
Resources AgentUsed() {
  Resources used = *Resources::Parse("cpus:16;mem:2014;disk:1024");
  Resource ports;
  ports.name = "ports";
  ports.kind = Resource::Kind::kRanges;
  std::vector<Range> ranges;
  for (uint64_t i = 0; i < 16; ++i) {
    ranges.push_back({31000 + i * 64, 31000 + i * 64});
  }
  ports.ranges = Ranges(std::move(ranges));
  used += ports;
  return used.AllocatedTo("*");
}

struct Cluster {
  std::unique_ptr<Allocator> allocator;
  absl::Time now = absl::FromUnixSeconds(1000);
};

Cluster MakeCluster(int agents, int frameworks) {
  AllocatorOptions options;
  options.shuffle_seed = 42;
  Cluster c;
  c.allocator = std::make_unique<Allocator>(options);
  std::vector<FrameworkId> ids;
  for (int i = 0; i < frameworks; ++i) {
    ids.emplace_back(absl::StrFormat("framework-%06d", i));
    c.allocator->AddFramework(ids.back(), {"*"}, {}, /*active=*/true);
  }
  const Resources total = AgentTotal();
  const Resources used = AgentUsed();
  for (int i = 0; i < agents; ++i) {
    c.allocator->AddAgent(AgentId(absl::StrFormat("agent-%06d", i)), total,
                          {{ids[i % frameworks], used}});
  }
  return c;
}

// Runs one timed cycle, then recovers its offers (untimed) with `refuse`
// and adds the recovery time to `recover_ms`.
void TimedCycle(benchmark::State& state, Cluster& c,
                std::optional<absl::Duration> refuse, double* recover_ms) {
  absl::Time start = absl::Now();
  std::vector<Allocation> offers = c.allocator->Allocate(c.now);
  state.SetIterationTime(absl::ToDoubleSeconds(absl::Now() - start));
  state.counters["offers"] = static_cast<double>(offers.size());
  start = absl::Now();
  for (const Allocation& a : offers) {
    c.allocator->RecoverResources(a.framework, a.agent, a.resources, refuse,
                                  c.now);
  }
  *recover_ms += absl::ToDoubleMilliseconds(absl::Now() - start);
  c.now += absl::Seconds(1);
}

// Untimed, but worth knowing: the master recovers every declined offer.
void ReportRecovery(benchmark::State& state, double recover_ms) {
  state.counters["recover_ms"] =
      benchmark::Counter(recover_ms, benchmark::Counter::kAvgIterations);
}

void BM_AllocationCycle(benchmark::State& state) {
  Cluster c = MakeCluster(state.range(0), state.range(1));
  double recover_ms = 0;
  for (auto _ : state) TimedCycle(state, c, std::nullopt, &recover_ms);
  ReportRecovery(state, recover_ms);
}

void BM_AllocationCycleExpiringFilters(benchmark::State& state) {
  Cluster c = MakeCluster(state.range(0), state.range(1));
  double recover_ms = 0;
  for (auto _ : state) TimedCycle(state, c, absl::Seconds(1), &recover_ms);
  ReportRecovery(state, recover_ms);
}

void BM_DeclineOffersRounds(benchmark::State& state) {
  Cluster c = MakeCluster(state.range(0), state.range(1));
  double recover_ms = 0;
  for (auto _ : state) {
    TimedCycle(state, c, absl::Hours(24 * 365), &recover_ms);
  }
  ReportRecovery(state, recover_ms);
  state.counters["filters"] =
      static_cast<double>(c.allocator->ActiveFilterCount());
}

void Grid(benchmark::internal::Benchmark* b) {
  b->ArgNames({"agents", "frameworks"});
  for (int agents : {1000, 10000}) {
    for (int frameworks : {100, 1000}) b->Args({agents, frameworks});
  }
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_AllocationCycle)->Apply(Grid);
BENCHMARK(BM_AllocationCycleExpiringFilters)->Apply(Grid);
BENCHMARK(BM_DeclineOffersRounds)->Apply(Grid)->Iterations(20);

}  // namespace
}  // namespace agora

BENCHMARK_MAIN();
