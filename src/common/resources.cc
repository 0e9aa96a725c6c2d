#include "common/resources.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace agora {

// --- Scalar ----------------------------------------------------------------

Scalar Scalar::FromDouble(double v) {
  return Scalar(static_cast<int64_t>(std::llround(v * 1000.0)));
}

std::string Scalar::ToString() const {
  int64_t whole = millis_ / 1000;
  int64_t frac = std::llabs(millis_ % 1000);
  std::string out;
  if (millis_ < 0 && whole == 0) out = "-";
  absl::StrAppend(&out, whole);
  if (frac != 0) {
    std::string digits = absl::StrCat(frac + 1000).substr(1);  // 3 digits.
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    absl::StrAppend(&out, ".", digits);
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, Scalar s) {
  return os << s.ToString();
}

// --- Ranges ----------------------------------------------------------------

Ranges::Ranges(std::vector<Range> ranges) : ranges_(std::move(ranges)) {
  Normalize();
}

void Ranges::Normalize() {
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  std::vector<Range> out;
  for (const Range& r : ranges_) {
    if (!out.empty() && r.begin <= out.back().end + 1) {
      out.back().end = std::max(out.back().end, r.end);
    } else {
      out.push_back(r);
    }
  }
  ranges_ = std::move(out);
}

uint64_t Ranges::Count() const {
  uint64_t n = 0;
  for (const Range& r : ranges_) n += r.end - r.begin + 1;
  return n;
}

void Ranges::Add(const Ranges& o) {
  ranges_.insert(ranges_.end(), o.ranges_.begin(), o.ranges_.end());
  Normalize();
}

void Ranges::Subtract(const Ranges& o) {
  std::vector<Range> out;
  for (Range r : ranges_) {
    bool gone = false;
    for (const Range& s : o.ranges_) {
      if (s.end < r.begin || s.begin > r.end) continue;
      if (s.begin > r.begin) out.push_back({r.begin, s.begin - 1});
      if (s.end >= r.end) {
        gone = true;
        break;
      }
      r.begin = s.end + 1;
    }
    if (!gone) out.push_back(r);
  }
  ranges_ = std::move(out);
  Normalize();
}

bool Ranges::Contains(const Ranges& o) const {
  for (const Range& s : o.ranges_) {
    bool inside = false;
    for (const Range& r : ranges_) {
      if (r.begin <= s.begin && s.end <= r.end) {
        inside = true;
        break;
      }
    }
    if (!inside) return false;
  }
  return true;
}

std::string Ranges::ToString() const {
  return absl::StrCat(
      "[",
      absl::StrJoin(ranges_, ", ",
                    [](std::string* out, const Range& r) {
                      absl::StrAppend(out, r.begin, "-", r.end);
                    }),
      "]");
}

// --- Resource --------------------------------------------------------------

const std::string& Resource::ReservationRole() const {
  static const std::string* const kStar = new std::string("*");
  return reservations.empty() ? *kStar : reservations.back().role;
}

bool Resource::IsEmpty() const {
  switch (kind) {
    case Kind::kScalar:
      return scalar.millis() <= 0;
    case Kind::kRanges:
      return ranges.empty();
    case Kind::kSet:
      return set.empty();
  }
  return true;
}

bool Resource::SameIdentity(const Resource& o) const {
  return name == o.name && kind == o.kind && revocable == o.revocable &&
         allocation_role == o.allocation_role &&
         reservations == o.reservations;
}

std::string Resource::ToString() const {
  std::string out = name;
  if (!reservations.empty()) absl::StrAppend(&out, "(", ReservationRole(), ")");
  if (revocable) absl::StrAppend(&out, "{REV}");
  absl::StrAppend(&out, ":");
  switch (kind) {
    case Kind::kScalar:
      absl::StrAppend(&out, scalar.ToString());
      break;
    case Kind::kRanges:
      absl::StrAppend(&out, ranges.ToString());
      break;
    case Kind::kSet:
      absl::StrAppend(&out, "{", absl::StrJoin(set, ","), "}");
      break;
  }
  return out;
}

// --- Resources -------------------------------------------------------------

Resources::Resources(std::initializer_list<Resource> items) {
  for (const Resource& r : items) *this += r;
}

Resources& Resources::operator+=(const Resource& r) {
  if (r.IsEmpty()) return *this;
  for (Resource& mine : items_) {
    if (!mine.SameIdentity(r)) continue;
    switch (r.kind) {
      case Resource::Kind::kScalar:
        mine.scalar += r.scalar;
        break;
      case Resource::Kind::kRanges:
        mine.ranges.Add(r.ranges);
        break;
      case Resource::Kind::kSet:
        mine.set.insert(r.set.begin(), r.set.end());
        break;
    }
    return *this;
  }
  items_.push_back(r);
  return *this;
}

Resources& Resources::operator+=(const Resources& o) {
  for (const Resource& r : o.items_) *this += r;
  return *this;
}

Resources& Resources::operator-=(const Resource& r) {
  for (auto it = items_.begin(); it != items_.end(); ++it) {
    if (!it->SameIdentity(r)) continue;
    switch (r.kind) {
      case Resource::Kind::kScalar:
        it->scalar -= r.scalar;
        break;
      case Resource::Kind::kRanges:
        it->ranges.Subtract(r.ranges);
        break;
      case Resource::Kind::kSet:
        for (const std::string& item : r.set) it->set.erase(item);
        break;
    }
    if (it->IsEmpty()) items_.erase(it);
    return *this;
  }
  return *this;
}

Resources& Resources::operator-=(const Resources& o) {
  for (const Resource& r : o.items_) *this -= r;
  return *this;
}

bool Resources::Contains(const Resource& r) const {
  if (r.IsEmpty()) return true;
  for (const Resource& mine : items_) {
    if (!mine.SameIdentity(r)) continue;
    switch (r.kind) {
      case Resource::Kind::kScalar:
        return mine.scalar >= r.scalar;
      case Resource::Kind::kRanges:
        return mine.ranges.Contains(r.ranges);
      case Resource::Kind::kSet:
        return std::includes(mine.set.begin(), mine.set.end(), r.set.begin(),
                             r.set.end());
    }
  }
  return false;
}

bool Resources::Contains(const Resources& o) const {
  for (const Resource& r : o.items_) {
    if (!Contains(r)) return false;
  }
  return true;
}

bool operator==(const Resources& a, const Resources& b) {
  return a.Contains(b) && b.Contains(a);
}

Scalar Resources::GetScalar(absl::string_view name) const {
  Scalar sum;
  for (const Resource& r : items_) {
    if (r.kind == Resource::Kind::kScalar && r.name == name) sum += r.scalar;
  }
  return sum;
}

std::vector<std::string> Resources::ScalarNames() const {
  std::set<std::string> names;
  for (const Resource& r : items_) {
    if (r.kind == Resource::Kind::kScalar) names.insert(r.name);
  }
  return {names.begin(), names.end()};
}

namespace {
template <typename Pred>
Resources Filter(const std::vector<Resource>& items, Pred pred) {
  Resources out;
  for (const Resource& r : items) {
    if (pred(r)) out += r;
  }
  return out;
}
}  // namespace

Resources Resources::Unreserved() const {
  return Filter(items_, [](const Resource& r) { return r.IsUnreserved(); });
}

Resources Resources::ReservedTo(absl::string_view role) const {
  return Filter(items_, [role](const Resource& r) {
    return !r.IsUnreserved() && r.ReservationRole() == role;
  });
}

Resources Resources::Revocable() const {
  return Filter(items_, [](const Resource& r) { return r.revocable; });
}

Resources Resources::NonRevocable() const {
  return Filter(items_, [](const Resource& r) { return !r.revocable; });
}

Resources Resources::Scalars() const {
  return Filter(items_, [](const Resource& r) {
    return r.kind == Resource::Kind::kScalar;
  });
}

Resources Resources::NonScalars() const {
  return Filter(items_, [](const Resource& r) {
    return r.kind != Resource::Kind::kScalar;
  });
}

Resources Resources::AllocatedTo(absl::string_view role) && {
  for (const Resource& r : items_) {
    if (r.allocation_role != items_.front().allocation_role) {
      return static_cast<const Resources&>(*this).AllocatedTo(role);
    }
  }
  // Distinct resources with one allocation role stay distinct with another.
  for (Resource& r : items_) r.allocation_role = std::string(role);
  return std::move(*this);
}

Resources Resources::AllocatedTo(absl::string_view role) const& {
  Resources out;
  for (Resource r : items_) {
    r.allocation_role = std::string(role);
    out += r;
  }
  return out;
}

Resources Resources::AllocatableTo(absl::string_view role) const {
  return Filter(items_, [role](const Resource& r) {
    return r.IsUnreserved() || IsRoleOrDescendant(role, r.ReservationRole());
  });
}

std::string Resources::ToString() const {
  return absl::StrJoin(items_, "; ", [](std::string* out, const Resource& r) {
    absl::StrAppend(out, r.ToString());
  });
}

std::ostream& operator<<(std::ostream& os, const Resources& r) {
  return os << r.ToString();
}

// --- Roles -------------------------------------------------------------------

bool IsRoleOrDescendant(absl::string_view role, absl::string_view ancestor) {
  if (role == ancestor) return true;
  if (ancestor == "*") return false;
  return role.size() > ancestor.size() &&
         role.substr(0, ancestor.size()) == ancestor &&
         role[ancestor.size()] == '/';
}

absl::Status ValidateRole(absl::string_view role) {
  if (role == "*") return absl::OkStatus();
  if (role.empty()) return absl::InvalidArgumentError("role is empty");
  if (role.front() == '/' || role.back() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("role '", role, "' starts or ends with '/'"));
  }
  for (absl::string_view part : absl::StrSplit(role, '/')) {
    if (part.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("role '", role, "' has an empty component"));
    }
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("role '", role, "' has a '.' or '..' component"));
    }
    if (part.front() == '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("role '", role, "' has a component starting with '-'"));
    }
    if (part == "*") {
      return absl::InvalidArgumentError(
          absl::StrCat("role '", role, "' has a '*' component"));
    }
    for (char c : part) {
      if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
          absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
        return absl::InvalidArgumentError(
            absl::StrCat("role '", role, "' has whitespace or a control character"));
      }
    }
  }
  return absl::OkStatus();
}

// --- Parsing -------------------------------------------------------------------

namespace {

absl::Status ParseScalarValue(absl::string_view entry, absl::string_view text,
                              Scalar* out) {
  double v;
  if (!absl::SimpleAtod(text, &v) || std::isnan(v) || std::isinf(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad resource '", entry, "': '", text, "' is not a number"));
  }
  if (v < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad resource '", entry, "': negative value"));
  }
  *out = Scalar::FromDouble(v);
  return absl::OkStatus();
}

absl::Status ParseRangesValue(absl::string_view entry, absl::string_view text,
                              Ranges* out) {
  absl::string_view inner = text.substr(1, text.size() - 2);
  std::vector<Range> ranges;
  for (absl::string_view part : absl::StrSplit(inner, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    std::vector<absl::string_view> ends = absl::StrSplit(part, '-');
    uint64_t b, e;
    if (ends.size() != 2 ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(ends[0]), &b) ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(ends[1]), &e) || b > e) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad resource '", entry, "': '", part, "' is not a range 'begin-end'"));
    }
    ranges.push_back({b, e});
  }
  *out = Ranges(std::move(ranges));
  return absl::OkStatus();
}

absl::StatusOr<Resource> ParseEntry(absl::string_view entry,
                                    absl::string_view default_role) {
  size_t colon = entry.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad resource '", entry, "': expected 'name:value'"));
  }
  absl::string_view head = absl::StripAsciiWhitespace(entry.substr(0, colon));
  absl::string_view value = absl::StripAsciiWhitespace(entry.substr(colon + 1));
  Resource r;
  std::string role(default_role);
  size_t paren = head.find('(');
  if (paren != absl::string_view::npos) {
    if (head.back() != ')') {
      return absl::InvalidArgumentError(
          absl::StrCat("bad resource '", entry, "': unbalanced '('"));
    }
    role = std::string(head.substr(paren + 1, head.size() - paren - 2));
    head = head.substr(0, paren);
  }
  r.name = std::string(absl::StripAsciiWhitespace(head));
  if (r.name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad resource '", entry, "': empty name"));
  }
  if (absl::Status s = ValidateRole(role); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad resource '", entry, "': ", s.message()));
  }
  if (role != "*") {
    r.reservations.push_back({Reservation::Type::kStatic, role, ""});
  }
  if (value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad resource '", entry, "': empty value"));
  }
  if (value.front() == '[') {
    if (value.back() != ']') {
      return absl::InvalidArgumentError(
          absl::StrCat("bad resource '", entry, "': unbalanced '['"));
    }
    r.kind = Resource::Kind::kRanges;
    if (absl::Status s = ParseRangesValue(entry, value, &r.ranges); !s.ok()) {
      return s;
    }
  } else if (value.front() == '{') {
    if (value.back() != '}') {
      return absl::InvalidArgumentError(
          absl::StrCat("bad resource '", entry, "': unbalanced '{'"));
    }
    r.kind = Resource::Kind::kSet;
    for (absl::string_view item :
         absl::StrSplit(value.substr(1, value.size() - 2), ',',
                        absl::SkipWhitespace())) {
      r.set.insert(std::string(absl::StripAsciiWhitespace(item)));
    }
  } else {
    r.kind = Resource::Kind::kScalar;
    if (absl::Status s = ParseScalarValue(entry, value, &r.scalar); !s.ok()) {
      return s;
    }
  }
  return r;
}

absl::StatusOr<Resource> ParseJsonEntry(const nlohmann::json& j,
                                        absl::string_view default_role) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad resource ", j.dump(), ": missing 'name'"));
  }
  Resource r;
  r.name = j["name"].get<std::string>();
  std::string type = j.value("type", std::string("SCALAR"));
  if (type == "SCALAR") {
    if (!j.contains("scalar") || !j["scalar"].contains("value") ||
        !j["scalar"]["value"].is_number()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad resource ", j.dump(), ": missing scalar value"));
    }
    double v = j["scalar"]["value"].get<double>();
    if (std::isnan(v) || std::isinf(v) || v < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad resource ", j.dump(), ": invalid scalar value"));
    }
    r.scalar = Scalar::FromDouble(v);
  } else if (type == "RANGES") {
    r.kind = Resource::Kind::kRanges;
    std::vector<Range> ranges;
    if (j.contains("ranges") && j["ranges"].contains("range")) {
      for (const auto& rg : j["ranges"]["range"]) {
        if (!rg.contains("begin") || !rg.contains("end") ||
            !rg["begin"].is_number_unsigned() || !rg["end"].is_number_unsigned()) {
          return absl::InvalidArgumentError(
              absl::StrCat("bad resource ", j.dump(), ": invalid range"));
        }
        ranges.push_back({rg["begin"].get<uint64_t>(), rg["end"].get<uint64_t>()});
      }
    }
    r.ranges = Ranges(std::move(ranges));
  } else if (type == "SET") {
    r.kind = Resource::Kind::kSet;
    if (j.contains("set") && j["set"].contains("item")) {
      for (const auto& item : j["set"]["item"]) {
        if (!item.is_string()) {
          return absl::InvalidArgumentError(
              absl::StrCat("bad resource ", j.dump(), ": invalid set item"));
        }
        r.set.insert(item.get<std::string>());
      }
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("bad resource ", j.dump(), ": unknown type '", type, "'"));
  }
  std::string role = j.value("role", std::string(default_role));
  if (j.contains("reservations") && j["reservations"].is_array()) {
    for (const auto& res : j["reservations"]) {
      Reservation rv;
      rv.type = res.value("type", std::string("STATIC")) == "DYNAMIC"
                    ? Reservation::Type::kDynamic
                    : Reservation::Type::kStatic;
      rv.role = res.value("role", std::string());
      rv.principal = res.value("principal", std::string());
      if (absl::Status s = ValidateRole(rv.role); !s.ok() || rv.role == "*") {
        return absl::InvalidArgumentError(
            absl::StrCat("bad resource ", j.dump(), ": invalid reservation role"));
      }
      r.reservations.push_back(std::move(rv));
    }
  } else if (role != "*") {
    if (absl::Status s = ValidateRole(role); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad resource ", j.dump(), ": ", s.message()));
    }
    r.reservations.push_back({Reservation::Type::kStatic, role, ""});
  }
  return r;
}

}  // namespace

absl::StatusOr<Resources> Resources::Parse(absl::string_view text,
                                           absl::string_view default_role) {
  text = absl::StripAsciiWhitespace(text);
  Resources out;
  if (!text.empty() && text.front() == '[' &&
      text.find(':') > text.find('{')) {  // A JSON array, not "[1-2]" text.
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) {
      return absl::InvalidArgumentError("bad resources: invalid JSON array");
    }
    for (const auto& item : j) {
      absl::StatusOr<Resource> r = ParseJsonEntry(item, default_role);
      if (!r.ok()) return r.status();
      out += *r;
    }
    return out;
  }
  for (absl::string_view entry : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    absl::StatusOr<Resource> r = ParseEntry(entry, default_role);
    if (!r.ok()) return r.status();
    for (const Resource& mine : out.items_) {
      if (mine.name == r->name && mine.kind != r->kind) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad resource '", entry, "': '", r->name,
            "' already has a value of another type"));
      }
    }
    out += *r;
  }
  return out;
}

}  // namespace agora
