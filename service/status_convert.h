// ToGrpcStatus: the one place where a storage or validation error becomes a gRPC status.
#ifndef SESSIOND_SERVICE_STATUS_CONVERT_H_
#define SESSIOND_SERVICE_STATUS_CONVERT_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace sessiond::service {

// The same code and message. An ABORTED status that carries a storage::Conflict also gets a
// google.rpc.Status in the `grpc-status-details-bin` trailer whose details hold one
// sessiond.v1.ConflictDetails. A code the API never returns for a client's mistake (INTERNAL,
// UNKNOWN, ...) keeps its code.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_STATUS_CONVERT_H_
