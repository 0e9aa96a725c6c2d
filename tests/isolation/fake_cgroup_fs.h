// FakeCgroupFs: an in-memory cgroup2 hierarchy for unit tests of the
// cgroups isolator. It keeps the rules the isolator depends on:
//   - a child has the interface files of the controllers its parent enables
//     in cgroup.subtree_control (plus the core cgroup.* files);
//   - enabling a controller needs it in the cgroup's cgroup.controllers and
//     fails with EBUSY while the cgroup itself holds processes (not root);
//   - writing a pid to cgroup.procs moves it (populated); cgroup.kill
//     empties the cgroup and its descendants;
//   - rmdir fails with EBUSY while populated or with children.
// Faults can be injected: a file whose writes fail, and a number of rmdir
// calls that report EBUSY although the cgroup is empty (killed processes
// still exiting).
#ifndef AGORA_TESTS_ISOLATION_FAKE_CGROUP_FS_H_
#define AGORA_TESTS_ISOLATION_FAKE_CGROUP_FS_H_

#include <errno.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "isolation/cgroup_fs.h"

namespace agora::testing {

class FakeCgroupFs : public CgroupFs {
 public:
  struct Cgroup {
    std::map<std::string, std::string> files;
    std::set<std::string> enabled;  // subtree_control
    std::set<int> procs;
  };

  explicit FakeCgroupFs(std::set<std::string> root_controllers = {
                            "cpu", "io", "memory", "pids"}) {
    Cgroup& root = cgroups_[""];
    root.files["cgroup.controllers"] = absl::StrJoin(root_controllers, " ");
    available_[""] = root_controllers;
  }

  // Every write, in order, as "cgroup/file=value".
  std::vector<std::string> writes;
  // Writes to this file name fail with `fail_errno`.
  std::string fail_file;
  int fail_errno = ENOENT;
  // So many Remove() calls report EBUSY before succeeding.
  int busy_removes = 0;

  std::map<std::string, Cgroup>& cgroups() { return cgroups_; }

  std::string Path(const std::string& cgroup) const override {
    return cgroup.empty() ? "/fake" : "/fake/" + cgroup;
  }
  bool Exists(const std::string& cgroup) const override {
    return cgroups_.count(cgroup) > 0;
  }
  absl::Status Create(const std::string& cgroup) override {
    if (cgroups_.count(cgroup)) {
      return absl::ErrnoToStatus(EEXIST, "mkdir " + cgroup);
    }
    std::string parent = Parent(cgroup);
    if (!cgroups_.count(parent)) {
      return absl::ErrnoToStatus(ENOENT, "mkdir " + cgroup);
    }
    Cgroup& c = cgroups_[cgroup];
    const std::set<std::string>& enabled = cgroups_[parent].enabled;
    available_[cgroup] = enabled;
    c.files["cgroup.controllers"] = absl::StrJoin(enabled, " ");
    c.files["cgroup.events"] = "populated 0\nfrozen 0\n";
    c.files["cpu.stat"] = "usage_usec 0\nuser_usec 0\nsystem_usec 0\n";
    if (enabled.count("cpu")) {
      c.files["cpu.weight"] = "100";
      c.files["cpu.max"] = "max 100000";
      c.files["cpu.stat"] += "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n";
    }
    if (enabled.count("memory")) {
      for (const char* f : {"memory.low", "memory.current"}) c.files[f] = "0";
      c.files["memory.max"] = "max";
      c.files["memory.swap.max"] = "max";
      c.files["memory.events"] = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n";
      c.files["memory.stat"] = "anon 0\nfile 0\nkernel 0\n";
    }
    if (enabled.count("pids")) {
      c.files["pids.max"] = "max";
      c.files["pids.current"] = "0";
    }
    if (enabled.count("io")) c.files["io.weight"] = "default 100";
    return absl::OkStatus();
  }
  absl::Status Remove(const std::string& cgroup) override {
    if (!cgroups_.count(cgroup)) {
      return absl::ErrnoToStatus(ENOENT, "rmdir " + cgroup);
    }
    if (!cgroups_[cgroup].procs.empty() || !ChildNames(cgroup).empty()) {
      return absl::ErrnoToStatus(EBUSY, "rmdir " + cgroup);
    }
    if (busy_removes > 0) {
      --busy_removes;
      return absl::ErrnoToStatus(EBUSY, "rmdir " + cgroup);
    }
    cgroups_.erase(cgroup);
    available_.erase(cgroup);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> Children(
      const std::string& cgroup) const override {
    if (!cgroups_.count(cgroup)) {
      return absl::ErrnoToStatus(ENOENT, "opendir " + cgroup);
    }
    return ChildNames(cgroup);
  }
  absl::StatusOr<std::string> Read(const std::string& cgroup,
                                   const std::string& file) const override {
    auto c = cgroups_.find(cgroup);
    if (c == cgroups_.end()) return absl::ErrnoToStatus(ENOENT, "read");
    if (file == "cgroup.procs") {
      std::string out;
      for (int p : c->second.procs) absl::StrAppend(&out, p, "\n");
      return out;
    }
    if (file == "cgroup.subtree_control") {
      return absl::StrJoin(c->second.enabled, " ") + "\n";
    }
    auto f = c->second.files.find(file);
    if (f == c->second.files.end()) {
      return absl::ErrnoToStatus(ENOENT, absl::StrCat("read ", file));
    }
    return f->second;
  }
  absl::Status Write(const std::string& cgroup, const std::string& file,
                     const std::string& value) override {
    writes.push_back(absl::StrCat(cgroup, "/", file, "=", value));
    auto c = cgroups_.find(cgroup);
    if (c == cgroups_.end()) return absl::ErrnoToStatus(ENOENT, "write");
    if (file == fail_file) {
      return absl::ErrnoToStatus(fail_errno, absl::StrCat("write ", file));
    }
    Cgroup& cg = c->second;
    if (file == "cgroup.procs") {
      int pid = std::stoi(value);
      for (auto& [name, other] : cgroups_) other.procs.erase(pid);
      cg.procs.insert(pid);
      return absl::OkStatus();
    }
    if (file == "cgroup.kill") {
      for (auto& [name, other] : cgroups_) {
        if (name == cgroup || name.rfind(cgroup + "/", 0) == 0) {
          other.procs.clear();
        }
      }
      return absl::OkStatus();
    }
    if (file == "cgroup.subtree_control") {
      for (absl::string_view op : absl::StrSplit(value, ' ')) {
        std::string name(op.substr(1));
        bool available = cgroup.empty()
                             ? available_[""].count(name) > 0
                             : cgroups_[Parent(cgroup)].enabled.count(name) > 0;
        if (!available) {
          return absl::ErrnoToStatus(ENOENT, "subtree_control " + name);
        }
        if (!cgroup.empty() && !cg.procs.empty()) {
          return absl::ErrnoToStatus(EBUSY, "subtree_control");
        }
        if (op[0] == '+') cg.enabled.insert(name);
        if (op[0] == '-') cg.enabled.erase(name);
      }
      return absl::OkStatus();
    }
    if (!cg.files.count(file)) {
      return absl::ErrnoToStatus(ENOENT, absl::StrCat("write ", file));
    }
    cg.files[file] = value;
    return absl::OkStatus();
  }

 private:
  static std::string Parent(const std::string& cgroup) {
    size_t slash = cgroup.rfind('/');
    return slash == std::string::npos ? "" : cgroup.substr(0, slash);
  }
  std::vector<std::string> ChildNames(const std::string& cgroup) const {
    std::vector<std::string> out;
    for (const auto& [name, c] : cgroups_) {
      if (!name.empty() && name != cgroup && Parent(name) == cgroup) {
        out.push_back(name.substr(cgroup.empty() ? 0 : cgroup.size() + 1));
      }
    }
    return out;
  }

  std::map<std::string, Cgroup> cgroups_;
  std::map<std::string, std::set<std::string>> available_;
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_ISOLATION_FAKE_CGROUP_FS_H_
