// Whole-file helpers for the few files a daemon keeps durable (the master's
// local registry, checkpoints): create a directory path, read a file, and
// replace a file atomically so that a crash leaves the old or the new
// content, never a mix.
//
// Thread rule: plain blocking file I/O; never call these on an event loop
// (run them on a worker, e.g. an EventLoop of their own).
#ifndef AGORA_COMMON_FILE_UTIL_H_
#define AGORA_COMMON_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agora {

// Creates `path` and every missing parent (mode 0755), as `mkdir -p`. OK
// when it exists already. Unavailable naming the directory that could not
// be made and why.
absl::Status MakeDirectories(const std::string& path);

// The whole content of `path`. NotFound when it does not exist,
// Unavailable naming the path and cause otherwise.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Replaces `path` with `data`: writes `path`.tmp, fsyncs it, renames it over
// `path` and fsyncs the directory. Unavailable naming the file and cause on
// failure; `path` is then unchanged and the temporary file removed.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data);

}  // namespace agora

#endif  // AGORA_COMMON_FILE_UTIL_H_
