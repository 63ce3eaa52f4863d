// FromRocksDbStatus: the one place where a RocksDB status becomes a canonical absl::Status.
#ifndef SESSIOND_STORAGE_ROCKSDB_STATUS_H_
#define SESSIOND_STORAGE_ROCKSDB_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace sessiond::storage {

// OK for OK. Disk full -> RESOURCE_EXHAUSTED; I/O errors, busy, time-outs, shutdown and a DB
// stopped by a background error -> UNAVAILABLE (the caller may retry; writes resume by themselves);
// corruption -> DATA_LOSS; NotFound -> NOT_FOUND; anything else -> INTERNAL. The message says what
// was being done (`action`) and RocksDB's own words.
absl::Status FromRocksDbStatus(const rocksdb::Status& status, absl::string_view action);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_ROCKSDB_STATUS_H_
