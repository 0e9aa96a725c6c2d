#include "common/ids.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agora {

std::string RandomUuidBytes() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::string b(16, '\0');
  for (int i = 0; i < 16; i += 8) {
    uint64_t v = rng();
    for (int j = 0; j < 8; ++j) b[i + j] = static_cast<char>((v >> (8 * j)) & 0xff);
  }
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  return b;
}

std::string UuidBytesToString(absl::string_view bytes) {
  if (bytes.size() != 16) return "";
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    absl::StrAppendFormat(&out, "%02x", static_cast<unsigned char>(bytes[i]));
  }
  return out;
}

std::string RandomUuid() { return UuidBytesToString(RandomUuidBytes()); }

std::string FormatAgentId(absl::string_view master_id, uint64_t n) {
  return absl::StrCat(master_id, "-S", n);
}

std::string FormatOfferId(absl::string_view master_id, uint64_t n) {
  return absl::StrCat(master_id, "-O", n);
}

std::string FormatFrameworkId(absl::string_view master_id, uint64_t n) {
  return absl::StrFormat("%s-%04d", master_id, n);
}

}  // namespace agora
