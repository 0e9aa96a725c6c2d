#include "isolation/cgroup_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace agora {
namespace {

class RealCgroupFs : public CgroupFs {
 public:
  explicit RealCgroupFs(std::string mount_point)
      : mount_point_(std::move(mount_point)) {
    while (mount_point_.size() > 1 && mount_point_.back() == '/') {
      mount_point_.pop_back();
    }
  }

  std::string Path(const std::string& cgroup) const override {
    return cgroup.empty() ? mount_point_
                          : absl::StrCat(mount_point_, "/", cgroup);
  }

  bool Exists(const std::string& cgroup) const override {
    struct stat st;
    return stat(Path(cgroup).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }

  absl::Status Create(const std::string& cgroup) override {
    if (mkdir(Path(cgroup).c_str(), 0755) != 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("failed to create cgroup '", Path(cgroup), "'"));
    }
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& cgroup) override {
    if (rmdir(Path(cgroup).c_str()) != 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("failed to remove cgroup '", Path(cgroup), "'"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> Children(
      const std::string& cgroup) const override {
    DIR* dir = opendir(Path(cgroup).c_str());
    if (dir == nullptr) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("failed to list cgroup '", Path(cgroup), "'"));
    }
    std::vector<std::string> out;
    while (struct dirent* e = readdir(dir)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (e->d_type == DT_DIR) out.push_back(name);
    }
    closedir(dir);
    return out;
  }

  absl::StatusOr<std::string> Read(const std::string& cgroup,
                                   const std::string& file) const override {
    std::string path = absl::StrCat(Path(cgroup), "/", file);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::ErrnoToStatus(errno,
                                 absl::StrCat("failed to read '", path, "'"));
    }
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int error = errno;
        close(fd);
        return absl::ErrnoToStatus(error,
                                   absl::StrCat("failed to read '", path, "'"));
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return out;
  }

  absl::Status Write(const std::string& cgroup, const std::string& file,
                     const std::string& value) override {
    std::string path = absl::StrCat(Path(cgroup), "/", file);
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("failed to open '", path, "' for writing"));
    }
    ssize_t n;
    do {
      n = write(fd, value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    int error = errno;
    close(fd);
    if (n < 0) {
      return absl::ErrnoToStatus(
          error, absl::StrCat("failed to write '", value, "' to '", path, "'"));
    }
    return absl::OkStatus();
  }

 private:
  std::string mount_point_;
};

}  // namespace

std::unique_ptr<CgroupFs> NewRealCgroupFs(std::string mount_point) {
  return std::make_unique<RealCgroupFs>(std::move(mount_point));
}

bool IsCgroup2Mount(const std::string& path) {
  struct statfs fs;
  return statfs(path.c_str(), &fs) == 0 &&
         static_cast<unsigned long>(fs.f_type) == CGROUP2_SUPER_MAGIC;
}

absl::StatusOr<std::string> OwnCgroup2Path() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "0::")) {
      absl::string_view path = absl::string_view(line).substr(3);
      while (!path.empty() && path.front() == '/') path.remove_prefix(1);
      return std::string(path);
    }
  }
  return absl::NotFoundError("no cgroup2 line in /proc/self/cgroup");
}

std::string JoinCgroup(const std::string& parent, const std::string& child) {
  if (parent.empty()) return child;
  if (child.empty()) return parent;
  return absl::StrCat(parent, "/", child);
}

}  // namespace agora
