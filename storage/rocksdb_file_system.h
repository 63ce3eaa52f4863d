// A RocksDB FileSystem whose log files (WAL, MANIFEST, OPTIONS; everything but table files)
// allocate their space before they write, and give up a ballast to get it when the disk is full.
//
// RocksDB 7.8 aborts the process when a log writer that saw a failed append is used again (the
// WritableFileWriter assertion `sync_without_flush_called_`), so a WAL append must not fail for
// want of space. Each append here first allocates (fallocate, keeping the file size) the range it
// will write, in steps of kAllocationStep, keeping half a step allocated ahead while it can, so a
// file has room left when the disk fills up; if the filesystem is full and the append does not
// fit, it calls `release_ballast` and tries once more with just what it needs. Table files
// (flushes, compactions) are written as the base file system writes them: their failures are
// background errors RocksDB recovers from.
#ifndef SESSIOND_STORAGE_ROCKSDB_FILE_SYSTEM_H_
#define SESSIOND_STORAGE_ROCKSDB_FILE_SYSTEM_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "rocksdb/file_system.h"

namespace sessiond::storage {

// How far ahead of its end a log file allocates.
inline constexpr uint64_t kAllocationStep = uint64_t{1} << 20;

// Wraps `base`. `release_ballast` frees space on the same filesystem and returns whether it freed
// any; it is called from RocksDB's write path and must be thread-safe.
std::shared_ptr<rocksdb::FileSystem> NewSpaceReservingFileSystem(
    std::shared_ptr<rocksdb::FileSystem> base, std::function<bool()> release_ballast);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_ROCKSDB_FILE_SYSTEM_H_
