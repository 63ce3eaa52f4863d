// The tenants file (--tenants_file): which applications (tenants) may call sessiond, how each
// proves who it is, what it may call and its own limits. JSON (YAML would need a new dependency;
// JSON is YAML's subset in practice, and every deployment tool writes it):
//
//   {"tenants": [
//     {"name": "shop",                                   // [a-z0-9_-]{1,32}, unique
//      "token_sha256": ["<64 hex digits>", ...],         // SHA-256 of each bearer token (several
//                                                        // while a token is rotated); never tokens
//      "client_identities": ["shop.internal", ...],      // client certificate SANs (mTLS)
//      "rights": ["sessions", "list", "revoke", "watch"], // absent: all of them
//      "limits": {"max_live_sessions": 100000,           // absent or 0: no limit of its own
//                 "max_session_bytes": 65536,
//                 "default_idle_timeout": "20m", "max_idle_timeout": "1h",
//                 "default_absolute_timeout": "12h", "max_absolute_timeout": "24h"}}]}
//
// A tenant needs at least one token or identity. Rights: "sessions" every rpc on one session
// (CreateSession ... RotateId), "list" ListSessions, "revoke" RevokeSessions, "watch"
// WatchSessions. Unknown fields are errors (a typo must not silently drop a limit).
#ifndef SESSIOND_SERVICE_TENANTS_FILE_H_
#define SESSIOND_SERVICE_TENANTS_FILE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sessiond::service {

// What a tenant may call; a call beyond it is PERMISSION_DENIED.
enum class Right : uint8_t {
  kSessions = 1 << 0,  // CreateSession, Get, Set, Remove, Clear, Touch, Delete, Commit, RotateId
  kList = 1 << 1,      // ListSessions
  kRevoke = 1 << 2,    // RevokeSessions
  kWatch = 1 << 3,     // WatchSessions
};

// The name of `right` as the tenants file writes it ("sessions", ...).
absl::string_view RightName(Right right);

using Sha256 = std::array<uint8_t, 32>;

// A tenant's own limits; unset ones are the server's flags.
struct TenantLimits {
  size_t max_live_sessions = 0;  // 0: none
  size_t max_session_bytes = 0;  // 0: --max_session_bytes only
  std::optional<absl::Duration> default_idle_timeout;
  std::optional<absl::Duration> max_idle_timeout;
  std::optional<absl::Duration> default_absolute_timeout;
  std::optional<absl::Duration> max_absolute_timeout;
};

struct TenantConfig {
  std::string name;
  std::vector<Sha256> token_sha256;
  std::vector<std::string> client_identities;
  uint8_t rights = 0;  // a set of Right bits
  TenantLimits limits;

  bool Has(Right right) const { return (rights & static_cast<uint8_t>(right)) != 0; }
};

// The tenants `text` declares. INVALID_ARGUMENT naming the line and column of a JSON syntax error,
// or the field (`tenants[1].token_sha256[0]`) and what is wrong with it: a missing or malformed
// field, an unknown one, a tenant without credentials, a duplicate name, token or identity.
// Never echoes a token digest. Never throws.
absl::StatusOr<std::vector<TenantConfig>> ParseTenantsFile(absl::string_view text);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_TENANTS_FILE_H_
