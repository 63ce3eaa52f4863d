#include "storage/disk_guard.h"

#include <sys/statvfs.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sessiond::storage {

DiskGuard::DiskGuard(std::string path, uint64_t reserve_bytes)
    : path_(std::move(path)), reserve_bytes_(reserve_bytes) {}

void DiskGuard::Refresh(absl::Time now) {
  struct statvfs stats;
  if (statvfs(path_.c_str(), &stats) == 0) {
    free_bytes_ = static_cast<uint64_t>(stats.f_bavail) * stats.f_frsize;
  }
  refreshed_at_ = now;
  admitted_since_refresh_ = 0;
}

absl::Status DiskGuard::Admit(size_t bytes, bool frees_space) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  if (now - refreshed_at_ >= kRefreshInterval || admitted_since_refresh_ >= kRefreshBytes) {
    Refresh(now);
  }
  const uint64_t remaining =
      free_bytes_ > admitted_since_refresh_ ? free_bytes_ - admitted_since_refresh_ : 0;
  const uint64_t reserve = frees_space ? reserve_bytes_ / 2 : reserve_bytes_;
  if (remaining < reserve + bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the disk is nearly full: ", remaining, " bytes free under ", path_,
                     ", and writes stop below ", reserve_bytes_, " (--min_free_disk_bytes)"));
  }
  admitted_since_refresh_ += bytes;
  return absl::OkStatus();
}

}  // namespace sessiond::storage
