// DiskGuard: refuses writes while the filesystem of a data directory is nearly full.
//
// RocksDB (7.8, as Debian ships it) aborts the process on a write that follows a failed WAL
// append, and a full disk is the usual cause of one. The guard keeps writes from getting there: it
// refuses a write with RESOURCE_EXHAUSTED while the free space is below a reserve, which also
// leaves room for memtable flushes and compactions. Free space is re-read (statvfs) at most every
// kRefreshInterval, or sooner once kRefreshBytes were admitted since the last reading, so a burst
// can overshoot the reserve by about that much. Writes resume by themselves once space is freed.
// Thread-safe.
#ifndef SESSIOND_STORAGE_DISK_GUARD_H_
#define SESSIOND_STORAGE_DISK_GUARD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sessiond::storage {

class DiskGuard {
 public:
  static constexpr absl::Duration kRefreshInterval = absl::Milliseconds(100);
  static constexpr uint64_t kRefreshBytes = uint64_t{1} << 20;

  // Guards the filesystem holding `path`, keeping `reserve_bytes` free.
  DiskGuard(std::string path, uint64_t reserve_bytes);

  // OK if `bytes` more may be written; RESOURCE_EXHAUSTED saying how much is free otherwise. A
  // write that frees space (a delete) may use half the reserve, so users can still log out.
  absl::Status Admit(size_t bytes, bool frees_space);

 private:
  // Re-reads the free space; keeps the last reading if statvfs fails.
  void Refresh(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const uint64_t reserve_bytes_;
  absl::Mutex mu_;
  uint64_t free_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t admitted_since_refresh_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time refreshed_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_DISK_GUARD_H_
