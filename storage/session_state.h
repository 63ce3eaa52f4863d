// SessionState: one session's entries, its version, and the per-key write versions that Commit's
// conflict detection needs, with the logic that checks and applies a mutation batch.
//
// Backend-neutral: the memory store keeps one per session; a durable backend stores its parts
// (packed_entries, tombstones, removed_floor, requests) and restores it. Not thread-safe: the owner
// locks.
//
// Entries are packed into one buffer, sorted by key: per entry a kind byte, the key and the value
// payload each after a varint length, and the version that last wrote the entry as a varint. A
// session of five 100-byte values is then one allocation of about 550 bytes, not fifteen objects.
// A call that names keys sorts them once (duplicates dropped) and finds them all in one pass over
// the buffer, so its cost is O(k log k + n) for k named keys and n entries, never O(k * n).
//
// Conflict detection: every entry remembers the version that last wrote it. A removed key (by a
// remove or a clear) leaves a tombstone with the version that removed it; the newest max_keys
// tombstones (SessionLimits) are kept, and `removed_floor` remembers the newest removal that is no
// longer individually known. So for a read_version at or after removed_floor (the window: the last
// max_keys removals) the conflicts reported are exact. Before it they are conservative: a written
// key without an entry or tombstone counts as changed and is named, and a clear conflicts on the
// keys whose removals are still known (there always are some: dropping a tombstone leaves max_keys
// newer ones). A conflict always names at least one key.
//
// Idempotency: the state also remembers the request_ids of the mutations that succeeded on it
// within SessionLimits::idempotency_window (at most max_request_ids, oldest forgotten first), with
// the version each left, so that a retry can be answered without applying anything.
#ifndef SESSIOND_STORAGE_SESSION_STATE_H_
#define SESSIOND_STORAGE_SESSION_STATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "storage/session.h"
#include "storage/store.h"
#include "storage/value.h"

namespace sessiond::storage {

// The key under which a backend keeps the record of a Create with `request_id` (see Stub). It
// starts with a control byte, so it is never a session id.
std::string CreateStubKey(absl::string_view request_id);

// The errors of a failed condition on a session at `version`, as every backend reports them:
// ABORTED with a Conflict for an if_version mismatch, or naming `keys` (sorted) that changed after
// read_version; FAILED_PRECONDITION for a read_version ahead of the session.
absl::Status IfVersionConflictError(uint64_t version, uint64_t if_version);
absl::Status ReadVersionConflictError(uint64_t version, uint64_t read_version,
                                      std::vector<std::string> keys);
absl::Status ReadVersionAheadError(uint64_t version, uint64_t read_version);

// RESOURCE_EXHAUSTED naming the limit if `count` keys or `bytes` (key bytes + value sizes) exceed
// `limits`, or `bytes` the call's own cap (`call`'s max_session_bytes, when given and not 0), and
// grow from `old_count`/`old_bytes` (a session already over a lowered limit may still shrink);
// else OK. For backends that count outside SessionState (Redis).
absl::Status CheckSessionLimits(size_t count, size_t old_count, size_t bytes, size_t old_bytes,
                                const SessionLimits& limits, const Conditions* call = nullptr);

// RESOURCE_EXHAUSTED naming --max_sessions_per_principal, for a principal at `limits`' cap under
// policy reject_new.
absl::Status PrincipalCapError(const SessionLimits& limits);

class SessionState {
 public:
  struct Tombstone {
    std::string key;
    // The session version that removed the key.
    uint64_t version;
  };

  // A mutation that succeeded with a request_id.
  struct AppliedRequest {
    std::string request_id;
    // The session's version after the request.
    uint64_t version;
    // When it is forgotten: its success + SessionLimits::idempotency_window.
    absl::Time expires_at;
  };

  // What a batch would leave behind; returned by Check, consumed by Commit.
  struct Plan {
    size_t key_count = 0;
    size_t data_bytes = 0;
    bool changes = false;
  };

  // A new session at version 1 holding `entries` (a later duplicate key wins).
  // RESOURCE_EXHAUSTED if they exceed `limits`.
  static absl::StatusOr<SessionState> Create(std::vector<Entry> entries,
                                             const SessionLimits& limits);

  // A state as a backend stored it (tombstones in any order, requests oldest first). DATA_LOSS if
  // `packed_entries` do not parse or are not sorted by unique key.
  static absl::StatusOr<SessionState> Restore(uint64_t version, absl::string_view packed_entries,
                                              std::vector<Tombstone> tombstones,
                                              uint64_t removed_floor,
                                              std::vector<AppliedRequest> requests);

  // The state a backend keeps for the idempotency window in place of a session that a Delete or
  // Rotate with `request_id` ended (or under CreateStubKey for a Create), or for the gone-reason
  // window in place of any ended session: no entries, `version`, and only `request_id` (if not
  // empty), remembered from `now`.
  static SessionState Stub(uint64_t version, std::string request_id, absl::Time now,
                           const SessionLimits& limits);

  SessionState(SessionState&&) = default;
  SessionState& operator=(SessionState&&) = default;

  uint64_t version() const { return version_; }
  size_t key_count() const { return ReadHeader().key_count; }
  // Sum over entries of key bytes + ValueSize: what the session size limit counts.
  size_t data_bytes() const { return ReadHeader().data_bytes; }
  // The stored form of the entries (see the file comment), for durable backends.
  absl::string_view packed_entries() const;
  // Sorted by key.
  const std::vector<Tombstone>& tombstones() const;
  uint64_t removed_floor() const { return history_ != nullptr ? history_->removed_floor : 0; }
  // Oldest first.
  const std::vector<AppliedRequest>& requests() const;
  // An estimate of the heap memory this state takes, for a store's memory cap.
  size_t ApproximateMemory() const;

  // Visits the existing entries named in `keys` (in any order, repeats ignored) once each, or all
  // entries if `keys` is empty; in key order either way.
  void Visit(absl::Span<const absl::string_view> keys, EntryVisitor visit) const;

  // ABORTED with a Conflict unless `if_version` is absent or equals the current version.
  absl::Status CheckIfVersion(std::optional<uint64_t> if_version) const;

  // Checks `conditions` and the `limits` the state would reach after `mutations`, changing
  // nothing. FAILED_PRECONDITION if conditions.read_version is ahead of the session's version;
  // ABORTED with a Conflict; RESOURCE_EXHAUSTED naming the limit.
  absl::StatusOr<Plan> Check(absl::Span<const Mutation> mutations, const Conditions& conditions,
                             const SessionLimits& limits) const;

  // Applies `mutations`, which Check has accepted, and bumps the version if `plan.changes`. Keeps
  // at most limits.max_keys tombstones.
  void Commit(std::vector<Mutation> mutations, const Plan& plan, const SessionLimits& limits);

  // Bumps the version without touching entries (id rotation).
  void BumpVersion() { ++version_; }

  // The version a mutation with `request_id` left the session at, if it succeeded and is still
  // remembered at `now`; nullopt for an empty request_id.
  std::optional<uint64_t> FindRequest(absl::string_view request_id, absl::Time now) const;

  // Remembers that a mutation with `request_id` (not empty) succeeded at `now`, leaving the
  // session at version(). Forgets requests expired at `now` and the oldest beyond
  // limits.max_request_ids.
  void RecordRequest(std::string request_id, absl::Time now, const SessionLimits& limits);

 private:
  // One packed entry, viewed in place.
  struct EntryRef {
    absl::string_view key;
    ValueView value;
    uint64_t version;
    absl::string_view encoded;  // the whole entry as packed
  };

  // What only some sessions have: removals and request ids to remember. Kept out of line, so that a
  // session that has neither (most) pays one pointer for them.
  struct History {
    uint64_t removed_floor = 0;
    std::vector<Tombstone> tombstones;     // sorted by key
    std::vector<AppliedRequest> requests;  // oldest first
  };

  // What the header of packed_ holds.
  struct Header {
    size_t key_count = 0;
    size_t data_bytes = 0;
    absl::string_view entries;
  };

  SessionState() = default;

  Header ReadHeader() const;

  // The history, made on first use.
  History& MutableHistory();

  // Calls `visit` for every entry in key order.
  template <typename Fn>
  void ForEachEntry(Fn visit) const;
  // The entries named in `sorted_keys` (sorted, unique) that exist, in key order, found in one
  // pass.
  std::vector<EntryRef> FindAll(absl::Span<const absl::string_view> sorted_keys) const;
  // The tombstone of `key`, or null.
  const Tombstone* FindTombstone(absl::string_view key) const;
  // The written keys that changed after `read_version`, sorted; see the file comment. `written`
  // are the keys `mutations` set or remove (sorted, unique), `written_entries` their FindAll.
  std::vector<std::string> ConflictingKeys(absl::Span<const Mutation> mutations,
                                           absl::Span<const absl::string_view> written,
                                           absl::Span<const EntryRef> written_entries,
                                           uint64_t read_version) const;
  // Drops the tombstones of the keys `changes` sets, adds `removed` (sorted by key), then forgets
  // the oldest beyond `max_tombstones`, raising removed_floor() to the newest one forgotten.
  void UpdateTombstones(const absl::btree_map<absl::string_view, const Value*>& changes,
                        std::vector<Tombstone> removed, size_t max_tombstones);

  uint64_t version_ = 1;
  // The packed entries after a header of three varints: their length, key_count() and
  // data_bytes(). One exact allocation behind one pointer (a std::string and two counters would add
  // 40 bytes to every session and round the capacity up); null when there are no entries.
  std::unique_ptr<char[]> packed_;
  std::unique_ptr<History> history_;  // null until there is one
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_SESSION_STATE_H_
