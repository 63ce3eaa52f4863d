// Durability: when a durable backend acknowledges a write. Kept apart from rocksdb_store.h so that
// configuration code compiles without RocksDB's headers.
#ifndef SESSIOND_STORAGE_ROCKSDB_DURABILITY_H_
#define SESSIOND_STORAGE_ROCKSDB_DURABILITY_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sessiond::storage {

enum class Durability {
  // The write's WAL record is fsynced before the call returns: survives power loss.
  kSync,
  // The WAL record is written to the OS, not fsynced: survives kill -9, not power loss.
  kAsync,
};

// Abseil's flag hooks: "sync" and "async" (defined in rocksdb_store_flags.cc).
bool AbslParseFlag(absl::string_view text, Durability* durability, std::string* error);
std::string AbslUnparseFlag(Durability durability);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_ROCKSDB_DURABILITY_H_
