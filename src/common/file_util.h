// File helpers shared by the daemons and the executor: whole-file reads and
// writes that keep errno in the status, and the one atomic replace every
// checkpoint, registry and port file goes through (write a temporary file
// beside the target, fsync it, rename it over the target, fsync the
// directory), so that a crash leaves the old or the new content, never a
// mix. A batch of writes can share one flush (SyncFilesystem) instead of
// one fsync each.
//
// Thread rule: plain functions doing blocking file I/O. A daemon calls them
// at start-up or from a worker thread, never from its event loop.
#ifndef AGORA_COMMON_FILE_UTIL_H_
#define AGORA_COMMON_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agora {

// absl::ErrnoToStatus(error, "failed to <what> '<path>'"): the code follows
// errno (NotFound for ENOENT, PermissionDenied for EACCES, ...).
absl::Status ErrnoError(int error, absl::string_view what,
                        absl::string_view path);

// The whole content of `path`. NotFound when it does not exist; other
// errno-derived codes when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// mkdir -p with mode 0755. OK when it exists already.
absl::Status CreateDirectories(const std::string& path);

// Creates or truncates `path` and writes `data`; with `sync`, fsyncs it.
absl::Status WriteFile(const std::string& path, absl::string_view data,
                       bool sync);

// Appends `data` to `path` (created 0644 when missing); with `sync`,
// fdatasyncs it.
absl::Status AppendToFile(const std::string& path, absl::string_view data,
                          bool sync);

// fsync of a directory, which makes the creations, renames and removals of
// entries in it durable.
absl::Status FsyncDirectory(const std::string& dir);

// The temporary file WriteFileAtomically writes first: "<path>.tmp". One
// writer per path at a time.
std::string TemporaryPathFor(const std::string& path);

// Replaces `path` with `data` atomically and durably: TemporaryPathFor(path)
// is written and fsynced, renamed over `path`, and the directory fsynced.
// On failure `path` is unchanged and the temporary file removed; the error
// names the file and the step.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data);

// Renames `from` over `to` (the second half of an atomic replace whose
// temporary file was written and synced by the caller).
absl::Status RenameFile(const std::string& from, const std::string& to);

// Flushes every dirty page and inode of the filesystem holding `path`
// (syncfs(2)): one call for a batch of writes.
absl::Status SyncFilesystem(const std::string& path);

// The directory part of `path` ("." when it has none).
std::string DirName(const std::string& path);

}  // namespace agora

#endif  // AGORA_COMMON_FILE_UTIL_H_
