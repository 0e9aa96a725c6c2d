// MasterRecord in Mesos's JSON layout, and member znode names.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/json_dump.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "zookeeper/master_group.h"

namespace agora {
namespace zk {
namespace {

using nlohmann::json;

// Mesos stores the IPv4 address as the in_addr's 32 bits read as an
// integer on a little-endian host: the first octet is the low byte
// ("127.0.0.1" -> 16777343).
std::optional<uint32_t> PackIp(const std::string& dotted) {
  std::vector<absl::string_view> parts = absl::StrSplit(dotted, '.');
  if (parts.size() != 4) return std::nullopt;
  uint32_t packed = 0;
  for (int i = 0; i < 4; ++i) {
    int octet = 0;
    if (parts[i].empty() || parts[i].size() > 3 ||
        !absl::SimpleAtoi(parts[i], &octet) || octet < 0 || octet > 255) {
      return std::nullopt;
    }
    packed |= static_cast<uint32_t>(octet) << (8 * i);
  }
  return packed;
}

std::string UnpackIp(uint32_t packed) {
  return absl::StrCat(packed & 0xff, ".", (packed >> 8) & 0xff, ".",
                      (packed >> 16) & 0xff, ".", (packed >> 24) & 0xff);
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("master record: ", why));
}

// Reads `object[key]` when present; a present key of the wrong type is an
// error.
absl::Status ReadString(const json& object, const char* key,
                        std::optional<std::string>* out) {
  auto it = object.find(key);
  if (it == object.end()) return absl::OkStatus();
  if (!it->is_string())
    return Malformed(absl::StrCat("'", key, "' is not a string"));
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status ReadUint(const json& object, const char* key, uint64_t max,
                      std::optional<uint64_t>* out) {
  auto it = object.find(key);
  if (it == object.end()) return absl::OkStatus();
  if (!it->is_number_unsigned() || it->get<uint64_t>() > max) {
    return Malformed(absl::StrCat("'", key, "' is not an integer in 0-", max));
  }
  *out = it->get<uint64_t>();
  return absl::OkStatus();
}

struct AddressFields {
  std::optional<std::string> hostname;
  std::optional<std::string> ip;
  std::optional<uint64_t> port;
};

absl::Status ReadAddress(const json& object, AddressFields* fields) {
  auto it = object.find("address");
  if (it == object.end()) return absl::OkStatus();
  if (!it->is_object()) return Malformed("'address' is not an object");
  AGORA_RETURN_IF_ERROR(ReadString(*it, "hostname", &fields->hostname));
  AGORA_RETURN_IF_ERROR(ReadString(*it, "ip", &fields->ip));
  return ReadUint(*it, "port", 65535, &fields->port);
}

}  // namespace

std::string MasterRecord::GrpcAddress() const {
  return absl::StrCat(hostname.empty() ? ip : hostname, ":", port);
}

std::string MasterRecord::HttpAddress() const {
  return absl::StrCat(hostname.empty() ? ip : hostname, ":",
                      http_port != 0 ? http_port : port);
}

bool operator==(const MasterRecord& a, const MasterRecord& b) {
  return a.id == b.id && a.hostname == b.hostname && a.ip == b.ip &&
         a.port == b.port && a.http_port == b.http_port &&
         a.version == b.version;
}

std::string MasterRecordToJson(const MasterRecord& record) {
  json j = json::object();
  j["id"] = record.id;
  j["ip"] = PackIp(record.ip).value_or(0);
  j["port"] = record.port;
  j["pid"] = absl::StrCat("master@", record.ip, ":", record.port);
  j["hostname"] = record.hostname;
  j["version"] = record.version;
  j["address"] = {
      {"hostname", record.hostname}, {"ip", record.ip}, {"port", record.port}};
  j["http_port"] = record.http_port;
  return DumpJson(j);
}

absl::StatusOr<MasterRecord> MasterRecordFromJson(absl::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Malformed("not a JSON object");
  }
  std::optional<std::string> id, hostname, version;
  std::optional<uint64_t> packed_ip, port, http_port;
  AddressFields address;
  AGORA_RETURN_IF_ERROR(ReadString(j, "id", &id));
  AGORA_RETURN_IF_ERROR(ReadString(j, "hostname", &hostname));
  AGORA_RETURN_IF_ERROR(ReadString(j, "version", &version));
  AGORA_RETURN_IF_ERROR(ReadUint(j, "ip", UINT32_MAX, &packed_ip));
  AGORA_RETURN_IF_ERROR(ReadUint(j, "port", 65535, &port));
  AGORA_RETURN_IF_ERROR(ReadUint(j, "http_port", 65535, &http_port));
  AGORA_RETURN_IF_ERROR(ReadAddress(j, &address));

  MasterRecord record;
  if (address.ip.has_value()) {
    record.ip = *address.ip;
  } else if (packed_ip.has_value()) {
    record.ip = UnpackIp(static_cast<uint32_t>(*packed_ip));
  } else {
    return Malformed("neither 'address.ip' nor 'ip'");
  }
  std::optional<uint64_t> grpc_port = address.port ? address.port : port;
  if (!grpc_port.has_value() || *grpc_port == 0) {
    return Malformed("no port in 1-65535 in 'address.port' nor 'port'");
  }
  record.port = static_cast<int>(*grpc_port);
  record.hostname = address.hostname.value_or(hostname.value_or(""));
  record.id = id.value_or("");
  record.version = version.value_or("");
  record.http_port = static_cast<int>(http_port.value_or(0));
  return record;
}

std::optional<int64_t> MemberSequence(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kMasterNodePrefix) || name.empty()) {
    return std::nullopt;
  }
  int64_t sequence = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (!absl::SimpleAtoi(name, &sequence)) return std::nullopt;
  return sequence;
}

}  // namespace zk
}  // namespace agora
