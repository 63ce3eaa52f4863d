// SessionState: one session's entries, its version, and the per-key write versions that Commit's
// conflict detection needs, with the logic that checks and applies a mutation batch.
//
// Backend-neutral: the memory store keeps one per session; a durable backend stores its parts
// (packed_entries, tombstones, removed_floor) and restores it. Not thread-safe: the owner locks.
//
// Entries are packed into one buffer, sorted by key: per entry a kind byte, the key and the value
// payload each after a varint length, and the version that last wrote the entry as a varint. A
// session of five 100-byte values is then one allocation of about 550 bytes, not fifteen objects.
// Lookups scan the buffer, which for the at most --max_keys entries of a session beats a tree.
//
// Conflict detection: every entry remembers the version that last wrote it. A removed key leaves a
// tombstone with the version that removed it; only the newest kMaxTombstones are kept, and
// `removed_floor` remembers the newest removal that is no longer individually known (a clear sets
// it too). A key without an entry or tombstone was therefore last written at or before
// removed_floor. This is conservative: it can report a conflict that a perfect record would not
// (only after a clear or more than kMaxTombstones removals since the caller's read), never miss
// one.
#ifndef SESSIOND_STORAGE_SESSION_STATE_H_
#define SESSIOND_STORAGE_SESSION_STATE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "storage/session.h"
#include "storage/store.h"
#include "storage/value.h"

namespace sessiond::storage {

class SessionState {
 public:
  static constexpr size_t kMaxTombstones = 32;

  struct Tombstone {
    std::string key;
    // The session version that removed the key.
    uint64_t version;
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

  // A state as a backend stored it. DATA_LOSS if `packed_entries` do not parse or are not sorted
  // by unique key.
  static absl::StatusOr<SessionState> Restore(uint64_t version, std::string packed_entries,
                                              std::vector<Tombstone> tombstones,
                                              uint64_t removed_floor);

  uint64_t version() const { return version_; }
  size_t key_count() const { return key_count_; }
  // Sum over entries of key bytes + ValueSize: what the session size limit counts.
  size_t data_bytes() const { return data_bytes_; }
  // The stored form of the entries (see the file comment), for durable backends.
  const std::string& packed_entries() const { return packed_; }
  const std::vector<Tombstone>& tombstones() const { return tombstones_; }
  uint64_t removed_floor() const { return removed_floor_; }
  // An estimate of the heap memory this state takes, for a store's memory cap.
  size_t ApproximateMemory() const;

  // Visits the existing entries named in `keys`, or all entries in key order if `keys` is empty.
  void Visit(absl::Span<const absl::string_view> keys, EntryVisitor visit) const;

  // ABORTED with a Conflict unless `if_version` is absent or equals the current version.
  absl::Status CheckIfVersion(std::optional<uint64_t> if_version) const;

  // Checks `conditions` and the `limits` the state would reach after `mutations`, changing
  // nothing. ABORTED with a Conflict, or RESOURCE_EXHAUSTED naming the limit.
  absl::StatusOr<Plan> Check(absl::Span<const Mutation> mutations, const Conditions& conditions,
                             const SessionLimits& limits) const;

  // Applies `mutations`, which Check has accepted, and bumps the version if `plan.changes`.
  void Commit(std::vector<Mutation> mutations, const Plan& plan);

  // Bumps the version without touching entries (id rotation).
  void BumpVersion() { ++version_; }

 private:
  // One packed entry, viewed in place.
  struct EntryRef {
    absl::string_view key;
    ValueView value;
    uint64_t version;
    absl::string_view encoded;  // the whole entry as packed
  };

  SessionState() = default;

  // The entry for `key`, if there is one.
  std::optional<EntryRef> Find(absl::string_view key) const;
  // Calls `visit` for every entry in key order.
  template <typename Fn>
  void ForEachEntry(Fn visit) const;
  // The version that last wrote `key`: its entry's, its tombstone's, or removed_floor_.
  uint64_t LastWrite(absl::string_view key) const;
  // The written keys that changed after `read_version`; sets `*floor_conflict` when a clear or a
  // forgotten removal after it may have touched keys no longer known.
  std::vector<std::string> ConflictingKeys(absl::Span<const Mutation> mutations,
                                           uint64_t read_version, bool* floor_conflict) const;
  void AddTombstone(std::string key, uint64_t version);
  void DropTombstone(absl::string_view key);

  uint64_t version_ = 1;
  uint64_t removed_floor_ = 0;
  size_t key_count_ = 0;
  size_t data_bytes_ = 0;
  std::string packed_;
  std::vector<Tombstone> tombstones_;  // oldest first
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_SESSION_STATE_H_
