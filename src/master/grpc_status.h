// absl::Status <-> grpc::Status at the master's gRPC edges (the canonical
// codes have the same numbers).
#ifndef AGORA_MASTER_GRPC_STATUS_H_
#define AGORA_MASTER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace agora {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace agora

#endif  // AGORA_MASTER_GRPC_STATUS_H_
