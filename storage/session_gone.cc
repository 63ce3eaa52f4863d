#include "storage/session_gone.h"

#include <cstdint>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sessiond::storage {
namespace {

// The payload's type URL and its text: "<reason number> <ended_at in unix ms>".
constexpr absl::string_view kGonePayload = "type.sessiond.dev/storage.GoneDetails";

}  // namespace

const char* GoneReasonText(GoneReason reason) {
  switch (reason) {
    case GoneReason::kExpiredIdle:
      return "expired (idle timeout)";
    case GoneReason::kExpiredAbsolute:
      return "expired (absolute lifetime)";
    case GoneReason::kDeleted:
      return "deleted";
    case GoneReason::kRevoked:
      return "revoked";
    case GoneReason::kEvicted:
      return "evicted (too many sessions for its principal)";
    case GoneReason::kRotated:
      return "rotated to a new id";
    case GoneReason::kUnknown:
      break;
  }
  return "unknown";
}

absl::Status SessionGoneError(const GoneDetails& details) {
  absl::Status status =
      absl::NotFoundError(absl::StrCat("no such session: it was ", GoneReasonText(details.reason)));
  status.SetPayload(kGonePayload, absl::Cord(absl::StrCat(static_cast<int>(details.reason), " ",
                                                          absl::ToUnixMillis(details.ended_at))));
  return status;
}

std::optional<GoneDetails> GoneDetailsOf(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kNotFound) return std::nullopt;
  auto payload = status.GetPayload(kGonePayload);
  if (!payload.has_value()) return std::nullopt;
  std::pair<std::string, std::string> parts = absl::StrSplit(std::string(*payload), ' ');
  int reason = 0;
  int64_t millis = 0;
  if (!absl::SimpleAtoi(parts.first, &reason) || !absl::SimpleAtoi(parts.second, &millis) ||
      reason <= 0 || reason > static_cast<int>(GoneReason::kRotated)) {
    return std::nullopt;
  }
  return GoneDetails{static_cast<GoneReason>(reason), absl::FromUnixMillis(millis)};
}

}  // namespace sessiond::storage
