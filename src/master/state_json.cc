#include "master/state_json.h"

#include <map>
#include <string>

#include "absl/strings/str_join.h"
#include "common/resources_proto.h"

namespace agora {

nlohmann::json ResourcesJson(const Resources& resources) {
  nlohmann::json out = {
      {"cpus", 0.0}, {"mem", 0.0}, {"disk", 0.0}, {"gpus", 0.0}};
  Resources plain = resources.AllocatedTo("");
  for (const std::string& name : plain.ScalarNames()) {
    out[name] = plain.GetScalar(name).ToDouble();
  }
  Ranges ports;
  for (const Resource& r : plain.items()) {
    if (r.kind == Resource::Kind::kRanges) {
      if (r.name == "ports") {
        ports.Add(r.ranges);
      } else {
        out[r.name] = r.ranges.ToString();
      }
    } else if (r.kind == Resource::Kind::kSet) {
      out[r.name] = "{" + absl::StrJoin(r.set, ",") + "}";
    }
  }
  if (!ports.empty()) out["ports"] = ports.ToString();
  return out;
}

nlohmann::json ResourcesFullJson(const Resources& resources) {
  nlohmann::json out = nlohmann::json::array();
  for (const Resource& r : resources.items()) {
    nlohmann::json item = {{"name", r.name}};
    switch (r.kind) {
      case Resource::Kind::kScalar:
        item["type"] = "SCALAR";
        item["scalar"] = {{"value", r.scalar.ToDouble()}};
        break;
      case Resource::Kind::kRanges: {
        item["type"] = "RANGES";
        nlohmann::json ranges = nlohmann::json::array();
        for (const Range& range : r.ranges.ranges()) {
          ranges.push_back({{"begin", range.begin}, {"end", range.end}});
        }
        item["ranges"] = {{"range", std::move(ranges)}};
        break;
      }
      case Resource::Kind::kSet:
        item["type"] = "SET";
        item["set"] = {{"item", r.set}};
        break;
    }
    if (!r.reservations.empty()) {
      nlohmann::json stack = nlohmann::json::array();
      for (const Reservation& reservation : r.reservations) {
        nlohmann::json entry = {
            {"type", reservation.type == Reservation::Type::kStatic
                         ? "STATIC"
                         : "DYNAMIC"},
            {"role", reservation.role}};
        if (!reservation.principal.empty()) {
          entry["principal"] = reservation.principal;
        }
        stack.push_back(std::move(entry));
      }
      item["reservations"] = std::move(stack);
    }
    if (r.revocable) item["revocable"] = nlohmann::json::object();
    if (!r.allocation_role.empty()) {
      item["allocation_info"] = {{"role", r.allocation_role}};
    }
    out.push_back(std::move(item));
  }
  return out;
}

void AddReservationsJson(const Resources& total, nlohmann::json* agent) {
  std::map<std::string, Resources> by_role;
  for (const Resource& r : total.items()) {
    if (!r.IsUnreserved()) by_role[r.ReservationRole()] += r;
  }
  nlohmann::json reserved = nlohmann::json::object();
  nlohmann::json reserved_full = nlohmann::json::object();
  for (const auto& [role, resources] : by_role) {
    reserved[role] = ResourcesJson(resources);
    reserved_full[role] = ResourcesFullJson(resources);
  }
  (*agent)["reserved_resources"] = std::move(reserved);
  (*agent)["reserved_resources_full"] = std::move(reserved_full);
  (*agent)["unreserved_resources_full"] = ResourcesFullJson(total.Unreserved());
}

nlohmann::json AttributesJson(
    const google::protobuf::RepeatedPtrField<mesos::v1::Attribute>&
        attributes) {
  nlohmann::json out = nlohmann::json::object();
  for (const mesos::v1::Attribute& a : attributes) {
    switch (a.type()) {
      case mesos::v1::Value::SCALAR:
        out[a.name()] = a.scalar().value();
        break;
      case mesos::v1::Value::RANGES: {
        std::vector<Range> ranges;
        for (const auto& r : a.ranges().range()) {
          ranges.push_back({r.begin(), r.end()});
        }
        out[a.name()] = Ranges(std::move(ranges)).ToString();
        break;
      }
      case mesos::v1::Value::SET:
        out[a.name()] = "{" + absl::StrJoin(a.set().item(), ",") + "}";
        break;
      case mesos::v1::Value::TEXT:
        out[a.name()] = a.text().value();
        break;
    }
  }
  return out;
}

nlohmann::json TaskJson(const mesos::v1::Task& task) {
  absl::StatusOr<Resources> resources = FromProto(task.resources());
  nlohmann::json statuses = nlohmann::json::array();
  for (const mesos::v1::TaskStatus& status : task.statuses()) {
    nlohmann::json s = {{"state", mesos::v1::TaskState_Name(status.state())},
                        {"timestamp", status.timestamp()}};
    if (status.has_message()) s["message"] = status.message();
    if (status.has_reason()) {
      s["reason"] = mesos::v1::TaskStatus::Reason_Name(status.reason());
    }
    if (status.has_source()) {
      s["source"] = mesos::v1::TaskStatus::Source_Name(status.source());
    }
    statuses.push_back(std::move(s));
  }
  nlohmann::json out = {
      {"id", task.task_id().value()},
      {"name", task.name()},
      {"framework_id", task.framework_id().value()},
      {"executor_id", task.executor_id().value()},
      {"slave_id", task.agent_id().value()},
      {"state", mesos::v1::TaskState_Name(task.state())},
      {"resources", ResourcesJson(resources.ok() ? *resources : Resources())},
      {"statuses", std::move(statuses)},
  };
  if (!task.resources().empty() && task.resources(0).has_allocation_info()) {
    out["role"] = task.resources(0).allocation_info().role();
  }
  if (task.has_user()) out["user"] = task.user();
  return out;
}

nlohmann::json OfferJson(const OutstandingOffer& offer) {
  return {{"id", offer.id},
          {"framework_id", offer.framework.value()},
          {"slave_id", offer.agent.value()},
          {"resources", ResourcesJson(offer.resources)},
          {"allocation_info", {{"role", offer.role}}}};
}

double JsonTime(absl::Time time) {
  return absl::ToDoubleSeconds(time - absl::UnixEpoch());
}

}  // namespace agora
