// The master's allocator flags: text to MasterOptions.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/flags_util.h"
#include "master/master_options.h"

namespace agora {
namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view value,
                       absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", value, ": ", why));
}

}  // namespace

absl::Status ApplyAllocatorFlags(const AllocatorFlagValues& values,
                                 MasterOptions* options) {
  MasterOptions next = *options;
  if (!values.weights.empty()) {
    absl::StatusOr<std::map<std::string, double>> weights =
        ParseWeights(values.weights);
    if (!weights.ok()) {
      return FlagError("weights", values.weights, weights.status().message());
    }
    next.weights = *std::move(weights);
  } else {
    next.weights.clear();
  }
  absl::StatusOr<std::vector<Resources>> minimum =
      ParseMinAllocatableResources(values.min_allocatable_resources);
  if (!minimum.ok()) {
    return FlagError("min_allocatable_resources",
                     values.min_allocatable_resources,
                     minimum.status().message());
  }
  next.min_allocatable_resources = *std::move(minimum);
  next.fair_sharing_excluded_resource_names.clear();
  if (!values.fair_sharing_excluded_resource_names.empty()) {
    for (absl::string_view name :
         absl::StrSplit(values.fair_sharing_excluded_resource_names, ',')) {
      name = absl::StripAsciiWhitespace(name);
      if (name.empty()) {
        return FlagError("fair_sharing_excluded_resource_names",
                         values.fair_sharing_excluded_resource_names,
                         "empty resource name");
      }
      for (char c : name) {
        if (c == '(' || c == ')' || c == ':' || c == ';' || c == '|' ||
            c == ' ') {
          return FlagError("fair_sharing_excluded_resource_names",
                           values.fair_sharing_excluded_resource_names,
                           absl::StrCat("invalid resource name '", name, "'"));
        }
      }
      next.fair_sharing_excluded_resource_names.insert(std::string(name));
    }
  }
  next.filter_gpu_resources = values.filter_gpu_resources;
  const double factor = values.allocator_agent_recovery_factor;
  if (!(factor >= 0.0 && factor <= 1.0)) {
    return FlagError("allocator_agent_recovery_factor", absl::StrCat(factor),
                     "must be between 0 and 1");
  }
  next.allocator_agent_recovery_factor = factor;
  absl::StatusOr<absl::Duration> timeout =
      ParseDuration(values.allocator_recovery_timeout);
  if (!timeout.ok()) {
    return FlagError("allocator_recovery_timeout",
                     values.allocator_recovery_timeout,
                     timeout.status().message());
  }
  if (*timeout <= absl::ZeroDuration()) {
    return FlagError("allocator_recovery_timeout",
                     values.allocator_recovery_timeout, "must be positive");
  }
  next.allocator_recovery_timeout = *timeout;
  *options = std::move(next);
  return absl::OkStatus();
}

}  // namespace agora
