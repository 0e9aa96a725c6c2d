// Master: reservations. RESERVE and UNRESERVE offer operations in ACCEPT,
// operator RESERVE_RESOURCES / UNRESERVE_RESOURCES, and the agent's
// checkpoint of its dynamic reservations.
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/checkpointed_resources.h"
#include "common/reservations.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "master/master.h"

namespace agora {
namespace {

using mesos::v1::Offer;

ResourceConversion Unallocated(const ResourceConversion& conversion) {
  return {conversion.consumed.AllocatedTo(""),
          conversion.converted.AllocatedTo("")};
}

// The resources of a RESERVE / UNRESERVE of a framework, with the offers'
// allocation role filled in where the framework left it out.
absl::StatusOr<Resources> OfferOperationResources(
    const ProtoResources& proto, const std::string& offer_role) {
  absl::StatusOr<Resources> parsed = FromProto(proto);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid resources: ", parsed.status().message()));
  }
  if (parsed->empty()) {
    return absl::InvalidArgumentError("Invalid resources: none given");
  }
  Resources out;
  for (Resource r : parsed->items()) {
    if (r.allocation_role.empty()) r.allocation_role = offer_role;
    out += r;
  }
  return out;
}

// Mesos's validation of a framework's RESERVE (the reservation stack rules
// are ReserveConversion's).
absl::Status ValidateFrameworkReserve(const Resources& resources,
                                      const Framework& framework,
                                      const std::string& offer_role) {
  for (const Resource& r : resources.items()) {
    if (r.reservations.empty() ||
        r.reservations.back().type != Reservation::Type::kDynamic) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Resource ", r.ToString(), " is not dynamically reserved"));
    }
    if (r.revocable) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Resource ", r.ToString(), " is revocable and cannot be reserved"));
    }
    const Reservation& top = r.reservations.back();
    if (!framework.info.principal().empty()) {
      if (top.principal.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "A reserve operation was attempted by principal '",
            framework.info.principal(),
            "', but there is a reserved resource in the request with no "
            "principal set"));
      }
      if (top.principal != framework.info.principal()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "A reserve operation was attempted by principal '",
            framework.info.principal(),
            "', which does not match a reserved resource in the request "
            "with principal '",
            top.principal, "'"));
      }
    }
    if (r.allocation_role != offer_role) {
      return absl::InvalidArgumentError(absl::StrCat(
          "A reserve operation was attempted for a resource allocated to "
          "role '",
          r.allocation_role, "', but the offers are allocated to role '",
          offer_role, "'"));
    }
    if (top.role != r.allocation_role) {
      return absl::InvalidArgumentError(absl::StrCat(
          "A reserve operation was attempted for a resource with role '",
          top.role, "', but the resource was allocated to role '",
          r.allocation_role, "'"));
    }
    if (r.reservations.size() > 1) {
      bool refinement = false;
      for (const auto& c : framework.info.capabilities()) {
        if (c.type() ==
            mesos::v1::FrameworkInfo::Capability::RESERVATION_REFINEMENT) {
          refinement = true;
        }
      }
      if (!refinement) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Resource ", r.ToString(),
            " refines a reservation, which needs the RESERVATION_REFINEMENT "
            "capability"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFrameworkUnreserve(const Resources& resources,
                                        const std::string& offer_role) {
  for (const Resource& r : resources.items()) {
    if (r.reservations.empty() ||
        r.reservations.back().type != Reservation::Type::kDynamic) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Resource ", r.ToString(), " is not dynamically reserved"));
    }
    if (r.allocation_role != offer_role) {
      return absl::InvalidArgumentError(absl::StrCat(
          "An unreserve operation was attempted for a resource allocated to "
          "role '",
          r.allocation_role, "', but the offers are allocated to role '",
          offer_role, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Resources> Master::AgentTotal(
    const Resources& info_resources, const ProtoResources& checkpointed) {
  if (checkpointed.empty()) return info_resources;
  absl::StatusOr<Resources> parsed = FromProto(checkpointed);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpointed resources: ", parsed.status().message()));
  }
  return ApplyCheckpointedResources(info_resources, parsed->AllocatedTo(""));
}

void Master::ApplyOfferOperation(Framework* framework, Agent* agent,
                                 const Offer::Operation& operation,
                                 TaskLaunchContext* context) {
  const bool reserve = operation.type() == Offer::Operation::RESERVE;
  const char* name = reserve ? "RESERVE" : "UNRESERVE";
  auto drop = [&](const absl::Status& why) {
    LOG(WARNING) << "Dropping " << name << " of framework " << framework->id
                 << " on agent " << context->agent << ": " << why.message();
  };
  absl::StatusOr<Resources> resources =
      OfferOperationResources(reserve ? operation.reserve().resources()
                                      : operation.unreserve().resources(),
                              context->role);
  if (!resources.ok()) return drop(resources.status());
  absl::Status valid =
      reserve ? ValidateFrameworkReserve(*resources, *framework, context->role)
              : ValidateFrameworkUnreserve(*resources, context->role);
  if (!valid.ok()) return drop(valid);
  absl::StatusOr<ResourceConversion> conversion =
      reserve ? ReserveConversion(*resources) : UnreserveConversion(*resources);
  if (!conversion.ok()) return drop(conversion.status());
  if (!context->available.Contains(conversion->consumed)) {
    return drop(absl::FailedPreconditionError(
        absl::StrCat("the offers do not hold ", conversion->consumed.ToString(),
                     " (they hold ", context->available.ToString(), ")")));
  }
  absl::Status updated = allocator_.UpdateAllocation(
      framework->id, context->agent, context->available, {*conversion});
  if (!updated.ok()) return drop(updated);
  absl::StatusOr<Resources> available =
      ApplyConversions(context->available, {*conversion});
  CHECK(available.ok()) << available.status();
  context->available = *std::move(available);
  LOG(INFO) << "Applied " << name << " of " << *resources << " by framework "
            << framework->id << " on agent " << agent->id;
  ConvertAgentTotal(agent, Unallocated(*conversion));
}

void Master::ConvertAgentTotal(Agent* agent,
                               const ResourceConversion& conversion) {
  absl::StatusOr<Resources> total =
      ApplyConversions(agent->total, {conversion});
  CHECK(total.ok()) << "agent " << agent->id << " total " << agent->total
                    << " cannot take a conversion the allocator took: "
                    << total.status();
  agent->total = *std::move(total);
  internal::MasterMessage message;
  *message.mutable_checkpoint_resources()->mutable_resources() =
      ToProto(DynamicallyReserved(agent->total));
  if (!agent->Send(std::move(message))) {
    LOG(WARNING) << "Could not send checkpointed resources to agent "
                 << agent->id << "; it reports its old ones on reregistration";
  }
}

absl::Status Master::ApplyOperatorConversion(
    const AgentId& id, const ResourceConversion& conversion) {
  Agent* agent = agents_.Find(id);
  if (agent == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown agent ", id.value()));
  }
  if (!agent->connected()) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent ", id.value(), " is not connected"));
  }
  if (!agent->total.Contains(conversion.consumed)) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent ", id.value(), " does not have ",
                     conversion.consumed.ToString()));
  }
  // The resources may sit in outstanding offers: rescind the agent's offers
  // (Mesos does the same) so that only tasks can hold them.
  for (const std::string& offer : offers_.OffersOn(id)) {
    RescindOffer(offer, /*notify=*/true);
  }
  absl::Status status = allocator_.UpdateAvailable(id, {conversion});
  if (!status.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot apply to agent ", id.value(), ": ", status.message()));
  }
  ConvertAgentTotal(agent, conversion);
  return absl::OkStatus();
}

absl::Status Master::ReserveResources(const AgentId& agent,
                                      const ProtoResources& proto) {
  absl::StatusOr<Resources> resources = FromProto(proto);
  if (!resources.ok()) return resources.status();
  if (resources->empty()) {
    return absl::InvalidArgumentError("reserve: no resources given");
  }
  for (const Resource& r : resources->items()) {
    if (!r.allocation_role.empty()) {
      return absl::InvalidArgumentError(
          "A reserve operation was attempted with an allocated resource, "
          "but the operator API only allows reservations to be made to "
          "unallocated resources");
    }
    if (r.reservations.empty() ||
        r.reservations.back().type != Reservation::Type::kDynamic) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Resource ", r.ToString(), " is not dynamically reserved"));
    }
  }
  absl::StatusOr<ResourceConversion> conversion = ReserveConversion(*resources);
  if (!conversion.ok()) return conversion.status();
  AGORA_RETURN_IF_ERROR(ApplyOperatorConversion(agent, *conversion));
  LOG(INFO) << "Operator reserved " << *resources << " on agent " << agent;
  return absl::OkStatus();
}

absl::Status Master::UnreserveResources(const AgentId& agent,
                                        const ProtoResources& proto) {
  absl::StatusOr<Resources> resources = FromProto(proto);
  if (!resources.ok()) return resources.status();
  if (resources->empty()) {
    return absl::InvalidArgumentError("unreserve: no resources given");
  }
  for (const Resource& r : resources->items()) {
    if (!r.allocation_role.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Resource ", r.ToString(), " has an allocation role"));
    }
  }
  absl::StatusOr<ResourceConversion> conversion =
      UnreserveConversion(*resources);
  if (!conversion.ok()) return conversion.status();
  AGORA_RETURN_IF_ERROR(ApplyOperatorConversion(agent, *conversion));
  LOG(INFO) << "Operator unreserved " << *resources << " on agent " << agent;
  return absl::OkStatus();
}

}  // namespace agora
