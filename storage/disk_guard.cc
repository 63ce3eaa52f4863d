#include "storage/disk_guard.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sessiond::storage {
uint64_t FilesystemBytes(const std::string& path) {
  struct statvfs stats;
  return statvfs(path.c_str(), &stats) == 0 ? uint64_t{stats.f_blocks} * stats.f_frsize : 0;
}

DiskGuard::DiskGuard(std::string directory, uint64_t reserve_bytes)
    : directory_(std::move(directory)),
      ballast_path_(directory_ + "/RESERVED"),
      reserve_bytes_(std::min(reserve_bytes, FilesystemBytes(directory_) / kMaxReserveFraction)) {
  struct stat stats;
  absl::MutexLock lock(&mu_);
  has_ballast_ = stat(ballast_path_.c_str(), &stats) == 0 &&
                 uint64_t{512} * static_cast<uint64_t>(stats.st_blocks) >= kBallastBytes;
}

uint64_t DiskGuard::FreeBytes() const {
  struct statvfs stats;
  return statvfs(directory_.c_str(), &stats) == 0 ? uint64_t{stats.f_bavail} * stats.f_frsize : 0;
}

bool DiskGuard::CreateBallast() {
  const int fd = open(ballast_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool allocated = fallocate(fd, 0, 0, static_cast<off_t>(kBallastBytes)) == 0;
  close(fd);
  if (!allocated) unlink(ballast_path_.c_str());
  return allocated;
}

bool DiskGuard::ReleaseBallast() {
  absl::MutexLock lock(&mu_);
  const bool released = unlink(ballast_path_.c_str()) == 0;
  has_ballast_ = false;
  return released;
}

absl::Status DiskGuard::Admit(size_t bytes, bool frees_space) {
  absl::MutexLock lock(&mu_);
  uint64_t free = FreeBytes();
  if (!has_ballast_ && free >= reserve_bytes_ + kBallastBytes + bytes && CreateBallast()) {
    has_ballast_ = true;
    free -= kBallastBytes;
  }
  const uint64_t reserve = frees_space ? reserve_bytes_ / 2 : reserve_bytes_;
  if (free < reserve + bytes || !(has_ballast_ || frees_space)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the disk is nearly full: ", free, " bytes free under ", directory_,
                     ", and writes need ", reserve_bytes_ + kBallastBytes,
                     " (--min_free_disk_bytes, at most 1/32 of the volume, and a ", kBallastBytes,
                     "-byte ballast); they resume once space is freed"));
  }
  return absl::OkStatus();
}

}  // namespace sessiond::storage
