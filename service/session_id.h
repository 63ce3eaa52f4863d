// Session ids: 192 bits from the kernel's CSPRNG, written as 32 characters of base64url (RFC 4648
// §5) without padding. The server generates every id; it never adopts one a client invents.
#ifndef SESSIOND_SERVICE_SESSION_ID_H_
#define SESSIOND_SERVICE_SESSION_ID_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sessiond::service {

// Random bytes per id, and the length of its base64url text.
inline constexpr size_t kSessionIdBytes = 24;
inline constexpr size_t kSessionIdLength = 32;

// A new id from getrandom(2). Thread-safe.
std::string NewSessionId();

// OK if `id` has the form of a session id; else INVALID_ARGUMENT naming `field` and what is wrong.
// Says nothing about whether the session exists.
absl::Status ValidateSessionId(absl::string_view id, absl::string_view field);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_SESSION_ID_H_
