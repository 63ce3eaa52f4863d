// Each backend's opener from its own flags, for open_store.cc's table. Internal to storage/: the
// server opens stores through open_store.h.
#ifndef SESSIOND_STORAGE_BACKEND_FLAGS_H_
#define SESSIOND_STORAGE_BACKEND_FLAGS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "storage/session.h"
#include "storage/store.h"

namespace sessiond::storage {

// memory_store_flags.cc: a memory store with --max_memory_bytes.
absl::StatusOr<std::unique_ptr<Store>> OpenMemoryStoreFromFlags(const SessionLimits& limits);

// rocksdb_store_flags.cc: a RocksDB store with --data_dir, --durability, --min_free_disk_bytes.
// INVALID_ARGUMENT if --data_dir is empty.
absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStoreFromFlags(const SessionLimits& limits);

// redis_store_flags.cc: a Redis store with the --redis_* flags. INVALID_ARGUMENT if --redis_addrs
// is empty or the password file cannot be read.
absl::StatusOr<std::unique_ptr<Store>> OpenRedisStoreFromFlags(const SessionLimits& limits);

// postgres_store_flags.cc: a PostgreSQL store with the --postgres_* flags. INVALID_ARGUMENT if
// --postgres_dsn is empty or malformed, or the password file cannot be read.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStoreFromFlags(const SessionLimits& limits);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_BACKEND_FLAGS_H_
