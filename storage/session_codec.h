// The byte encodings of durable backends (session_record.proto): one session (metadata and
// SessionState) as a sessiond.storage.SessionRecord, one event as an EventRecord. Times are kept in
// milliseconds.
#ifndef SESSIOND_STORAGE_SESSION_CODEC_H_
#define SESSIOND_STORAGE_SESSION_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/session.h"
#include "storage/session_event.h"
#include "storage/session_gone.h"
#include "storage/session_state.h"

namespace sessiond::storage {

// A session as stored: metadata (with its id), state, and where a backend's expiry index has it.
struct StoredSession {
  SessionMeta meta;
  SessionState state;
  // The deadline the session is filed under in an expiry index (backend-defined; never later
  // than meta.idle_expires_at).
  absl::Time indexed_deadline;
  // A stub (SessionState::Stub) is the record kept for the idempotency window in place of a
  // session a Delete or Rotate with a request_id ended, or under CreateStubKey for a Create. It is
  // never live; meta.idle_expires_at is when it goes.
  bool stub = false;
  // For a stub: the id of the session the request left (rotated to, or created); empty after a
  // Delete.
  std::string successor;
  // For a stub in place of an ended session: why and when it ended (kUnknown for a Create's stub).
  GoneDetails gone;
};

// The encoding of `session` (its id is not encoded: it is the record's key).
std::string EncodeSession(const StoredSession& session);

// The session `id` encoded in `bytes`. DATA_LOSS if they do not decode.
absl::StatusOr<StoredSession> DecodeSession(absl::string_view id, absl::string_view bytes);

// The encoding of `event`, its sequence excepted (it is the record's key).
std::string EncodeEvent(const SessionEvent& event);

// The event `sequence` encoded in `bytes`. DATA_LOSS if they do not decode.
absl::StatusOr<SessionEvent> DecodeEvent(uint64_t sequence, absl::string_view bytes);

// `time` truncated to the millisecond precision stored records keep.
absl::Time TruncateToMillis(absl::Time time);

// Renews `meta`'s idle timer at `now` (IdleDeadline, truncated to milliseconds), a use at `now`.
void RenewStored(SessionMeta& meta, absl::Time now);

// A stub (StoredSession::stub) under `key` for a request with `request_id` that left `successor`
// (empty after a Delete) at `version`, kept from `now` for limits.idempotency_window.
StoredSession MakeStub(std::string key, std::string successor, uint64_t version,
                       std::string request_id, absl::Time now, const SessionLimits& limits);

// A stub like MakeStub's, kept from `now` until `until`, and saying why its session ended (`gone`;
// kUnknown for a Create's stub). `request_id` may be empty (a stub kept only for its reason).
StoredSession MakeStubUntil(std::string key, std::string successor, uint64_t version,
                            std::string request_id, GoneDetails gone, absl::Time now,
                            absl::Time until, const SessionLimits& limits);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_SESSION_CODEC_H_
