// Value types for resources, free of protobuf: fixed-point scalars (three
// decimals, as Mesos rounds them), port ranges, sets, and Resources, a
// collection that merges like resources and supports the arithmetic the
// allocator and the master need. Conversion to and from mesos.v1.Resource
// lives in resources_proto.h.
//
// Thread rule: plain values; no shared state.
#ifndef AGORA_COMMON_RESOURCES_H_
#define AGORA_COMMON_RESOURCES_H_

#include <cstdint>
#include <ostream>
#include <set>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace agora {

// A non-negative-or-negative quantity with exactly three decimals.
class Scalar {
 public:
  constexpr Scalar() = default;
  static constexpr Scalar FromMillis(int64_t m) { return Scalar(m); }
  // Rounds to the nearest thousandth, as Mesos does.
  static Scalar FromDouble(double v);

  double ToDouble() const { return static_cast<double>(millis_) / 1000.0; }
  int64_t millis() const { return millis_; }
  bool IsZero() const { return millis_ == 0; }

  Scalar& operator+=(Scalar o) { millis_ += o.millis_; return *this; }
  Scalar& operator-=(Scalar o) { millis_ -= o.millis_; return *this; }
  friend Scalar operator+(Scalar a, Scalar b) { return a += b; }
  friend Scalar operator-(Scalar a, Scalar b) { return a -= b; }
  friend bool operator==(Scalar a, Scalar b) { return a.millis_ == b.millis_; }
  friend bool operator!=(Scalar a, Scalar b) { return a.millis_ != b.millis_; }
  friend bool operator<(Scalar a, Scalar b) { return a.millis_ < b.millis_; }
  friend bool operator<=(Scalar a, Scalar b) { return a.millis_ <= b.millis_; }
  friend bool operator>(Scalar a, Scalar b) { return a.millis_ > b.millis_; }
  friend bool operator>=(Scalar a, Scalar b) { return a.millis_ >= b.millis_; }

  // "2", "0.5", "1.125": the shortest exact decimal form.
  std::string ToString() const;

 private:
  explicit constexpr Scalar(int64_t m) : millis_(m) {}
  int64_t millis_ = 0;
};

std::ostream& operator<<(std::ostream& os, Scalar s);

struct Range {
  uint64_t begin = 0;  // Inclusive.
  uint64_t end = 0;    // Inclusive.
  friend bool operator==(const Range& a, const Range& b) {
    return a.begin == b.begin && a.end == b.end;
  }
};

// A set of integers kept as sorted, disjoint, non-adjacent ranges.
class Ranges {
 public:
  Ranges() = default;
  explicit Ranges(std::vector<Range> ranges);  // Normalizes.

  const std::vector<Range>& ranges() const { return ranges_; }
  bool empty() const { return ranges_.empty(); }
  uint64_t Count() const;

  void Add(const Ranges& o);
  void Subtract(const Ranges& o);
  bool Contains(const Ranges& o) const;
  friend bool operator==(const Ranges& a, const Ranges& b) {
    return a.ranges_ == b.ranges_;
  }
  // "[31000-32000, 33000-33000]" as Mesos prints it.
  std::string ToString() const;

 private:
  void Normalize();
  std::vector<Range> ranges_;
};

// One level of a reservation stack.
struct Reservation {
  enum class Type { kStatic, kDynamic };
  Type type = Type::kStatic;
  std::string role;
  std::string principal;
  friend bool operator==(const Reservation& a, const Reservation& b) {
    return a.type == b.type && a.role == b.role && a.principal == b.principal;
  }
};

// One resource: a name, a value of one kind, and where it may go.
struct Resource {
  enum class Kind { kScalar, kRanges, kSet };

  std::string name;
  Kind kind = Kind::kScalar;
  Scalar scalar;
  Ranges ranges;
  std::set<std::string> set;
  // The reservation stack, outermost first; empty means unreserved ("*").
  std::vector<Reservation> reservations;
  bool revocable = false;
  // The role this resource is offered or allocated to; empty when none.
  std::string allocation_role;

  // The role the resource is reserved to, or "*" when unreserved.
  const std::string& ReservationRole() const;
  bool IsUnreserved() const { return reservations.empty(); }
  bool IsEmpty() const;
  // True when `o` has the same name, kind, reservations, revocability and
  // allocation role, so the two values can be added or subtracted.
  bool SameIdentity(const Resource& o) const;
  // "cpus(role):2", "ports:[31000-32000]", "disks:{a,b}".
  std::string ToString() const;
};

// A multiset of resources in which like resources (SameIdentity) are merged
// into one entry. Subtraction never leaves negative or empty entries: a
// scalar that reaches zero or below disappears, as Mesos does.
class Resources {
 public:
  Resources() = default;
  Resources(std::initializer_list<Resource> items);

  // Parses Mesos's text form, "cpus:4;mem:4096;ports:[31000-32000];
  // cpus(ads):2;disks:{a,b}", and its JSON form (an array of Resource
  // objects). Entries without a role get `default_role` ("*" means
  // unreserved; any other role makes a static reservation). Errors name the
  // offending entry: InvalidArgument.
  static absl::StatusOr<Resources> Parse(absl::string_view text,
                                         absl::string_view default_role = "*");

  const std::vector<Resource>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

  Resources& operator+=(const Resource& r);
  Resources& operator+=(const Resources& o);
  Resources& operator-=(const Resource& r);
  Resources& operator-=(const Resources& o);
  friend Resources operator+(Resources a, const Resources& b) { return a += b; }
  friend Resources operator-(Resources a, const Resources& b) { return a -= b; }
  friend bool operator==(const Resources& a, const Resources& b);
  friend bool operator!=(const Resources& a, const Resources& b) {
    return !(a == b);
  }

  // True when every resource of `o` is here in at least that amount.
  bool Contains(const Resources& o) const;
  bool Contains(const Resource& r) const;

  // Sum of the scalar resources named `name`, across roles.
  Scalar GetScalar(absl::string_view name) const;
  // Names of the scalar resources present, sorted.
  std::vector<std::string> ScalarNames() const;

  Resources Unreserved() const;
  // Resources reserved to exactly `role` (top of the stack).
  Resources ReservedTo(absl::string_view role) const;
  Resources Revocable() const;
  Resources NonRevocable() const;
  Resources Scalars() const;
  Resources NonScalars() const;
  // Copies with the allocation role set (or cleared, with "").
  Resources AllocatedTo(absl::string_view role) const&;
  // The same without a copy when every resource has one allocation role.
  Resources AllocatedTo(absl::string_view role) &&;
  // Resources allocatable to `role`: unreserved ones and those reserved to
  // `role` or one of its ancestors.
  Resources AllocatableTo(absl::string_view role) const;

  // Mesos's text form, "cpus:2; mem:1024; ports:[31000-32000]".
  std::string ToString() const;

 private:
  std::vector<Resource> items_;
};

std::ostream& operator<<(std::ostream& os, const Resources& r);

// True when `role` is `ancestor` or nested below it ("a/b" under "a").
// "*" is the ancestor of nothing but itself.
bool IsRoleOrDescendant(absl::string_view role, absl::string_view ancestor);

// Checks a role name as Mesos does: non-empty, not "." or "..", no leading
// "-", no whitespace, slashes only between non-empty components, "*" only
// alone. InvalidArgument with the reason otherwise.
absl::Status ValidateRole(absl::string_view role);

}  // namespace agora

#endif  // AGORA_COMMON_RESOURCES_H_
