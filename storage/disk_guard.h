// DiskGuard: refuses writes while the filesystem of a data directory is nearly full, and keeps a
// ballast file there that can be given up the moment a write finds the disk full after all.
//
// RocksDB (7.8, as Debian ships it) aborts the process on a write that follows a failed WAL
// append, and a full disk is the usual cause of one. The guard keeps writes from getting there in
// two ways. It admits a write only while, after it, a reserve stays free; the free space is read
// (statvfs, about a microsecond) on every call, so another process filling the disk is noticed by
// the next write. The reserve also leaves room for memtable flushes and compactions. And it keeps
// a ballast file, `<directory>/RESERVED`, of kBallastBytes allocated: if another process takes the
// last bytes between a write's admission and its WAL append, the append's file system gives the
// ballast up (ReleaseBallast) and the append still finds room. The ballast comes back by itself
// once there is room for it above the reserve. Thread-safe.
#ifndef SESSIOND_STORAGE_DISK_GUARD_H_
#define SESSIOND_STORAGE_DISK_GUARD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace sessiond::storage {

// The size of the filesystem holding `path` (0 if it cannot be read).
uint64_t FilesystemBytes(const std::string& path);

class DiskGuard {
 public:
  // The ballast's size: more than one WAL append (a write group of sessions of at most 1 MiB).
  static constexpr uint64_t kBallastBytes = uint64_t{4} << 20;
  // The reserve is at most this fraction of the filesystem's size, so that on a small volume it
  // does not keep writes stopped after space was freed.
  static constexpr uint64_t kMaxReserveFraction = 32;

  // Guards the filesystem holding `directory` (which must exist), keeping `reserve_bytes` free,
  // but at most 1/kMaxReserveFraction of the filesystem. Adopts a ballast left by an earlier run.
  DiskGuard(std::string directory, uint64_t reserve_bytes);

  DiskGuard(const DiskGuard&) = delete;
  DiskGuard& operator=(const DiskGuard&) = delete;

  // OK if `bytes` more may be written; RESOURCE_EXHAUSTED saying how much is free otherwise.
  // Writes need the ballast in place (it is re-created first if there is room for it again) and
  // the reserve free after them. A write that frees space (a delete) needs only half the reserve
  // and no ballast, so users can still log out.
  absl::Status Admit(size_t bytes, bool frees_space);

  // Deletes the ballast file, freeing kBallastBytes. Returns false if there was none.
  bool ReleaseBallast();

  // The bytes free on the filesystem now (0 if statvfs fails).
  uint64_t FreeBytes() const;

 private:
  // Allocates the ballast file; false if the filesystem refuses.
  bool CreateBallast() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string directory_;
  const std::string ballast_path_;
  const uint64_t reserve_bytes_;
  absl::Mutex mu_;
  bool has_ballast_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_DISK_GUARD_H_
