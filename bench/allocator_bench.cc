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
//   is the same full cycle. Counters bytes_per_agent / bytes_per_framework:
//   heap the allocator holds per agent (with its used-resources record) and
//   per framework, measured with mallinfo2 during the setup.
// BM_AllocationCycleQuota/<roles>
//   Mesos's LargeAndSmallQuota setup: 5/6 of the roles have quota
//   cpus:1;mem:1024;disk:1024 (half an agent), 1/6 cpus:4;mem:4096;disk:4096
//   (two agents), limit = guarantee, one framework each, and small/5 +
//   large*5 agents of cpus:2;mem:2048;disk:2048, so 3000 roles give 3000
//   agents. The timed cycle serves every guarantee in stage 1 (chopping
//   agents) and walks the rest in stage 2; offers are recovered untimed.
// BM_AllocationCycleExpiringFilters/<agents>/<frameworks>
//   The same, but each offer is declined with a 1 s filter (one interval):
//   the timed cycle also expires all of the previous cycle's filters.
// BM_DeclineOffersRounds/<agents>/<frameworks>
//   Mesos's DeclineOffers proper: each offer is declined with a filter that
//   never expires, so round k walks past up to k filtered frameworks per
//   agent. Twenty rounds; the time is the mean per round.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
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

size_t HeapInUse() { return mallinfo2().uordblks; }

Cluster MakeCluster(int agents, int frameworks,
                    benchmark::State* state = nullptr) {
  AllocatorOptions options;
  options.shuffle_seed = 42;
  Cluster c;
  c.allocator = std::make_unique<Allocator>(options);
  std::vector<FrameworkId> ids;
  for (int i = 0; i < frameworks; ++i) {
    ids.emplace_back(absl::StrFormat("framework-%06d", i));
  }
  const Resources total = AgentTotal();
  const Resources used = AgentUsed();
  size_t start = HeapInUse();
  for (const FrameworkId& id : ids) {
    c.allocator->AddFramework(id, {"*"}, {}, /*active=*/true);
  }
  size_t after_frameworks = HeapInUse();
  for (int i = 0; i < agents; ++i) {
    c.allocator->AddAgent(AgentId(absl::StrFormat("agent-%06d", i)), total,
                          {{ids[i % frameworks], used}});
  }
  size_t after_agents = HeapInUse();
  if (state != nullptr) {
    state->counters["bytes_per_framework"] =
        static_cast<double>(after_frameworks - start) / frameworks;
    state->counters["bytes_per_agent"] =
        static_cast<double>(after_agents - after_frameworks) / agents;
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
  Cluster c = MakeCluster(state.range(0), state.range(1), &state);
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

Cluster MakeQuotaCluster(int roles) {
  AllocatorOptions options;
  options.shuffle_seed = 42;
  Cluster c;
  c.allocator = std::make_unique<Allocator>(options);
  const int small = roles * 5 / 6;
  const int large = roles - small;
  for (int i = 0; i < roles; ++i) {
    std::string role = i < small ? absl::StrFormat("smallQuotaRole%d", i)
                                 : absl::StrFormat("largeQuotaRole%d", i);
    c.allocator->AddFramework(FrameworkId(absl::StrFormat("framework-%06d", i)),
                              {role}, {}, /*active=*/true);
    Quota quota;
    double cpus = i < small ? 1 : 4;
    quota.guarantees = {{"cpus", Scalar::FromDouble(cpus)},
                        {"mem", Scalar::FromDouble(cpus * 1024)},
                        {"disk", Scalar::FromDouble(cpus * 1024)}};
    quota.limits = quota.guarantees;
    if (!c.allocator->UpdateQuota(role, quota).ok()) std::abort();
  }
  const Resources total = *Resources::Parse("cpus:2;mem:2048;disk:2048");
  const int agents = small / 5 + large * 5;
  for (int i = 0; i < agents; ++i) {
    c.allocator->AddAgent(AgentId(absl::StrFormat("agent-%06d", i)), total, {});
  }
  return c;
}

void BM_AllocationCycleQuota(benchmark::State& state) {
  Cluster c = MakeQuotaCluster(state.range(0));
  double recover_ms = 0;
  for (auto _ : state) TimedCycle(state, c, std::nullopt, &recover_ms);
  ReportRecovery(state, recover_ms);
}

// agents {1k, 10k, 50k} x frameworks {10, 100, 1k, 5k}.
void Grid(benchmark::internal::Benchmark* b) {
  for (int agents : {1000, 10000, 50000}) {
    for (int frameworks : {10, 100, 1000, 5000}) b->Args({agents, frameworks});
  }
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

// The same cycles with filters, on the smaller grid.
void SmallGrid(benchmark::internal::Benchmark* b) {
  for (int agents : {1000, 10000}) {
    for (int frameworks : {100, 1000}) b->Args({agents, frameworks});
  }
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_AllocationCycle)->Apply(Grid);
BENCHMARK(BM_AllocationCycleQuota)
    ->Arg(30)
    ->Arg(300)
    ->Arg(3000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AllocationCycleExpiringFilters)->Apply(SmallGrid);
BENCHMARK(BM_DeclineOffersRounds)->Apply(SmallGrid)->Iterations(20);

}  // namespace
}  // namespace agora

BENCHMARK_MAIN();
