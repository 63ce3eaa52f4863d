// ToGrpcStatus and ToBatchResult: the one place where a storage or validation error becomes a gRPC
// status, for a call or for one operation of a Batch.
#ifndef SESSIOND_SERVICE_STATUS_CONVERT_H_
#define SESSIOND_SERVICE_STATUS_CONVERT_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "sessiond/v1/session.pb.h"

namespace sessiond::service {

// The same code and message. An ABORTED status that carries a storage::Conflict also gets a
// google.rpc.Status in the `grpc-status-details-bin` trailer whose details hold one
// sessiond.v1.ConflictDetails. A code the API never returns for a client's mistake (INTERNAL,
// UNKNOWN, ...) keeps its code.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The same outcome for one Batch operation: for an error, `result` loses its response and gets the
// code, the message and the details ToGrpcStatus would put in the trailer (ConflictDetails,
// NotFoundDetails) in their typed fields. Leaves `result` as it is for OK.
void ToBatchResult(const absl::Status& status, v1::BatchResult* result);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_STATUS_CONVERT_H_
