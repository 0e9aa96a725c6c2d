#include "master/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace agora {
namespace {

class InMemoryRegistry : public Registry {
 public:
  absl::StatusOr<internal::Registry> Recover() override { return state_; }
  absl::Status Store(const internal::Registry& state) override {
    state_ = state;
    return absl::OkStatus();
  }
  std::string Describe() const override { return "in_memory"; }

 private:
  internal::Registry state_;
};

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat("registry: failed to ", what, " '",
                                             path, "': ", strerror(errno)));
}

// Writes all of `data` to `fd`, retrying short writes.
bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class LocalRegistry : public Registry {
 public:
  explicit LocalRegistry(std::string path) : path_(std::move(path)) {}

  absl::StatusOr<internal::Registry> Recover() override {
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return internal::Registry();
      return ErrnoError("open", path_);
    }
    std::string data;
    char buf[65536];
    while (true) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        absl::Status status = ErrnoError("read", path_);
        ::close(fd);
        return status;
      }
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    internal::Registry state;
    if (!state.ParseFromString(data)) {
      return absl::DataLossError(absl::StrCat("registry: '", path_,
                                              "' is corrupt (", data.size(),
                                              " bytes that do not parse)"));
    }
    return state;
  }

  absl::Status Store(const internal::Registry& state) override {
    const std::string tmp = path_ + ".tmp";
    int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoError("create", tmp);
    if (!WriteAll(fd, state.SerializeAsString()) || ::fsync(fd) != 0) {
      absl::Status status = ErrnoError("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return status;
    }
    if (::close(fd) != 0) return ErrnoError("close", tmp);
    if (::rename(tmp.c_str(), path_.c_str()) != 0) {
      absl::Status status = ErrnoError("rename into", path_);
      ::unlink(tmp.c_str());
      return status;
    }
    // Make the rename itself durable.
    int dir =
        ::open(DirName(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    return absl::OkStatus();
  }

  std::string Describe() const override {
    return absl::StrCat("local file ", path_);
  }

 private:
  const std::string path_;
};

}  // namespace

std::unique_ptr<Registry> NewInMemoryRegistry() {
  return std::make_unique<InMemoryRegistry>();
}

std::unique_ptr<Registry> NewLocalRegistry(std::string path) {
  return std::make_unique<LocalRegistry>(std::move(path));
}

}  // namespace agora
