#include "sessiond/status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/unknown_field_set.h"

namespace sessiond {
namespace {

// The type URL google::protobuf::Any::PackFrom gives a ConflictDetails, as the server packs it.
constexpr absl::string_view kConflictDetailsTypeUrl =
    "type.googleapis.com/sessiond.v1.ConflictDetails";

constexpr absl::string_view kNotFoundDetailsTypeUrl =
    "type.googleapis.com/sessiond.v1.NotFoundDetails";

// google.rpc.Status.details: repeated google.protobuf.Any.
constexpr int kStatusDetailsField = 3;

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  // The google.rpc.Status is read field by field rather than with generated code, so that this
  // library links no copy of google/rpc/status.proto that could clash with a consumer's own.
  google::protobuf::UnknownFieldSet rich;
  if (status.error_details().empty() || !rich.ParseFromString(status.error_details())) {
    return result;
  }
  for (int i = 0; i < rich.field_count(); ++i) {
    const google::protobuf::UnknownField& field = rich.field(i);
    if (field.number() != kStatusDetailsField ||
        field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    google::protobuf::Any detail;
    if (detail.ParseFromString(field.length_delimited())) {
      result.SetPayload(detail.type_url(), absl::Cord(absl::string_view(detail.value())));
    }
  }
  return result;
}

absl::Status FromBatchResult(const v1::BatchResult& result) {
  if (result.code() == 0) return absl::OkStatus();
  absl::Status status(static_cast<absl::StatusCode>(result.code()), result.message());
  if (result.has_conflict()) {
    status.SetPayload(kConflictDetailsTypeUrl, absl::Cord(result.conflict().SerializeAsString()));
  }
  if (result.has_not_found()) {
    status.SetPayload(kNotFoundDetailsTypeUrl, absl::Cord(result.not_found().SerializeAsString()));
  }
  return status;
}

// The detail of type `Details` under `type_url` in `status`, if present and parseable.
template <typename Details>
std::optional<Details> GetDetails(const absl::Status& status, absl::string_view type_url) {
  const auto payload = status.GetPayload(type_url);
  if (!payload.has_value()) return std::nullopt;
  Details details;
  if (!details.ParseFromString(std::string(*payload))) return std::nullopt;
  return details;
}

std::optional<v1::ConflictDetails> GetConflictDetails(const absl::Status& status) {
  return GetDetails<v1::ConflictDetails>(status, kConflictDetailsTypeUrl);
}

std::optional<v1::NotFoundDetails> GetNotFoundDetails(const absl::Status& status) {
  return GetDetails<v1::NotFoundDetails>(status, kNotFoundDetailsTypeUrl);
}

}  // namespace sessiond
