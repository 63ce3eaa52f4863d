// The in-memory Store: the embedded default backend. Nothing survives a restart.
//
// Sessions are spread over a power-of-two number of shards by a hash of their id; each shard is a
// mutex, a hash set of MemorySession records (memory_session.h) and an ExpiryWheel, so every
// operation is O(1) in the number of sessions and calls on different shards never contend.
// SweepExpired reclaims expired sessions in time proportional to how many expired. A memory cap
// rejects new sessions (and growth of existing ones) with RESOURCE_EXHAUSTED instead of evicting
// live users.
#ifndef SESSIOND_STORAGE_MEMORY_STORE_H_
#define SESSIOND_STORAGE_MEMORY_STORE_H_

#include <cstddef>
#include <memory>

#include "storage/clock.h"
#include "storage/session.h"
#include "storage/store.h"

namespace sessiond::storage {

// The memory cap a store gets unless told otherwise: half of AvailableMemoryBytes() (the
// container's limit, else the machine's memory), leaving the other half to gRPC's buffers,
// allocator fragmentation and the rest of the process.
size_t DefaultMaxMemoryBytes();

struct MemoryStoreOptions {
  // Time source; not owned, must outlive the store. Null means RealClock().
  Clock* clock = nullptr;
  SessionLimits limits;
  // Upper bound on the memory the store's sessions take (their heap blocks and their share of the
  // shards' hash tables); 0 means no cap.
  size_t max_memory_bytes = DefaultMaxMemoryBytes();
  // Number of shards, rounded up to a power of two; 0 picks 4 x hardware threads (at least 16).
  size_t shards = 0;
};

// Returns a new, empty in-memory store.
std::unique_ptr<Store> NewMemoryStore(const MemoryStoreOptions& options);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_MEMORY_STORE_H_
