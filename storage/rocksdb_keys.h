// The keys of the RocksDB store's index column families (rocksdb_store.h), so that RocksDB's
// bytewise key order is the order each index is read in:
//   expiry      big-endian deadline in ms, then the session id: due sessions first.
//   principals  the principal (after its big-endian 32-bit length, so that no principal's keys
//               run into another's), then created_at in ms descending, then the id descending:
//               a principal's sessions, newest first, as ListSessions returns them.
//   events      the big-endian sequence: oldest first.
#ifndef SESSIOND_STORAGE_ROCKSDB_KEYS_H_
#define SESSIOND_STORAGE_ROCKSDB_KEYS_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sessiond::storage {

// The expiry index key of session `id` due at `deadline` (times before 1970 count as 1970).
std::string ExpiryKey(absl::Time deadline, absl::string_view id);

// The inverse of ExpiryKey, for keys of at least 8 bytes.
std::pair<absl::Time, absl::string_view> ParseExpiryKey(absl::string_view key);

// The prefix every principal index key of `principal` starts with.
std::string PrincipalPrefix(absl::string_view principal);

// The principal index key of session `id` of `principal` created at `created_at`. Ids of any bytes
// order exactly (descending, a prefix after what it prefixes).
std::string PrincipalKey(absl::string_view principal, absl::Time created_at, absl::string_view id);

// The event log key of `sequence`, and its inverse (for keys of 8 bytes).
std::string SequenceKey(uint64_t sequence);
uint64_t ParseSequenceKey(absl::string_view key);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_ROCKSDB_KEYS_H_
