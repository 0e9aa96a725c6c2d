#include "agent/checkpoint_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <map>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "glog/logging.h"

namespace agora {
namespace {

// Up to this many paths get an fsync each; more share one syncfs, which
// flushes the whole filesystem at about the cost of a few fsyncs.
constexpr size_t kMaxSeparateSyncs = 4;

}  // namespace

CheckpointWriter::CheckpointWriter(EventLoop* owner, std::string sync_root)
    : owner_(owner), sync_root_(std::move(sync_root)), worker_("checkpoint") {
  worker_.Start();
}

CheckpointWriter::~CheckpointWriter() {
  Flush();
  worker_.Stop();
}

void CheckpointWriter::WriteAtomically(std::string path, std::string data,
                                       bool sync, Done done) {
  Enqueue(Op{Kind::kAtomic, std::move(path), std::move(data), sync,
             std::move(done), absl::OkStatus()});
}

void CheckpointWriter::Append(std::string path, std::string data, bool sync,
                              Done done) {
  Enqueue(Op{Kind::kAppend, std::move(path), std::move(data), sync,
             std::move(done), absl::OkStatus()});
}

void CheckpointWriter::Link(std::string target, std::string path, bool sync,
                            Done done) {
  Enqueue(Op{Kind::kLink, std::move(path), std::move(target), sync,
             std::move(done), absl::OkStatus()});
}

void CheckpointWriter::Remove(std::string path, Done done) {
  Enqueue(Op{Kind::kRemove, std::move(path), "", true, std::move(done),
             absl::OkStatus()});
}

void CheckpointWriter::Enqueue(Op op) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(op));
  if (drain_posted_) return;
  drain_posted_ = true;
  worker_.Post([this] { Drain(); });
}

void CheckpointWriter::Flush() {
  std::promise<void> flushed;
  worker_.Post([&flushed] { flushed.set_value(); });
  flushed.get_future().wait();
}

uint64_t CheckpointWriter::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

void CheckpointWriter::Drain() {
  std::deque<Op> taken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    taken.swap(queue_);
    drain_posted_ = false;
  }
  std::vector<Op> batch;
  for (Op& op : taken) {
    if (op.kind != Kind::kRemove) {
      batch.push_back(std::move(op));
      continue;
    }
    WriteBatch(batch);  // Everything before the removal lands first.
    batch.clear();
    std::error_code ec;
    std::filesystem::remove_all(op.path, ec);
    if (ec) op.status = ErrnoError(ec.value(), "remove", op.path);
    ForgetUnder(op.path);
    batch.push_back(std::move(op));
    WriteBatch(batch);  // Only posts its callback.
    batch.clear();
  }
  WriteBatch(batch);
}

void CheckpointWriter::ForgetUnder(const std::string& path) {
  for (std::set<std::string>* known : {&directories_, &known_files_}) {
    auto it = known->lower_bound(path);
    while (it != known->end() && it->compare(0, path.size(), path) == 0 &&
           (it->size() == path.size() || (*it)[path.size()] == '/')) {
      it = known->erase(it);
    }
  }
}

absl::Status CheckpointWriter::EnsureDirectory(const std::string& dir,
                                               std::set<std::string>* dirs) {
  if (directories_.count(dir)) return absl::OkStatus();
  bool existed = ::access(dir.c_str(), F_OK) == 0;
  if (!existed) {
    absl::Status st = CreateDirectories(dir);
    if (!st.ok()) return st;
    // A new directory's entry lives in its parent (the parents above
    // that, when new too, are covered by the filesystem flush that many
    // new entries lead to, or were made by an earlier batch).
    dirs->insert(DirName(dir));
  }
  directories_.insert(dir);
  return absl::OkStatus();
}

absl::Status CheckpointWriter::SyncPaths(const std::set<std::string>& paths) {
  if (paths.empty()) return absl::OkStatus();
  if (paths.size() > kMaxSeparateSyncs) return SyncFilesystem(sync_root_);
  for (const std::string& path : paths) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, "open", path);
    int rc = ::fsync(fd);
    int error = errno;
    ::close(fd);
    if (rc != 0) return ErrnoError(error, "fsync", path);
  }
  return absl::OkStatus();
}

void CheckpointWriter::WriteBatch(std::vector<Op>& ops) {
  if (ops.empty()) return;
  // `data`: files whose content must be flushed; `dirs`: directories whose
  // entries must (new files, renames), both for durable operations only.
  std::set<std::string> data, dirs, unused;
  bool replaces = false;
  // A file replaced twice in one batch: only the last replace is written
  // (they share the temporary file); the earlier ones are superseded.
  std::map<std::string, size_t> last;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].kind == Kind::kAtomic || ops[i].kind == Kind::kLink) {
      last[ops[i].path] = i;
    }
  }
  auto superseded = [&](size_t i) {
    auto it = last.find(ops[i].path);
    return it != last.end() && it->second != i;
  };
  for (size_t i = 0; i < ops.size(); ++i) {
    Op& op = ops[i];
    if (op.kind == Kind::kRemove || superseded(i)) continue;
    const std::string dir = DirName(op.path);
    op.status = EnsureDirectory(dir, op.sync ? &dirs : &unused);
    if (!op.status.ok()) continue;
    if (op.kind == Kind::kAtomic) {
      const std::string tmp = TemporaryPathFor(op.path);
      op.status = WriteFile(tmp, op.data, /*sync=*/false);
      if (op.sync) data.insert(tmp);
    } else if (op.kind == Kind::kLink) {
      const std::string tmp = TemporaryPathFor(op.path);
      ::unlink(tmp.c_str());
      if (::symlink(op.data.c_str(), tmp.c_str()) != 0) {
        op.status = ErrnoError(errno, "create symlink", tmp);
      }
    } else {
      op.status = AppendToFile(op.path, op.data, /*sync=*/false);
      if (op.sync) data.insert(op.path);
      if (known_files_.insert(op.path).second && op.sync) dirs.insert(dir);
    }
    if (op.kind != Kind::kAppend && op.sync) {
      dirs.insert(dir);
      replaces = true;
    }
  }
  // File contents first; with no replace to follow, the entries too.
  if (!replaces) data.insert(dirs.begin(), dirs.end());
  absl::Status flushed = SyncPaths(data);
  for (size_t i = 0; i < ops.size(); ++i) {
    Op& op = ops[i];
    if (!op.status.ok() || op.kind == Kind::kRemove || superseded(i)) continue;
    if (!flushed.ok() && op.sync) {
      op.status = flushed;
    } else if (op.kind == Kind::kAtomic || op.kind == Kind::kLink) {
      op.status = RenameFile(TemporaryPathFor(op.path), op.path);
    }
  }
  if (replaces) {
    absl::Status st = SyncPaths(dirs);
    for (Op& op : ops) {
      if (op.status.ok() && op.kind != Kind::kRemove && op.sync) op.status = st;
    }
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    if (superseded(i)) ops[i].status = ops[last[ops[i].path]].status;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++batches_;
  }
  for (Op& op : ops) {
    if (!op.status.ok()) {
      LOG(ERROR) << "Checkpoint write of " << op.path
                 << " failed: " << op.status;
    }
    if (op.done) {
      owner_->Post(
          [done = std::move(op.done), status = op.status] { done(status); });
    }
  }
}

}  // namespace agora
