// Conversion between the protobuf-free Resources of resources.h and the wire
// type mesos.v1.Resource. Everything a peer sends goes through FromProto,
// which validates it.
#ifndef AGORA_COMMON_RESOURCES_PROTO_H_
#define AGORA_COMMON_RESOURCES_PROTO_H_

#include "absl/status/statusor.h"
#include "common/resources.h"
#include "google/protobuf/repeated_field.h"
#include "mesos/v1/mesos.pb.h"

namespace agora {

using ProtoResources = google::protobuf::RepeatedPtrField<mesos::v1::Resource>;

mesos::v1::Resource ToProto(const Resource& r);
ProtoResources ToProto(const Resources& r);

// InvalidArgument naming the bad resource when a value is missing, negative,
// NaN or infinite, a range is inverted, a role is invalid, or the type and
// value disagree.
absl::StatusOr<Resource> FromProto(const mesos::v1::Resource& r);
absl::StatusOr<Resources> FromProto(const ProtoResources& r);

}  // namespace agora

#endif  // AGORA_COMMON_RESOURCES_PROTO_H_
