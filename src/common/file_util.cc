#include "common/file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace agora {
namespace {

// Closes on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close(2) with its error; the descriptor is gone either way.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "write", path);
    if (n == 0) return ErrnoError(EIO, "write", path);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WriteFd(const std::string& path, int flags, absl::string_view data,
                     bool sync, bool data_only) {
  Fd fd(::open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, 0644));
  if (fd.get() < 0) return ErrnoError(errno, "open", path);
  absl::Status st = WriteAll(fd.get(), data, path);
  if (!st.ok()) return st;
  if (sync && (data_only ? ::fdatasync(fd.get()) : ::fsync(fd.get())) != 0) {
    return ErrnoError(errno, "fsync", path);
  }
  if (fd.Close() != 0) return ErrnoError(errno, "close", path);
  return absl::OkStatus();
}

}  // namespace

absl::Status ErrnoError(int error, absl::string_view what,
                        absl::string_view path) {
  return absl::ErrnoToStatus(error,
                             absl::StrCat("failed to ", what, " '", path, "'"));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "open", path);
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "read", path);
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

absl::Status CreateDirectories(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    std::string partial = path.substr(0, i);
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError(errno, "create directory", partial);
    }
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, absl::string_view data,
                       bool sync) {
  return WriteFd(path, O_CREAT | O_TRUNC, data, sync, /*data_only=*/false);
}

absl::Status AppendToFile(const std::string& path, absl::string_view data,
                          bool sync) {
  return WriteFd(path, O_CREAT | O_APPEND, data, sync, /*data_only=*/true);
}

absl::Status FsyncDirectory(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "open directory", dir);
  if (::fsync(fd.get()) != 0) return ErrnoError(errno, "fsync", dir);
  return absl::OkStatus();
}

std::string TemporaryPathFor(const std::string& path) { return path + ".tmp"; }

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data) {
  const std::string tmp = TemporaryPathFor(path);
  absl::Status st = WriteFile(tmp, data, /*sync=*/true);
  if (st.ok()) st = RenameFile(tmp, path);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDirectory(DirName(path));
}

absl::Status RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("rename '", from, "' to"), to);
  }
  return absl::OkStatus();
}

absl::Status SyncFilesystem(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "open", path);
  if (::syncfs(fd.get()) != 0) return ErrnoError(errno, "syncfs", path);
  return absl::OkStatus();
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace agora
