// Durability: when a durable backend acknowledges a write. Kept apart from rocksdb_store.h so that
// configuration code compiles without RocksDB's headers.
#ifndef SESSIOND_STORAGE_ROCKSDB_DURABILITY_H_
#define SESSIOND_STORAGE_ROCKSDB_DURABILITY_H_

namespace sessiond::storage {

enum class Durability {
  // The write's WAL record is fsynced before the call returns: survives power loss.
  kSync,
  // The WAL record is written to the OS, not fsynced: survives kill -9, not power loss.
  kAsync,
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_ROCKSDB_DURABILITY_H_
