#include "service/status_convert.h"

#include <optional>
#include <string>

#include "google/rpc/status.pb.h"
#include "service/proto_convert.h"
#include "sessiond/v1/session.pb.h"
#include "storage/conflict.h"
#include "storage/session_gone.h"

namespace sessiond::service {

namespace {

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
  if (const std::optional<storage::Conflict> conflict = storage::GetConflict(status)) {
    v1::ConflictDetails details;
    details.set_current_version(conflict->current_version);
    for (const std::string& key : conflict->keys) details.add_conflicting_keys(key);
    return WithDetails(code, message, details);
  }
  if (const std::optional<storage::GoneDetails> gone = storage::GoneDetailsOf(status)) {
    v1::NotFoundDetails details;
    details.set_reason(ToProto(gone->reason));
    ToTimestamp(gone->ended_at, details.mutable_ended_at());
    return WithDetails(code, message, details);
  }
  return grpc::Status(code, message);
}

}  // namespace sessiond::service
