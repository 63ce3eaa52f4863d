// LiveSessionCounts: a store's own count of each tenant's live sessions, for a store that enforces
// NewSession::live_cap itself within one process (RocksDB). A tenant is the prefix of a session's
// id through its '~' (TenantPrefix); ids without one are not counted.
//
// The store seeds it at open with the sessions on disk that are live then, and feeds it
// the events of every write once the write succeeded (Count): +1 per created session, -1 per
// ending, 0 for updates, touches and rotations (a rotation keeps the tenant). A create takes a
// place under its cap (Reserve) before its write and holds it until the write is counted, so
// concurrent creates never pass the cap. An expired session stops counting when the store ends it
// (the first call to find it expired, or the sweeper); a session already expired at open is never
// counted, so its expiry event (whose time is its deadline, at or before the open) is skipped.
//
// Thread-safe. Its lock is a leaf: taken under any of the store's locks, never around them.
#ifndef SESSIOND_STORAGE_LIVE_SESSION_COUNTS_H_
#define SESSIOND_STORAGE_LIVE_SESSION_COUNTS_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "storage/live_cap.h"
#include "storage/session_event.h"

namespace sessiond::storage {

// The tenant prefix of a session id in the store (through its '~'), or empty for a session outside
// every tenant.
absl::string_view TenantPrefixOf(absl::string_view id);

// How `event` changes the number of live sessions: +1 created, -1 an ending (expired, deleted,
// revoked, evicted), else 0.
int LiveSessionDelta(const SessionEvent& event);

// The live sessions of each tenant (by prefix) a store found on disk at `at`, when it opened.
struct LiveSessionsAtOpen {
  absl::Time at = absl::InfinitePast();
  absl::flat_hash_map<std::string, int64_t> live;
};

class LiveSessionCounts {
 public:
  // A place taken under a cap (or none), given back when destroyed: by then the create's write was
  // counted (or failed).
  class Place {
   public:
    Place() = default;
    Place(Place&& other) noexcept;
    Place& operator=(Place&&) = delete;
    Place(const Place&) = delete;
    ~Place();

   private:
    friend class LiveSessionCounts;
    Place(LiveSessionCounts* owner, std::string prefix)
        : owner_(owner), prefix_(std::move(prefix)) {}

    LiveSessionCounts* owner_ = nullptr;  // null: no place held
    std::string prefix_;
  };

  // Counts from what the store held at open on. Disabled (`enabled` false: the server has no
  // tenants), it counts nothing and caps nothing.
  LiveSessionCounts(bool enabled, LiveSessionsAtOpen at_open);
  LiveSessionCounts(const LiveSessionCounts&) = delete;
  LiveSessionCounts& operator=(const LiveSessionCounts&) = delete;

  bool enabled() const { return enabled_; }

  // A place for one more session under `cap`, or LiveCapExceeded if the live sessions (and the
  // places held by creates in flight) already reach cap.max. No place is needed (an empty one is
  // returned) when disabled or cap.max is 0.
  absl::StatusOr<Place> Reserve(const LiveCap& cap);

  // Counts the events of a write that succeeded.
  void Count(absl::Span<const SessionEvent> events);

 private:
  struct Tenant {
    int64_t live = 0;
    int64_t reserved = 0;
  };

  // Gives back a place Reserve took.
  void Release(const std::string& prefix);

  const bool enabled_;
  const absl::Time opened_at_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Tenant> tenants_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_LIVE_SESSION_COUNTS_H_
