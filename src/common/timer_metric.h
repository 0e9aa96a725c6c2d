// TimerMetric: Mesos's timer metric ("allocator/mesos/allocation_run_ms"):
// the last duration in milliseconds and statistics over a window of recent
// ones, exposed as the keys NAME, NAME/count, NAME/min, NAME/max, NAME/p50,
// NAME/p90, NAME/p95, NAME/p99, NAME/p999 and NAME/p9999.
//
// Thread rule: as MetricsRegistry (the owner's loop).
#ifndef AGORA_COMMON_TIMER_METRIC_H_
#define AGORA_COMMON_TIMER_METRIC_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace agora {

class TimerMetric {
 public:
  explicit TimerMetric(std::string name, size_t window = 1000)
      : name_(std::move(name)), window_(window) {}

  void Record(absl::Duration d) {
    samples_.push_back(absl::ToDoubleMilliseconds(d));
    if (samples_.size() > window_) samples_.pop_front();
    ++count_;
  }

  // Adds this timer's keys to `out` (none before the first sample).
  void AddTo(std::map<std::string, double>* out) const {
    if (samples_.empty()) return;
    std::vector<double> sorted(samples_.begin(), samples_.end());
    std::sort(sorted.begin(), sorted.end());
    (*out)[name_] = samples_.back();
    (*out)[name_ + "/count"] = static_cast<double>(count_);
    (*out)[name_ + "/min"] = sorted.front();
    (*out)[name_ + "/max"] = sorted.back();
    for (const auto& [suffix, q] :
         std::map<std::string, double>{{"p50", 0.5},
                                       {"p90", 0.9},
                                       {"p95", 0.95},
                                       {"p99", 0.99},
                                       {"p999", 0.999},
                                       {"p9999", 0.9999}}) {
      (*out)[name_ + "/" + suffix] = Percentile(sorted, q);
    }
  }

 private:
  // Linear interpolation between the closest ranks, as Mesos's
  // TimeSeries statistics do.
  static double Percentile(const std::vector<double>& sorted, double q) {
    double rank = q * static_cast<double>(sorted.size() - 1);
    size_t lo = static_cast<size_t>(std::floor(rank));
    size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] +
           (rank - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
  }

  const std::string name_;
  const size_t window_;
  std::deque<double> samples_;
  uint64_t count_ = 0;
};

}  // namespace agora

#endif  // AGORA_COMMON_TIMER_METRIC_H_
