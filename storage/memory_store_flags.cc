// The memory store's flags, with defaults from MemoryStoreOptions.
#include "absl/flags/flag.h"
#include "storage/backend_flags.h"
#include "storage/byte_size.h"
#include "storage/memory_store.h"

ABSL_FLAG(sessiond::storage::ByteSize, max_memory_bytes,
          {sessiond::storage::MemoryStoreOptions().max_memory_bytes},
          "memory store: cap on the memory sessions take; beyond it new sessions (and growth of "
          "existing ones) get RESOURCE_EXHAUSTED, live ones are never evicted. 0: no cap. The "
          "default is half of the container's memory limit (cgroup), or of the machine's memory");

namespace sessiond::storage {

absl::StatusOr<std::unique_ptr<Store>> OpenMemoryStoreFromFlags(const SessionLimits& limits) {
  MemoryStoreOptions options;
  options.limits = limits;
  options.max_memory_bytes = absl::GetFlag(FLAGS_max_memory_bytes).bytes;
  return NewMemoryStore(options);
}

}  // namespace sessiond::storage
