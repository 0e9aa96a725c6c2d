#include "common/flags_util.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

namespace agora {

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (t.empty()) return absl::InvalidArgumentError("empty duration");
  size_t unit_at = 0;
  while (unit_at < t.size() &&
         (absl::ascii_isdigit(static_cast<unsigned char>(t[unit_at])) ||
          t[unit_at] == '.' || t[unit_at] == '-' || t[unit_at] == '+')) {
    ++unit_at;
  }
  std::string number = t.substr(0, unit_at);
  std::string unit = t.substr(unit_at);
  double v;
  struct Unit {
    const char* name;
    absl::Duration d;
  };
  static const Unit kUnits[] = {
      {"ns", absl::Nanoseconds(1)},   {"us", absl::Microseconds(1)},
      {"ms", absl::Milliseconds(1)},  {"secs", absl::Seconds(1)},
      {"sec", absl::Seconds(1)},      {"s", absl::Seconds(1)},
      {"mins", absl::Minutes(1)},     {"min", absl::Minutes(1)},
      {"hrs", absl::Hours(1)},        {"hr", absl::Hours(1)},
      {"h", absl::Hours(1)},          {"days", absl::Hours(24)},
      {"day", absl::Hours(24)},       {"d", absl::Hours(24)},
      {"weeks", absl::Hours(24 * 7)}, {"week", absl::Hours(24 * 7)},
      {"w", absl::Hours(24 * 7)},     {"", absl::Seconds(1)},
  };
  if (absl::SimpleAtod(number, &v)) {
    for (const Unit& u : kUnits) {
      if (unit == u.name) {
        if (std::isnan(v) || v < 0) break;
        return v * u.d;
      }
    }
  }
  // abseil's compound form: "1m30s", "1.5h", and "m" for minutes.
  absl::Duration d;
  if (absl::ParseDuration(t, &d) && d >= absl::ZeroDuration()) return d;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid duration '", text,
                   "': expected a number and a unit such as 100ms, 15secs, "
                   "10mins, 2hrs, 1days"));
}

std::string FormatMesosDuration(absl::Duration d) {
  absl::Duration rem;
  struct Unit {
    absl::Duration d;
    const char* suffix;
  };
  static const Unit kUnits[] = {
      {absl::Hours(24 * 7), "weeks"}, {absl::Hours(24), "days"},
      {absl::Hours(1), "hrs"},        {absl::Minutes(1), "mins"},
      {absl::Seconds(1), "secs"},     {absl::Milliseconds(1), "ms"},
      {absl::Microseconds(1), "us"}};
  for (const Unit& u : kUnits) {
    if (d >= u.d) {
      int64_t n = absl::IDivDuration(d, u.d, &rem);
      if (rem == absl::ZeroDuration()) return absl::StrCat(n, u.suffix);
      return absl::StrCat(absl::FDivDuration(d, u.d), u.suffix);
    }
  }
  return absl::StrCat(absl::ToInt64Nanoseconds(d), "ns");
}

absl::Status LoadFlagsFromEnvironment(int argc, char** argv) {
  std::set<std::string> given;
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    if (!absl::StartsWith(a, "-")) continue;
    while (absl::StartsWith(a, "-")) a.remove_prefix(1);
    std::string name(a.substr(0, a.find('=')));
    given.insert(name);
    if (absl::StartsWith(name, "no")) given.insert(name.substr(2));
  }
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const auto& f : flags) {
    if (given.count(f.name)) continue;
    std::string var = absl::StrCat("AGORA_", absl::AsciiStrToUpper(f.name));
    const char* value = std::getenv(var.c_str());
    if (value == nullptr) continue;
    if (gflags::SetCommandLineOption(f.name.c_str(), value).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value '", value, "' in ", var));
    }
  }
  return absl::OkStatus();
}

absl::Status WritePortFile(const std::string& path, int grpc_port,
                           int http_port) {
  return WriteFileAtomically(
      path, absl::StrCat("grpc=", grpc_port, "\nhttp=", http_port, "\n"));
}

void InitLogging(const char* argv0) {
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv0);
}

}  // namespace agora
