// The NOT_FOUND a store returns for a session that ended within SessionLimits::gone_retention:
// the usual not-found message, plus a status payload saying why and when, which the service turns
// into a NotFoundDetails for the caller. Every backend builds and reads it with these functions.
#ifndef SESSIOND_STORAGE_SESSION_GONE_H_
#define SESSIOND_STORAGE_SESSION_GONE_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "storage/session.h"

namespace sessiond::storage {

// Why and when a session ended.
struct GoneDetails {
  GoneReason reason = GoneReason::kUnknown;
  absl::Time ended_at;
};

// NOT_FOUND for a session that ended for `details.reason` (not kUnknown) at `details.ended_at`.
absl::Status SessionGoneError(const GoneDetails& details);

// The details a SessionGoneError carries; nullopt for any other status (a plain
// SessionNotFoundError included).
std::optional<GoneDetails> GoneDetailsOf(const absl::Status& status);

// A short, lowercase description of `reason` for messages ("expired (idle timeout)").
const char* GoneReasonText(GoneReason reason);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_SESSION_GONE_H_
