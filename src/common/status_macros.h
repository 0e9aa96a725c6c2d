// Status helpers. Debian's abseil (20220623) lacks ABSL_RETURN_IF_ERROR and
// ABSL_ASSIGN_OR_RETURN, so Agora defines its own two.
#ifndef AGORA_COMMON_STATUS_MACROS_H_
#define AGORA_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define AGORA_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::absl::Status agora_status_ = (expr);          \
    if (!agora_status_.ok()) return agora_status_;  \
  } while (0)

#define AGORA_STATUS_CONCAT_INNER_(a, b) a##b
#define AGORA_STATUS_CONCAT_(a, b) AGORA_STATUS_CONCAT_INNER_(a, b)

#define AGORA_ASSIGN_OR_RETURN(lhs, expr) \
  AGORA_ASSIGN_OR_RETURN_IMPL_(           \
      AGORA_STATUS_CONCAT_(agora_statusor_, __LINE__), lhs, expr)

#define AGORA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (!statusor.ok()) return statusor.status();           \
  lhs = std::move(statusor).value()

#endif  // AGORA_COMMON_STATUS_MACROS_H_
