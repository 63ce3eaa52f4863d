#include "service/status_convert.h"

#include <optional>
#include <string>

#include "google/rpc/status.pb.h"
#include "sessiond/v1/session.pb.h"
#include "storage/conflict.h"

namespace sessiond::service {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());
  const std::optional<storage::Conflict> conflict = storage::GetConflict(status);
  if (!conflict.has_value()) return grpc::Status(code, message);

  v1::ConflictDetails details;
  details.set_current_version(conflict->current_version);
  for (const std::string& key : conflict->keys) details.add_conflicting_keys(key);
  google::rpc::Status rich;
  rich.set_code(static_cast<int32_t>(code));
  rich.set_message(message);
  rich.add_details()->PackFrom(details);
  return grpc::Status(code, message, rich.SerializeAsString());
}

}  // namespace sessiond::service
