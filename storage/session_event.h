// SessionEvent: one change to one session, as a store records it in its EventLog (event_log.h) and
// WatchSessions streams it. Plain data; never holds values.
#ifndef SESSIOND_STORAGE_SESSION_EVENT_H_
#define SESSIOND_STORAGE_SESSION_EVENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "storage/session.h"

namespace sessiond::storage {

struct SessionEvent {
  enum class Kind {
    kCreated = 1,
    kUpdated = 2,
    kRotated = 3,
    kTouched = 4,
    kExpired = 5,
    kDeleted = 6,
    kRevoked = 7,
    kEvicted = 8,
  };

  // Assigned by the EventLog (or by the backend that orders events, e.g. a Redis stream).
  uint64_t sequence = 0;
  Kind kind = Kind::kCreated;
  // The session's id (for kRotated: the id before).
  std::string id;
  // kRotated: the id after.
  std::string new_id;
  // The session's principal after the event.
  std::string principal;
  // The session's version after the event (for an ending: its last).
  uint64_t version = 0;
  // kUpdated: the keys set or removed, sorted and unique.
  std::vector<std::string> changed_keys;
  // kUpdated: the change cleared the session.
  bool cleared = false;
  // Endings (kExpired, kDeleted, kRevoked, kEvicted): why.
  GoneReason reason = GoneReason::kUnknown;
  absl::Time at;

  friend bool operator==(const SessionEvent&, const SessionEvent&) = default;
};

// The event of `kind` (one without details: created, touched, rotated before its ids are set) of
// session `meta` at `at`.
SessionEvent EventOf(SessionEvent::Kind kind, const SessionMeta& meta, absl::Time at);

// The kUpdated event of `mutations` applied to the session `meta` (as it is after them).
SessionEvent UpdatedEvent(const SessionMeta& meta, const std::vector<Mutation>& mutations);

// The event of session `meta` ending for `reason` at `at` (kind from the reason).
SessionEvent EndedEvent(const SessionMeta& meta, GoneReason reason, absl::Time at);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_SESSION_EVENT_H_
