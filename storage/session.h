// The plain data types that cross the Store interface: what a session is, what a new one asks for,
// and the mutations and conditions of an Apply call. No behaviour lives here.
#ifndef SESSIOND_STORAGE_SESSION_H_
#define SESSIOND_STORAGE_SESSION_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/live_cap.h"
#include "storage/value.h"

namespace sessiond::storage {

// When a session used at `now` expires unless used again: `now + idle_timeout`, but never after
// `absolute_expires_at`. The one expiry rule every backend applies.
inline absl::Time IdleDeadline(absl::Time now, absl::Duration idle_timeout,
                               absl::Time absolute_expires_at) {
  return std::min(now + idle_timeout, absolute_expires_at);
}

// A session's labels (device, user agent, ...), sorted by key.
using Labels = std::map<std::string, std::string>;

// Why a session ended, as NOT_FOUND reports it for the retention window (SessionLimits).
enum class GoneReason {
  kUnknown = 0,  // never existed, or ended before the window
  kExpiredIdle = 1,
  kExpiredAbsolute = 2,
  kDeleted = 3,
  kRevoked = 4,
  kEvicted = 5,
  kRotated = 6,
};

// The expiry reason of a session whose idle deadline was reached: absolute if that deadline was
// capped by the absolute expiry.
inline GoneReason ExpiryReason(absl::Time idle_expires_at, absl::Time absolute_expires_at) {
  return idle_expires_at >= absolute_expires_at ? GoneReason::kExpiredAbsolute
                                                : GoneReason::kExpiredIdle;
}

// One key and its value.
struct Entry {
  std::string key;
  Value value;
};

// Everything about a session except its entries.
struct SessionMeta {
  std::string id;
  std::string principal;
  // +1 on every call that changes the entries or the id; a new session is at version 1.
  uint64_t version = 0;
  absl::Time created_at;
  // last use + idle_timeout, capped at absolute_expires_at. The session is expired once the clock
  // reaches min(idle_expires_at, absolute_expires_at) == idle_expires_at.
  absl::Time idle_expires_at;
  absl::Time absolute_expires_at;
  absl::Duration idle_timeout;
  // The last create, renewing read, write, touch or rotation.
  absl::Time last_access_at;
  Labels labels;
};

// What Create needs. The caller (the service) has already chosen the id, validated every field and
// resolved default timeouts.
struct NewSession {
  std::string id;
  std::string principal;
  absl::Duration idle_timeout;
  absl::Duration absolute_timeout;
  std::vector<Entry> entries;
  Labels labels;
  // The caller's idempotency key, or empty: a Create with the request_id of a Create that
  // succeeded within SessionLimits::idempotency_window creates nothing and returns that session.
  std::string request_id;
  // Not part of the session: a cap on live sessions, honoured by stores whose
  // CapsLiveSessions() is true (others ignore it; see Store::Create).
  LiveCap live_cap;
};

// One operation of an Apply batch.
struct Mutation {
  enum class Kind { kSet, kRemove, kClear };

  static Mutation Set(std::string key, Value value) {
    return {Kind::kSet, std::move(key), std::move(value)};
  }
  static Mutation Remove(std::string key) { return {Kind::kRemove, std::move(key), Value()}; }
  static Mutation Clear() { return {Kind::kClear, std::string(), Value()}; }

  Kind kind;
  std::string key;  // kSet, kRemove
  Value value;      // kSet
};

// Optimistic-concurrency conditions of an Apply batch.
struct Conditions {
  // Whole-session check: apply only if the session is at exactly this version.
  std::optional<uint64_t> if_version;
  // Per-key check: apply only if none of the keys the batch writes changed after this version.
  std::optional<uint64_t> read_version;
  // Not a condition but checked first: the caller's idempotency key, or empty. If a batch with
  // this request_id succeeded on the session within SessionLimits::idempotency_window, Apply
  // applies nothing, checks no condition and returns the session with the version that batch left.
  std::string request_id;
  // Not a condition: a cap for this call on the session's key and value bytes after the batch,
  // below SessionLimits::max_session_bytes (a tenant's own max_session_bytes); 0: none. Checked
  // as that limit is (a session already over it may still shrink), RESOURCE_EXHAUSTED naming it
  // as `max_session_bytes_name` says (which must outlive the call).
  size_t max_session_bytes = 0;
  absl::string_view max_session_bytes_name;
};

// What a store does when a principal already has max_sessions_per_principal sessions.
enum class PrincipalCapPolicy {
  // The new session (or the binding at rotation) fails with RESOURCE_EXHAUSTED.
  kRejectNew,
  // The principal's least recently used session ends (GoneReason::kEvicted) to make room.
  kEvictOldest,
};

// Per-session limits a store enforces on the state after a mutation (per-request limits such as
// key length are the service's), and what it remembers of sessions that ended.
struct SessionLimits {
  size_t max_keys = 1024;
  // Sum over entries of key bytes + ValueSize.
  size_t max_session_bytes = size_t{1} << 20;
  // How long a successful mutation's request_id is remembered (--idempotency_window).
  absl::Duration idempotency_window = absl::Minutes(10);
  // The most request_ids a session remembers at once; past it the oldest is forgotten early.
  size_t max_request_ids = 64;
  // The most live sessions one principal may have (--max_sessions_per_principal); 0: no limit.
  size_t max_sessions_per_principal = 0;
  PrincipalCapPolicy principal_cap_policy = PrincipalCapPolicy::kRejectNew;
  // How long a store remembers why a session ended (--gone_retention); 0: not at all.
  absl::Duration gone_retention = absl::Hours(1);
  // How many events the store's EventLog keeps for resuming watchers (--event_retention).
  size_t event_retention = 100'000;
  // Whether renewals without a change (Touch, renewing Get) are events (--watch_touches).
  bool record_touches = false;
  // Whether the server serves tenants (--tenants_file). A store that caps a tenant's live sessions
  // within one process (RocksDB; Store::CapsLiveSessions) counts them only then, since counting
  // costs a read of every stored session when it opens.
  bool count_tenant_sessions = false;
};

// What a store holds, for metrics. Exact for the memory store; durable stores estimate.
struct StoreStats {
  // Sessions stored and not yet reclaimed (expired ones may still count until swept).
  size_t live_sessions = 0;
  // The store's own estimate of the memory or disk its sessions take.
  size_t approximate_bytes = 0;
  // Stored records that did not decode and were deleted (durable backends; 0 for the others).
  size_t undecodable_records_deleted = 0;
  // Entries in the principal index (one per live session with a principal, not yet reclaimed).
  size_t principal_index_entries = 0;
};

// A page of a principal's sessions (Store::ListSessions).
struct SessionPage {
  // Newest created first.
  std::vector<SessionMeta> sessions;
  // Where the next page starts (EncodePageToken); empty on the last page.
  std::string next_page_token;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_SESSION_H_
