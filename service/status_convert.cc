#include "service/status_convert.h"

#include <optional>
#include <string>

#include "google/rpc/status.pb.h"
#include "service/proto_convert.h"
#include "storage/conflict.h"
#include "storage/session_gone.h"

namespace sessiond::service {

namespace {

// The ConflictDetails an ABORTED `status` carries, if it is a version conflict.
std::optional<v1::ConflictDetails> ConflictDetailsOf(const absl::Status& status) {
  const std::optional<storage::Conflict> conflict = storage::GetConflict(status);
  if (!conflict) return std::nullopt;
  v1::ConflictDetails details;
  details.set_current_version(conflict->current_version);
  for (const std::string& key : conflict->keys) details.add_conflicting_keys(key);
  return details;
}

// The NotFoundDetails a NOT_FOUND `status` carries, if the store remembers why the session ended.
std::optional<v1::NotFoundDetails> NotFoundDetailsOf(const absl::Status& status) {
  const std::optional<storage::GoneDetails> gone = storage::GoneDetailsOf(status);
  if (!gone) return std::nullopt;
  v1::NotFoundDetails details;
  details.set_reason(ToProto(gone->reason));
  ToTimestamp(gone->ended_at, details.mutable_ended_at());
  return details;
}

// `status` with `details` in a google.rpc.Status in the grpc-status-details-bin trailer.
grpc::Status WithDetails(grpc::StatusCode code, const std::string& message,
                         const google::protobuf::Message& details) {
  google::rpc::Status rich;
  rich.set_code(static_cast<int32_t>(code));
  rich.set_message(message);
  rich.add_details()->PackFrom(details);
  return grpc::Status(code, message, rich.SerializeAsString());
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());
  if (std::optional<v1::ConflictDetails> details = ConflictDetailsOf(status)) {
    return WithDetails(code, message, *details);
  }
  if (std::optional<v1::NotFoundDetails> details = NotFoundDetailsOf(status)) {
    return WithDetails(code, message, *details);
  }
  return grpc::Status(code, message);
}

void ToBatchResult(const absl::Status& status, v1::BatchResult* result) {
  if (status.ok()) return;
  result->clear_response();
  result->set_code(static_cast<int32_t>(status.code()));
  result->set_message(std::string(status.message()));
  if (std::optional<v1::ConflictDetails> details = ConflictDetailsOf(status)) {
    *result->mutable_conflict() = *std::move(details);
  }
  if (std::optional<v1::NotFoundDetails> details = NotFoundDetailsOf(status)) {
    *result->mutable_not_found() = *std::move(details);
  }
}

}  // namespace sessiond::service
