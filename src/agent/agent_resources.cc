#include "agent/agent_resources.h"

#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace agora {
namespace {

constexpr uint64_t kMB = 1024 * 1024;
constexpr uint64_t kGB = 1024 * kMB;

// Every resource name the flag mentions, even with a zero value (which
// Resources drops).
std::set<std::string> NamesInFlag(absl::string_view flag) {
  std::set<std::string> names;
  absl::string_view trimmed = absl::StripAsciiWhitespace(flag);
  if (absl::StartsWith(trimmed, "[")) {
    nlohmann::json j =
        nlohmann::json::parse(std::string(trimmed), nullptr, false);
    if (!j.is_array()) return names;
    for (const auto& r : j) {
      if (r.is_object() && r.contains("name") && r["name"].is_string()) {
        names.insert(r["name"].get<std::string>());
      }
    }
    return names;
  }
  for (absl::string_view entry : absl::StrSplit(trimmed, ';')) {
    entry = absl::StripAsciiWhitespace(entry);
    size_t end = entry.find_first_of("(:");
    if (end == absl::string_view::npos) continue;
    names.insert(std::string(absl::StripAsciiWhitespace(entry.substr(0, end))));
  }
  return names;
}

uint64_t DefaultMemMB(const SystemResources& system) {
  if (!system.mem_bytes) return kGB / kMB;
  uint64_t total = *system.mem_bytes;
  return (total >= 2 * kGB ? total - kGB : total / 2) / kMB;
}

uint64_t DefaultDiskMB(const SystemResources& system) {
  if (!system.disk_bytes) return 10 * kGB / kMB;
  uint64_t total = *system.disk_bytes;
  return (total >= 10 * kGB ? total - 5 * kGB : total / 2) / kMB;
}

absl::StatusOr<mesos::v1::Value::Ranges> ParseRanges(absl::string_view entry,
                                                     absl::string_view body) {
  mesos::v1::Value::Ranges ranges;
  for (absl::string_view item : absl::StrSplit(body, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> bounds =
        absl::StrSplit(absl::StripAsciiWhitespace(item), '-');
    uint64_t begin, end;
    if (!absl::SimpleAtoi(bounds.first, &begin) ||
        !absl::SimpleAtoi(bounds.second, &end) || begin > end) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid attribute '", entry, "': bad range '", item, "'"));
    }
    auto* range = ranges.add_range();
    range->set_begin(begin);
    range->set_end(end);
  }
  return ranges;
}

bool ParseScalar(absl::string_view value, double* out) {
  if (value.empty()) return false;
  char c = value[0];
  if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '.' &&
      c != '-' && c != '+') {
    return false;
  }
  return absl::SimpleAtod(value, out) && std::isfinite(*out);
}

absl::StatusOr<mesos::v1::Attribute> ParseAttribute(absl::string_view entry) {
  size_t colon = entry.find(':');
  absl::string_view name = absl::StripAsciiWhitespace(entry.substr(0, colon));
  absl::string_view value =
      colon == absl::string_view::npos
          ? absl::string_view()
          : absl::StripAsciiWhitespace(entry.substr(colon + 1));
  if (name.empty() || value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid attribute '", entry, "': expected name:value"));
  }
  mesos::v1::Attribute a;
  a.set_name(std::string(name));
  double scalar;
  if (absl::StartsWith(value, "[") && absl::EndsWith(value, "]")) {
    a.set_type(mesos::v1::Value::RANGES);
    AGORA_ASSIGN_OR_RETURN(
        *a.mutable_ranges(),
        ParseRanges(entry, value.substr(1, value.size() - 2)));
  } else if (absl::StartsWith(value, "{") && absl::EndsWith(value, "}")) {
    a.set_type(mesos::v1::Value::SET);
    for (absl::string_view item : absl::StrSplit(
             value.substr(1, value.size() - 2), ',', absl::SkipEmpty())) {
      a.mutable_set()->add_item(std::string(absl::StripAsciiWhitespace(item)));
    }
  } else if (ParseScalar(value, &scalar)) {
    a.set_type(mesos::v1::Value::SCALAR);
    a.mutable_scalar()->set_value(scalar);
  } else if (value.find_first_of("[]{},") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid attribute '", entry, "': unbalanced range or set"));
  } else {
    a.set_type(mesos::v1::Value::TEXT);
    a.mutable_text()->set_value(std::string(value));
  }
  return a;
}

}  // namespace

SystemResources ProbeSystemResources(const std::string& work_dir) {
  SystemResources system;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus > 0) system.cpus = static_cast<int>(cpus);
  struct sysinfo info;
  if (sysinfo(&info) == 0) {
    system.mem_bytes = static_cast<uint64_t>(info.totalram) * info.mem_unit;
  }
  struct statvfs fs;
  if (statvfs(work_dir.c_str(), &fs) == 0) {
    system.disk_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
  }
  return system;
}

absl::StatusOr<Resources> AgentResources(absl::string_view flag,
                                         const SystemResources& system) {
  Resources resources;
  if (!absl::StripAsciiWhitespace(flag).empty()) {
    AGORA_ASSIGN_OR_RETURN(resources, Resources::Parse(flag));
  }
  std::set<std::string> named = NamesInFlag(flag);
  std::vector<std::string> defaults;
  if (!named.count("cpus")) {
    defaults.push_back(absl::StrCat("cpus:", system.cpus.value_or(1)));
  }
  if (!named.count("mem")) {
    defaults.push_back(absl::StrCat("mem:", DefaultMemMB(system)));
  }
  if (!named.count("disk")) {
    defaults.push_back(absl::StrCat("disk:", DefaultDiskMB(system)));
  }
  if (!named.count("ports")) defaults.push_back("ports:[31000-32000]");
  if (!defaults.empty()) {
    AGORA_ASSIGN_OR_RETURN(Resources detected,
                           Resources::Parse(absl::StrJoin(defaults, ";")));
    resources += detected;
  }
  return resources;
}

absl::StatusOr<std::vector<mesos::v1::Attribute>> ParseAttributes(
    absl::string_view text) {
  std::vector<mesos::v1::Attribute> attributes;
  for (absl::string_view entry : absl::StrSplit(text, absl::ByAnyChar(";\n"))) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) continue;
    AGORA_ASSIGN_OR_RETURN(mesos::v1::Attribute a, ParseAttribute(entry));
    attributes.push_back(std::move(a));
  }
  return attributes;
}

std::string AttributeValueString(const mesos::v1::Attribute& a) {
  switch (a.type()) {
    case mesos::v1::Value::SCALAR:
      return Scalar::FromDouble(a.scalar().value()).ToString();
    case mesos::v1::Value::RANGES: {
      std::vector<std::string> parts;
      for (const auto& r : a.ranges().range()) {
        parts.push_back(absl::StrCat(r.begin(), "-", r.end()));
      }
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
    case mesos::v1::Value::SET:
      return absl::StrCat("{", absl::StrJoin(a.set().item(), ","), "}");
    case mesos::v1::Value::TEXT:
      return a.text().value();
  }
  return "";
}

}  // namespace agora
