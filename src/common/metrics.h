// MetricsRegistry: named counters and gauges for /metrics/snapshot, with
// Mesos's key names ("master/tasks_running"). Loop thread only: the owner
// updates and snapshots it on its loop.
#ifndef AGORA_COMMON_METRICS_H_
#define AGORA_COMMON_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace agora {

class MetricsRegistry {
 public:
  // Adds `delta` to the counter `name` (created at 0).
  void Increment(const std::string& name, int64_t delta = 1) {
    counters_[name] += delta;
  }
  int64_t Counter(const std::string& name) const {
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
  }
  // A gauge computed when a snapshot is taken.
  void AddGauge(const std::string& name, std::function<double()> fn) {
    gauges_[name] = std::move(fn);
  }
  // Every counter and gauge, sorted by name.
  std::map<std::string, double> Snapshot() const {
    std::map<std::string, double> out;
    for (const auto& [name, value] : counters_) {
      out[name] = static_cast<double>(value);
    }
    for (const auto& [name, fn] : gauges_) out[name] = fn();
    return out;
  }

 private:
  std::map<std::string, int64_t> counters_;
  std::map<std::string, std::function<double()>> gauges_;
};

}  // namespace agora

#endif  // AGORA_COMMON_METRICS_H_
