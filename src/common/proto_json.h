// Protobuf messages as Mesos's HTTP APIs write and read them in JSON.
//
// Writing follows Mesos's JSON::protobuf: field names as in the .proto,
// enums by name, every number (64-bit integers included) as a JSON number,
// bytes in base64, repeated fields as arrays and map fields as objects; a
// field that is not set is absent unless it declares an explicit default,
// which is written. Reading accepts what Mesos's parser accepts: proto field
// names (or their lowerCamelCase forms), enums by name or number, 64-bit
// integers as numbers or strings; unknown fields are ignored.
//
// Thread rule: pure functions, any thread.
#ifndef AGORA_COMMON_PROTO_JSON_H_
#define AGORA_COMMON_PROTO_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace agora {

// `message` as one JSON object.
std::string ProtoToJson(const google::protobuf::Message& message);

// Replaces `*message` with the JSON object `json`. InvalidArgument naming
// the problem when `json` is not a JSON object of that message's shape
// (a wrong type, an unknown enum value, a missing required field).
absl::Status ProtoFromJson(absl::string_view json,
                           google::protobuf::Message* message);

}  // namespace agora

#endif  // AGORA_COMMON_PROTO_JSON_H_
