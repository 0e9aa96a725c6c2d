// Identifier helpers: random UUIDs (the master id, stream ids, status-update
// uuids, container ids) and the Mesos id formats.
#ifndef AGORA_COMMON_IDS_H_
#define AGORA_COMMON_IDS_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

namespace agora {

// 16 random bytes (version 4, variant 1).
std::string RandomUuidBytes();
// The canonical 36-character text form of 16 uuid bytes; "" if not 16 bytes.
std::string UuidBytesToString(absl::string_view bytes);
// A fresh random UUID in text form.
std::string RandomUuid();

// Mesos id formats, given the master id.
std::string FormatAgentId(absl::string_view master_id, uint64_t n);      // <m>-S<n>
std::string FormatOfferId(absl::string_view master_id, uint64_t n);      // <m>-O<n>
std::string FormatFrameworkId(absl::string_view master_id, uint64_t n);  // <m>-0007

}  // namespace agora

#endif  // AGORA_COMMON_IDS_H_
