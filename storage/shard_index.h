// ShardIndex: which of 2^shard_bits shards a key belongs to, from its 64-bit hash.
//
// It takes the hash's top bits. Each shard holds an absl::flat_hash_map fed the same hash, which
// takes its control bytes from the low 7 bits and its probe start from the bits just above them;
// sharding on low bits would give every key of a shard the same low bits, so lookups would compare
// against many more false candidates (measured 4-7x slower).
#ifndef SESSIOND_STORAGE_SHARD_INDEX_H_
#define SESSIOND_STORAGE_SHARD_INDEX_H_

#include <cstddef>
#include <cstdint>

namespace sessiond::storage {

// The shard, in [0, 2^shard_bits), for a key hashing to `hash`; `shard_bits` is at most 63.
inline size_t ShardIndex(uint64_t hash, int shard_bits) {
  return shard_bits == 0 ? 0 : static_cast<size_t>(hash >> (64 - shard_bits));
}

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_SHARD_INDEX_H_
