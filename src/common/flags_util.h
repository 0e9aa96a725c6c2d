// Helpers for main.cc files: durations in Mesos's spelling, flags from the
// environment (AGORA_<FLAG>), the port file, and logging set-up.
#ifndef AGORA_COMMON_FLAGS_UTIL_H_
#define AGORA_COMMON_FLAGS_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace agora {

// Parses "100ms", "15secs", "10mins", "2hrs", "1days", "3weeks" (Mesos) and
// "100ms", "15s", "1m30s", "2h" (abseil). A bare number means seconds.
// InvalidArgument for anything else, for negative values, and for NaN.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// Mesos's form of a duration: "1secs", "500ms", "15mins".
std::string FormatMesosDuration(absl::Duration d);

// For every registered gflag without a value on the command line, takes its
// value from the environment variable AGORA_<FLAG> (upper case) when set.
// Call before gflags::ParseCommandLineFlags. Returns InvalidArgument naming
// the variable when a value does not parse.
absl::Status LoadFlagsFromEnvironment(int argc, char** argv);

// Writes "grpc=<grpc_port>\nhttp=<http_port>\n" to `path` atomically
// (WriteFileAtomically), so a reader never sees half a file.
absl::Status WritePortFile(const std::string& path, int grpc_port,
                           int http_port);

// glog to stderr, with the program name; call first in main().
void InitLogging(const char* argv0);

}  // namespace agora

#endif  // AGORA_COMMON_FLAGS_UTIL_H_
