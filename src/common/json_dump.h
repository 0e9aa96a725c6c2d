// DumpJson: nlohmann::json to text for anything a peer may have put bytes
// into (task names, labels, messages). proto2 strings need not be UTF-8,
// and nlohmann's dump() throws on a bad byte; this writes U+FFFD instead.
//
// Thread rule: a plain function. Header-only: include it from code that
// links nlohmann_json.
#ifndef AGORA_COMMON_JSON_DUMP_H_
#define AGORA_COMMON_JSON_DUMP_H_

#include <string>

#include "nlohmann/json.hpp"

namespace agora {

inline std::string DumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace agora

#endif  // AGORA_COMMON_JSON_DUMP_H_
