// The RocksDB store's flags, with defaults from RocksDbStoreOptions.
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "storage/backend_flags.h"
#include "storage/byte_size.h"
#include "storage/rocksdb_store.h"

ABSL_FLAG(std::string, data_dir, sessiond::storage::RocksDbStoreOptions().path,
          "rocksdb: the database directory (created if missing)");
ABSL_FLAG(sessiond::storage::Durability, durability,
          sessiond::storage::RocksDbStoreOptions().durability,
          "rocksdb: sync (an acknowledged write is fsynced: survives power loss) or async (written "
          "to the OS, not fsynced: survives kill -9, may lose the last writes on power loss)");
ABSL_FLAG(sessiond::storage::ByteSize, min_free_disk_bytes,
          {sessiond::storage::RocksDbStoreOptions().min_free_disk_bytes},
          "rocksdb: writes get RESOURCE_EXHAUSTED while less than this (at most 1/32 of the "
          "volume) would stay free on --data_dir's filesystem (room for flushes and "
          "compactions); they resume once space is freed");
ABSL_FLAG(sessiond::storage::ByteSize, rocksdb_memtable_bytes,
          {sessiond::storage::RocksDbStoreOptions().memtable_bytes},
          "rocksdb: the size of one memtable; the write-ahead log is bounded at two of them, and "
          "the data directory at about 3x the live data plus 32 of them");

namespace sessiond::storage {

bool AbslParseFlag(absl::string_view text, Durability* durability, std::string* error) {
  if (text == "sync") {
    *durability = Durability::kSync;
  } else if (text == "async") {
    *durability = Durability::kAsync;
  } else {
    *error = absl::StrCat("\"", text, "\" is not a durability; use sync or async");
    return false;
  }
  return true;
}

std::string AbslUnparseFlag(Durability durability) {
  return durability == Durability::kSync ? "sync" : "async";
}

absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStoreFromFlags(const SessionLimits& limits) {
  RocksDbStoreOptions options;
  options.path = absl::GetFlag(FLAGS_data_dir);
  if (options.path.empty()) return absl::InvalidArgumentError("--store=rocksdb needs --data_dir");
  options.limits = limits;
  options.durability = absl::GetFlag(FLAGS_durability);
  options.min_free_disk_bytes = absl::GetFlag(FLAGS_min_free_disk_bytes).bytes;
  options.memtable_bytes = absl::GetFlag(FLAGS_rocksdb_memtable_bytes).bytes;
  return OpenRocksDbStore(options);
}

}  // namespace sessiond::storage
