// Store: the one storage interface the service knows. Backends: memory (memory_store.h, the
// default), RocksDB (rocksdb_store.h, durable), Redis (redis_store.h) and PostgreSQL
// (postgres_store.h) (shared by replicas), opened by name through open_store.h and held to
// one contract by storage/store_contract_test.h. Decorators derive from StoreWrapper
// (store_wrapper.h).
//
// Every method is atomic for the one session it names: a concurrent reader sees a call's effect
// entirely or not at all, and a failed mutation changes nothing. Implementations are thread-safe.
//
// Idempotency: every mutation takes an optional request_id (empty: none). A mutation that succeeds
// with one is remembered for SessionLimits::idempotency_window; a retry with the same request_id
// in that window applies nothing and returns the first attempt's outcome, as each method says.
// Delete and Rotate leave a small record under the old id for the window; Create one under the
// request_id. A failed mutation is not remembered (it applied nothing), so its retry runs afresh.
//
// Expiry: a session is expired once the store's clock reaches its idle_expires_at (which is never
// later than absolute_expires_at). Every method treats an expired session exactly like an unknown
// one, whether or not it has been reclaimed yet.
//
// Why a session is gone: for SessionLimits::gone_retention after a session ended, NOT_FOUND for it
// is a SessionGoneError (session_gone.h) saying why (expired idle or absolute, deleted, revoked,
// evicted, rotated) and when; otherwise SessionNotFoundError. Never the new id of a rotation.
//
// Principals: a store indexes sessions by principal, so ListSessions and RevokeSessions cost time
// proportional to that principal's sessions, and enforces SessionLimits::max_sessions_per_principal
// atomically at Create and at a Rotate that binds a principal. The index holds exactly the live
// sessions: an entry goes when its session ends, however it ends (expiry included).
//
// Events: every change is recorded in the store's EventLog (Events()) in the order it happened
// (per session, exactly the order of the calls): created, updated (keys, never values), rotated,
// touched (only with SessionLimits::record_touches), and each ending with its reason. An expiry is
// recorded once, when SweepExpired reclaims the session or a call finds it expired, whichever is
// first. An idempotent retry that applies nothing records nothing.
//
// Errors are absl::Status with canonical codes:
//   NOT_FOUND           the session is unknown, expired or deleted
//   ABORTED             a version condition failed; the status carries a Conflict (conflict.h)
//   FAILED_PRECONDITION a read_version ahead of the session (a caller bug)
//   RESOURCE_EXHAUSTED  a SessionLimits limit, or the store's capacity
//   ALREADY_EXISTS      Create/Rotate with an id that is taken (the caller picks a new id)
//   UNAVAILABLE         the backend cannot be reached or cannot write right now (retrying later
//                       may succeed). Nothing was written, unless a networked backend (Redis,
//                       PostgreSQL) sent the write and lost the reply, or could not confirm it
//                       on enough replicas: then it may have been; a retry with the same
//                       request_id applies it at most once
//   DATA_LOSS           a stored session cannot be decoded (durable backends)
//   INTERNAL            a broken invariant inside the backend (a bug)
// The service validates ids, keys and sizes of a request before calling; a store does not repeat
// those checks.
#ifndef SESSIOND_STORAGE_STORE_H_
#define SESSIOND_STORAGE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "storage/event_log.h"
#include "storage/session.h"

namespace sessiond::storage {

// Whether a read renews the idle timer.
enum class Renewal { kRenew, kNoRenew };

// Receives each entry a Get returns. Called while the store may hold a lock: it must be quick and
// must not call back into the store. The views are valid only during the call.
using EntryVisitor = absl::FunctionRef<void(absl::string_view key, ValueView value)>;

// The NOT_FOUND every backend returns for a session that is unknown, expired or deleted.
inline absl::Status SessionNotFoundError() {
  return absl::NotFoundError("no such session (unknown, expired or deleted)");
}

class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  // Creates a session at version 1 whose idle and absolute expiry count from now.
  // ALREADY_EXISTS if the id is taken; RESOURCE_EXHAUSTED if the entries exceed the limits or the
  // store is at capacity. A retry of session.request_id returns the session that request created,
  // as it is now (NOT_FOUND if it has ended since), and ignores session.id.
  // Where CapsLiveSessions() is true and session.live_cap.max is not 0: RESOURCE_EXHAUSTED
  // (LiveCapExceeded) if at least live_cap.max sessions whose ids start with live_cap.id_prefix are
  // live, decided atomically with the create, so concurrent creates through any number of
  // replicas never leave more than max live. An expired session stops counting when it expires
  // (at the latest when SweepExpired reclaims it). A retry of session.request_id is answered
  // before the cap is checked; Rotate is never refused by it (one session replaces another).
  virtual absl::StatusOr<SessionMeta> Create(NewSession session) = 0;

  // Visits the entries named in `keys` that exist (every entry when `keys` is empty, in key order)
  // and returns the session's metadata; with kRenew the idle timer is renewed first.
  virtual absl::StatusOr<SessionMeta> Get(absl::string_view id,
                                          absl::Span<const absl::string_view> keys, Renewal renewal,
                                          EntryVisitor visit) = 0;

  // Applies `mutations` in order, all or nothing, if `conditions` hold, and renews the idle timer.
  // The version goes up by one if anything changed (a set always changes; removing an absent key or
  // clearing an empty session does not). ABORTED with a Conflict if a condition fails (a
  // read_version conflict names at least one key, exactly within the last max_keys removals: see
  // session_state.h); FAILED_PRECONDITION if conditions.read_version is ahead of the session;
  // RESOURCE_EXHAUSTED if the result would exceed a limit or the store's capacity.
  virtual absl::StatusOr<SessionMeta> Apply(absl::string_view id, std::vector<Mutation> mutations,
                                            const Conditions& conditions) = 0;

  // Receives the outcome of an ApplyGrouped.
  using ApplyDone = absl::AnyInvocable<void(absl::StatusOr<SessionMeta> outcome) &&>;

  // Apply, answered through `done` (called exactly once) instead of a return. Where
  // GroupsApplies() is true, the caller's thread does not wait: the store queues the call, applies
  // it with others in one durable write and calls `done` on a thread of its own (`done` must be
  // quick and must not call back into the store). The queue is unbounded: callers bound how many
  // calls they leave waiting (the server: --max_queued_requests).
  // Otherwise it is Apply, and `done` runs on the calling thread before this returns.
  virtual void ApplyGrouped(absl::string_view id, std::vector<Mutation> mutations,
                            const Conditions& conditions, ApplyDone done) {
    std::move(done)(Apply(id, std::move(mutations), conditions));
  }

  // True if ApplyGrouped never blocks its caller (it queues the call for a committer thread).
  // Decorators do not forward it: through them it is false.
  virtual bool GroupsApplies() const { return false; }

  // Renews the idle timer, never past the absolute expiry. The version does not change.
  virtual absl::StatusOr<SessionMeta> Touch(absl::string_view id) = 0;

  // Deletes the session. Returns true if a live session was deleted, false if there was none.
  // ABORTED if `if_version` is given and the live session is at another version. A retry of a
  // `request_id` that deleted the session returns true.
  virtual absl::StatusOr<bool> Delete(absl::string_view id, std::optional<uint64_t> if_version,
                                      absl::string_view request_id) = 0;

  // Moves the session from `id` to `new_id` with the same entries, labels, created_at and absolute
  // expiry, a version one higher and the idle timer renewed (a rotation is a use); `id` is unknown
  // from then on (gone: kRotated). With `bind_principal`, the session belongs to that principal
  // (empty: none) in the same step, under the principal cap (RESOURCE_EXHAUSTED or an eviction, as
  // for Create). ALREADY_EXISTS if `new_id` is taken. A retry of a `request_id` that rotated `id`
  // ignores `new_id` and returns the session under the id the first attempt gave it, as it is now
  // (NOT_FOUND if it has ended since).
  virtual absl::StatusOr<SessionMeta> Rotate(absl::string_view id, std::string new_id,
                                             std::optional<uint64_t> if_version,
                                             absl::string_view request_id,
                                             const std::optional<std::string>& bind_principal) = 0;

  // Up to `page_size` (≥ 1) live sessions of `principal` (not empty), newest created first (then
  // by id, descending), starting after `page_token` (page_token.h; empty: from the newest). Renews
  // nothing. INVALID_ARGUMENT for a token DecodePageToken refuses.
  virtual absl::StatusOr<SessionPage> ListSessions(absl::string_view principal, size_t page_size,
                                                   absl::string_view page_token) = 0;

  // Ends every live session of `principal` (not empty) except those in `except_ids`, each
  // atomically (gone: kRevoked, with an event), and returns how many it ended. Each ended session
  // is unknown to every call that starts after this returns.
  virtual absl::StatusOr<size_t> RevokeSessions(absl::string_view principal,
                                                absl::Span<const std::string> except_ids) = 0;

  // The store's event log. Lives as long as the store.
  virtual EventLog& Events() = 0;

  // Reclaims sessions that have expired, in time proportional to how many expired, recording an
  // expiry event for each (and its gone reason). Returns how many were reclaimed. Called
  // periodically by a Sweeper.
  virtual absl::StatusOr<size_t> SweepExpired() = 0;

  // A snapshot of the store's size.
  virtual StoreStats Stats() const = 0;

  // True if calls may block the calling thread for long (waiting for a disk or a network), so the
  // server must run them on threads of their own rather than on gRPC's few callback threads.
  virtual bool MayBlock() const = 0;

  // False while the store serves reads only (a durable store that could not open for writing, on
  // a full disk): writes then fail with RESOURCE_EXHAUSTED until it can write again by itself. The
  // server reports it in health.
  virtual bool AcceptsWrites() const = 0;

  // True if Create honours NewSession::live_cap. A store that does not (it serves one process
  // from an empty start, or is counted by the server from its event log) ignores the cap.
  virtual bool CapsLiveSessions() const { return false; }
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_STORE_H_
