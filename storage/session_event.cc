#include "storage/session_event.h"

#include <algorithm>

namespace sessiond::storage {

SessionEvent EventOf(SessionEvent::Kind kind, const SessionMeta& meta, absl::Time at) {
  SessionEvent event;
  event.kind = kind;
  event.id = meta.id;
  event.principal = meta.principal;
  event.version = meta.version;
  event.at = at;
  return event;
}

SessionEvent UpdatedEvent(const SessionMeta& meta, const std::vector<Mutation>& mutations) {
  SessionEvent event;
  event.kind = SessionEvent::Kind::kUpdated;
  event.id = meta.id;
  event.principal = meta.principal;
  event.version = meta.version;
  event.at = meta.last_access_at;
  for (const Mutation& mutation : mutations) {
    if (mutation.kind == Mutation::Kind::kClear) {
      event.cleared = true;
    } else {
      event.changed_keys.push_back(mutation.key);
    }
  }
  std::sort(event.changed_keys.begin(), event.changed_keys.end());
  event.changed_keys.erase(std::unique(event.changed_keys.begin(), event.changed_keys.end()),
                           event.changed_keys.end());
  return event;
}

SessionEvent EndedEvent(const SessionMeta& meta, GoneReason reason, absl::Time at) {
  SessionEvent event;
  switch (reason) {
    case GoneReason::kExpiredIdle:
    case GoneReason::kExpiredAbsolute:
      event.kind = SessionEvent::Kind::kExpired;
      break;
    case GoneReason::kRevoked:
      event.kind = SessionEvent::Kind::kRevoked;
      break;
    case GoneReason::kEvicted:
      event.kind = SessionEvent::Kind::kEvicted;
      break;
    case GoneReason::kDeleted:
    case GoneReason::kRotated:
    case GoneReason::kUnknown:
      event.kind = SessionEvent::Kind::kDeleted;
      break;
  }
  event.id = meta.id;
  event.principal = meta.principal;
  event.version = meta.version;
  event.reason = reason;
  event.at = at;
  return event;
}

}  // namespace sessiond::storage
