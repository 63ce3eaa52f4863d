#include "service/open_store.h"

#include "absl/strings/str_cat.h"
#include "storage/memory_store.h"
#ifdef SESSIOND_WITH_ROCKSDB
#include "storage/rocksdb_store.h"
#endif

namespace sessiond::service {

absl::StatusOr<std::unique_ptr<storage::Store>> OpenStore(const StoreConfig& config,
                                                          const storage::SessionLimits& limits) {
  if (config.backend == "memory") {
    return storage::NewMemoryStore({.limits = limits, .max_memory_bytes = config.max_memory_bytes});
  }
  if (config.backend == "rocksdb") {
    if (config.data_dir.empty()) {
      return absl::InvalidArgumentError("--store=rocksdb needs --data_dir");
    }
#ifdef SESSIOND_WITH_ROCKSDB
    return storage::OpenRocksDbStore({.path = config.data_dir,
                                      .limits = limits,
                                      .durability = config.durability,
                                      .min_free_disk_bytes = config.min_free_disk_bytes});
#else
    return absl::InvalidArgumentError("this sessiond was built without RocksDB");
#endif
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--store=", config.backend, " is not a backend; use memory or rocksdb"));
}

}  // namespace sessiond::service
