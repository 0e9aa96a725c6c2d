#include "common/resources_proto.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace agora {

mesos::v1::Resource ToProto(const Resource& r) {
  mesos::v1::Resource out;
  out.set_name(r.name);
  switch (r.kind) {
    case Resource::Kind::kScalar:
      out.set_type(mesos::v1::Value::SCALAR);
      out.mutable_scalar()->set_value(r.scalar.ToDouble());
      break;
    case Resource::Kind::kRanges:
      out.set_type(mesos::v1::Value::RANGES);
      for (const Range& range : r.ranges.ranges()) {
        auto* pr = out.mutable_ranges()->add_range();
        pr->set_begin(range.begin);
        pr->set_end(range.end);
      }
      break;
    case Resource::Kind::kSet:
      out.set_type(mesos::v1::Value::SET);
      for (const std::string& item : r.set) out.mutable_set()->add_item(item);
      break;
  }
  for (const Reservation& res : r.reservations) {
    auto* pr = out.add_reservations();
    pr->set_type(res.type == Reservation::Type::kStatic
                     ? mesos::v1::Resource::ReservationInfo::STATIC
                     : mesos::v1::Resource::ReservationInfo::DYNAMIC);
    pr->set_role(res.role);
    if (!res.principal.empty()) pr->set_principal(res.principal);
  }
  if (r.revocable) out.mutable_revocable();
  if (!r.allocation_role.empty()) {
    out.mutable_allocation_info()->set_role(r.allocation_role);
  }
  return out;
}

ProtoResources ToProto(const Resources& r) {
  ProtoResources out;
  for (const Resource& item : r.items()) *out.Add() = ToProto(item);
  return out;
}

namespace {
absl::Status Bad(const mesos::v1::Resource& r, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid resource '", r.name(), "': ", why));
}
}  // namespace

absl::StatusOr<Resource> FromProto(const mesos::v1::Resource& r) {
  Resource out;
  out.name = r.name();
  if (out.name.empty()) return Bad(r, "empty name");
  switch (r.type()) {
    case mesos::v1::Value::SCALAR: {
      if (!r.has_scalar()) return Bad(r, "SCALAR without a scalar value");
      double v = r.scalar().value();
      if (std::isnan(v) || std::isinf(v)) return Bad(r, "value is not finite");
      if (v < 0) return Bad(r, "negative value");
      out.kind = Resource::Kind::kScalar;
      out.scalar = Scalar::FromDouble(v);
      break;
    }
    case mesos::v1::Value::RANGES: {
      if (!r.has_ranges()) return Bad(r, "RANGES without ranges");
      std::vector<Range> ranges;
      for (const auto& pr : r.ranges().range()) {
        if (pr.begin() > pr.end()) return Bad(r, "range begins after it ends");
        ranges.push_back({pr.begin(), pr.end()});
      }
      out.kind = Resource::Kind::kRanges;
      out.ranges = Ranges(std::move(ranges));
      break;
    }
    case mesos::v1::Value::SET:
      if (!r.has_set()) return Bad(r, "SET without a set");
      out.kind = Resource::Kind::kSet;
      for (const std::string& item : r.set().item()) out.set.insert(item);
      break;
    default:
      return Bad(r, "unsupported value type");
  }
  if (r.reservations_size() > 0) {
    for (const auto& pr : r.reservations()) {
      if (!pr.has_role() || pr.role() == "*") {
        return Bad(r, "a reservation needs a role other than '*'");
      }
      if (absl::Status s = ValidateRole(pr.role()); !s.ok()) {
        return Bad(r, s.message());
      }
      Reservation res;
      res.type = pr.type() == mesos::v1::Resource::ReservationInfo::DYNAMIC
                     ? Reservation::Type::kDynamic
                     : Reservation::Type::kStatic;
      res.role = pr.role();
      res.principal = pr.principal();
      out.reservations.push_back(std::move(res));
    }
  } else if (r.has_role() && r.role() != "*") {
    // The pre-refinement form: `role` alone means a static reservation.
    if (absl::Status s = ValidateRole(r.role()); !s.ok()) {
      return Bad(r, s.message());
    }
    Reservation res;
    res.role = r.role();
    if (r.has_reservation()) {
      res.type = Reservation::Type::kDynamic;
      res.principal = r.reservation().principal();
    }
    out.reservations.push_back(std::move(res));
  }
  out.revocable = r.has_revocable();
  if (r.has_allocation_info()) out.allocation_role = r.allocation_info().role();
  return out;
}

absl::StatusOr<Resources> FromProto(const ProtoResources& r) {
  Resources out;
  for (const auto& item : r) {
    absl::StatusOr<Resource> one = FromProto(item);
    if (!one.ok()) return one.status();
    out += *one;
  }
  return out;
}

}  // namespace agora
