#include "common/proto_json.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/json_dump.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace agora {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using json = nlohmann::json;

json MessageJson(const Message& message);

// One value of `field` (the `index`th when repeated, else index < 0).
json FieldValue(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_INT64:
      return rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f);
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT64:
      return rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f);
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f);
    case FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name();
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s =
          rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      if (f->type() == FieldDescriptor::TYPE_BYTES)
        return absl::Base64Escape(s);
      return s;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return MessageJson(rep ? r->GetRepeatedMessage(m, f, index)
                             : r->GetMessage(m, f));
  }
  return nullptr;
}

// A map field's entries as an object keyed by the entries' keys.
json MapJson(const Message& m, const FieldDescriptor* f) {
  json out = json::object();
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < r->FieldSize(m, f); ++i) {
    const Message& entry = r->GetRepeatedMessage(m, f, i);
    const Descriptor* d = entry.GetDescriptor();
    json key = FieldValue(entry, d->map_key(), -1);
    std::string name = key.is_string() ? key.get<std::string>() : key.dump();
    out[name] = FieldValue(entry, d->map_value(), -1);
  }
  return out;
}

json MessageJson(const Message& m) {
  json out = json::object();
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_map()) {
      if (r->FieldSize(m, f) > 0) out[f->name()] = MapJson(m, f);
    } else if (f->is_repeated()) {
      if (r->FieldSize(m, f) == 0) continue;
      json array = json::array();
      for (int j = 0; j < r->FieldSize(m, f); ++j) {
        array.push_back(FieldValue(m, f, j));
      }
      out[f->name()] = std::move(array);
    } else if (r->HasField(m, f) || f->has_default_value()) {
      out[f->name()] = FieldValue(m, f, -1);
    }
  }
  return out;
}

const FieldDescriptor* FindField(const Descriptor* d, const std::string& key) {
  const FieldDescriptor* f = d->FindFieldByName(key);
  if (f != nullptr) return f;
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == key) return d->field(i);
  }
  return nullptr;
}

// Drops the members of `object` (and of the messages inside it) that name
// no field of `d`, as Mesos's parser ignores them.
void DropUnknownFields(const Descriptor* d, json& object) {
  if (!object.is_object()) return;
  for (auto it = object.begin(); it != object.end();) {
    const FieldDescriptor* f = FindField(d, it.key());
    if (f == nullptr) {
      it = object.erase(it);
      continue;
    }
    if (f->is_map()) {
      const FieldDescriptor* value = f->message_type()->map_value();
      if (value->message_type() != nullptr && it->is_object()) {
        for (auto& [k, v] : it->items()) {
          DropUnknownFields(value->message_type(), v);
        }
      }
    } else if (f->message_type() != nullptr) {
      if (it->is_array()) {
        for (json& element : *it) DropUnknownFields(f->message_type(), element);
      } else {
        DropUnknownFields(f->message_type(), *it);
      }
    }
    ++it;
  }
}

}  // namespace

std::string ProtoToJson(const Message& message) {
  return DumpJson(MessageJson(message));
}

absl::Status ProtoFromJson(absl::string_view text, Message* message) {
  json parsed = json::parse(text.begin(), text.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return absl::InvalidArgumentError("body is not valid JSON");
  }
  if (!parsed.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a JSON object for ", message->GetDescriptor()->full_name()));
  }
  DropUnknownFields(message->GetDescriptor(), parsed);
  message->Clear();
  // Unknown enum names stay errors (strict parse), as in Mesos.
  google::protobuf::util::JsonParseOptions options;
  auto status = google::protobuf::util::JsonStringToMessage(DumpJson(parsed),
                                                            message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to parse ", message->GetDescriptor()->full_name(),
                     ": ", std::string(status.message())));
  }
  return absl::OkStatus();
}

}  // namespace agora
