// CheckpointWriter: the agent's checkpoint writes, off its event loop.
// Writes are queued in order and done by a worker (an EventLoop of
// common/); a write is complete (its callback runs) once it is in the
// kernel's page cache, where it survives the agent's own crash. Writes
// asked to be durable (surviving a host crash) are done in batches that
// share their flushes: every file of a batch is written, then one flush
// makes them durable (an fsync per file for a few files, one syncfs(2) of
// the work directory's filesystem for more), then the atomic replaces are
// renamed into place and flushed again. docs/recovery.md says which
// checkpoint files need that, and why most do not.
//
// Order: operations take effect in the order they were queued; a removal
// ends a batch, so nothing queued before it lands after it, and nothing
// queued after it is removed by it.
//
// Thread rule: the Write*, Append, Link and Remove methods on the owner's
// loop (or any one thread); `done` callbacks are posted to the owner's
// loop. Flush() from any thread but the worker (on the owner's loop it
// blocks that loop: start-up and stop only).
#ifndef AGORA_AGENT_CHECKPOINT_WRITER_H_
#define AGORA_AGENT_CHECKPOINT_WRITER_H_

#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/event_loop.h"

namespace agora {

class CheckpointWriter {
 public:
  using Done = std::function<void(const absl::Status&)>;

  // `owner` runs the callbacks and must outlive this; `sync_root` is a
  // directory on the filesystem written to (the agent's work_dir).
  CheckpointWriter(EventLoop* owner, std::string sync_root);
  // Writes what is queued, then stops the worker.
  ~CheckpointWriter();

  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Replaces `path` with `data` atomically (a temporary file renamed over
  // it; its directories are created); with `sync` also durably.
  void WriteAtomically(std::string path, std::string data, bool sync,
                       Done done = nullptr);
  // Appends `data` to `path`; with `sync` durably.
  void Append(std::string path, std::string data, bool sync,
              Done done = nullptr);
  // Points the symlink `path` at `target`, replacing it atomically; with
  // `sync` durably.
  void Link(std::string target, std::string path, bool sync,
            Done done = nullptr);
  // Removes `path` and everything below it.
  void Remove(std::string path, Done done = nullptr);

  // Blocks until everything queued before the call is durable and its
  // callback posted.
  void Flush();

  // Batches written so far (for tests and metrics).
  uint64_t batches() const;

 private:
  enum class Kind { kAtomic, kAppend, kLink, kRemove };
  struct Op {
    Kind kind;
    std::string path;
    std::string data;  // Content, or the link's target.
    bool sync = true;
    Done done;
    absl::Status status;
  };

  void Enqueue(Op op);
  // Worker: takes the whole queue and writes it.
  void Drain();
  // Worker: one batch that contains no removal but perhaps ends with one.
  void WriteBatch(std::vector<Op>& ops);
  // Creates `dir` unless known to exist; adds the parent of what it made
  // to `dirs` (entries to flush).
  absl::Status EnsureDirectory(const std::string& dir,
                               std::set<std::string>* dirs);
  absl::Status SyncPaths(const std::set<std::string>& paths);
  // Forgets the cached directories and files at or below `path`.
  void ForgetUnder(const std::string& path);

  EventLoop* const owner_;
  const std::string sync_root_;

  mutable std::mutex mu_;
  std::deque<Op> queue_ ABSL_GUARDED_BY(mu_);
  bool drain_posted_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t batches_ ABSL_GUARDED_BY(mu_) = 0;

  // Worker only: directories and appended files known to exist.
  std::set<std::string> directories_;
  std::set<std::string> known_files_;
  EventLoop worker_;  // Last: stopped first.
};

}  // namespace agora

#endif  // AGORA_AGENT_CHECKPOINT_WRITER_H_
