#include "isolation/isolation_config.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace agora {
namespace {

// Isolator name -> cgroup2 controller.
const std::map<std::string, std::string>& CgroupIsolators() {
  static const auto* m =
      new std::map<std::string, std::string>{{"cgroups/cpu", "cpu"},
                                             {"cgroups/io", "io"},
                                             {"cgroups/mem", "memory"},
                                             {"cgroups/pids", "pids"}};
  return *m;
}

const std::set<std::string>& OtherIsolators() {
  static const auto* s =
      new std::set<std::string>{"posix/cpu", "posix/mem", "filesystem/posix",
                                "namespaces/pid", "filesystem/linux"};
  return *s;
}

}  // namespace

std::vector<std::string> IsolationConfig::Controllers() const {
  std::vector<std::string> out;
  for (const auto& [name, controller] : CgroupIsolators()) {
    if (Has(name)) out.push_back(controller);
  }
  return out;
}

std::string IsolationConfig::ToString() const {
  return absl::StrJoin(isolators, ",");
}

absl::StatusOr<IsolationConfig> ParseIsolation(const std::string& flag) {
  IsolationConfig config;
  for (absl::string_view raw : absl::StrSplit(flag, ',')) {
    std::string name(absl::StripAsciiWhitespace(raw));
    if (name.empty()) continue;
    if (name == "cgroups/all") {
      for (const auto& [n, c] : CgroupIsolators()) config.isolators.insert(n);
    } else if (CgroupIsolators().count(name) || OtherIsolators().count(name)) {
      config.isolators.insert(name);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown isolator '", name,
          "' (known: cgroups/cpu, cgroups/mem, cgroups/pids, cgroups/io, "
          "cgroups/all, posix/cpu, posix/mem, filesystem/posix, "
          "namespaces/pid, filesystem/linux)"));
    }
  }
  if (config.isolators.empty()) {
    return absl::InvalidArgumentError("no isolator named");
  }
  for (const char* resource : {"cpu", "mem"}) {
    if (config.Has(absl::StrCat("posix/", resource)) &&
        config.Has(absl::StrCat("cgroups/", resource))) {
      return absl::InvalidArgumentError(
          absl::StrCat("posix/", resource, " and cgroups/", resource,
                       " cannot be used together"));
    }
  }
  return config;
}

std::string ParentCgroup(const std::string& root) {
  size_t slash = root.rfind('/');
  return slash == std::string::npos ? "" : root.substr(0, slash);
}

absl::StatusOr<std::set<std::string>> AvailableControllers(
    const CgroupFs& fs, const std::string& parent) {
  absl::StatusOr<std::string> content = fs.Read(parent, "cgroup.controllers");
  if (!content.ok()) return content.status();
  std::set<std::string> out;
  for (absl::string_view c :
       absl::StrSplit(*content, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    out.insert(std::string(c));
  }
  return out;
}

absl::StatusOr<IsolationConfig> ResolveIsolation(const std::string& flag,
                                                 const CgroupFs* fs,
                                                 const std::string& hierarchy,
                                                 const std::string& root) {
  const std::string parent = ParentCgroup(root);
  std::set<std::string> available;
  std::string why_none;
  if (fs == nullptr) {
    why_none = absl::StrCat("'", hierarchy, "' is not a cgroup2 mount");
  } else if (!fs->Exists(parent)) {
    why_none = absl::StrCat("cgroup '", fs->Path(parent), "' does not exist");
  } else {
    absl::StatusOr<std::set<std::string>> a = AvailableControllers(*fs, parent);
    if (a.ok()) {
      available = *a;
    } else {
      why_none = std::string(a.status().message());
    }
  }
  if (flag.empty()) {
    bool cgroups = why_none.empty() && available.count("cpu") &&
                   available.count("memory") && available.count("pids");
    return ParseIsolation(cgroups ? "cgroups/cpu,cgroups/mem,cgroups/pids"
                                  : "posix/cpu,posix/mem");
  }
  absl::StatusOr<IsolationConfig> config = ParseIsolation(flag);
  if (!config.ok()) return config.status();
  std::vector<std::string> missing;
  for (const std::string& c : config->Controllers()) {
    if (!available.count(c)) missing.push_back(c);
  }
  if (!missing.empty()) {
    if (!why_none.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--isolation=", flag, " needs the cgroup2 controller(s) ",
          absl::StrJoin(missing, ", "), ", but ", why_none));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "--isolation=", flag, " needs the cgroup2 controller(s) ",
        absl::StrJoin(missing, ", "), ", which '", fs->Path(parent),
        "/cgroup.controllers' does not offer (it has: ",
        available.empty() ? "none" : absl::StrJoin(available, " "), ")"));
  }
  return config;
}

}  // namespace agora
