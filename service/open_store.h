// OpenStore: picks and opens the storage backend a server was configured with.
#ifndef SESSIOND_SERVICE_OPEN_STORE_H_
#define SESSIOND_SERVICE_OPEN_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/rocksdb_durability.h"
#include "storage/session.h"
#include "storage/store.h"

namespace sessiond::service {

struct StoreConfig {
  // "memory" or "rocksdb".
  std::string backend = "memory";
  // memory: cap on the store's estimate of session memory; 0 means no cap.
  size_t max_memory_bytes = 0;
  // rocksdb: the database directory (required).
  std::string data_dir;
  // rocksdb: writes are refused while less than this is free on the data directory's disk.
  uint64_t min_free_disk_bytes = uint64_t{128} << 20;
  // rocksdb: when an acknowledged write is durable.
  storage::Durability durability = storage::Durability::kSync;
};

// Opens the configured backend enforcing `limits`. INVALID_ARGUMENT for an unknown backend or a
// missing data_dir; otherwise the backend's own open errors.
absl::StatusOr<std::unique_ptr<storage::Store>> OpenStore(const StoreConfig& config,
                                                          const storage::SessionLimits& limits);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_OPEN_STORE_H_
