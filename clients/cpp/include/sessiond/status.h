// Error conversion between gRPC and absl for the sessiond C++ client.
//
// Every Client method reports errors as an absl::Status with the gRPC status code and message the
// server sent. The rich error details the server attaches in the `grpc-status-details-bin` trailer
// (a google.rpc.Status whose `details` are google.protobuf.Any messages) are kept as payloads of
// that absl::Status, keyed by each Any's type URL, so that nothing the server said is lost.
// sessiond sends sessiond.v1.ConflictDetails on ABORTED (GetConflictDetails reads it back) and
// sessiond.v1.NotFoundDetails on NOT_FOUND for a session that ended recently (GetNotFoundDetails).
//
// All functions are pure and thread-safe.
#ifndef SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_STATUS_H_
#define SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_STATUS_H_

#include <optional>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "sessiond/v1/session.pb.h"

namespace sessiond {

// Returns an absl::Status with the code and message of `status` (OK for OK). If `status` carries
// error details that parse as a google.rpc.Status, each of their Any messages becomes a payload
// keyed by its type URL whose bytes are the Any's serialized value. Error details that do not parse
// are dropped; the code and message are kept.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The outcome of one operation of a Batch as a Client method would report it: OK for success,
// else the code and message, with its ConflictDetails or NotFoundDetails as the same payloads
// FromGrpcStatus makes of the unary call's trailer.
absl::Status FromBatchResult(const v1::BatchResult& result);

// The ConflictDetails carried by `status` (an ABORTED status returned by a Client method), or
// nullopt if it carries none or they do not parse.
std::optional<v1::ConflictDetails> GetConflictDetails(const absl::Status& status);

// Why the session is gone, from a NOT_FOUND status returned by a Client method: nullopt when the
// server did not say (an id that never existed, or one that ended before --gone_retention).
std::optional<v1::NotFoundDetails> GetNotFoundDetails(const absl::Status& status);

}  // namespace sessiond

#endif  // SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_STATUS_H_
