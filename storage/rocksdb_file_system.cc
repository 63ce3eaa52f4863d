#include "storage/rocksdb_file_system.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/match.h"

namespace sessiond::storage {
namespace {

class SpaceReservingFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  SpaceReservingFile(std::unique_ptr<rocksdb::FSWritableFile> file,
                     const std::function<bool()>* release_ballast)
      : FSWritableFileOwnerWrapper(std::move(file)), release_ballast_(release_ballast) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus status = Reserve(data.size(), options, dbg); !status.ok()) return status;
    return target()->Append(data, options, dbg);
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& verification_info,
                           rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus status = Reserve(data.size(), options, dbg); !status.ok()) return status;
    return target()->Append(data, options, verification_info, dbg);
  }

 private:
  // Makes sure the next `bytes` of the file are allocated, and tries to keep at least half an
  // allocation step allocated beyond them, so that a file has room left when the disk fills up.
  // Only a full disk with no room for these bytes is an error: a filesystem that cannot allocate
  // ahead just writes as it would have.
  rocksdb::IOStatus Reserve(uint64_t bytes, const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) {
    const uint64_t size = target()->GetFileSize(options, dbg);
    const uint64_t start = std::max(allocated_until_, size);
    const uint64_t end = size + bytes;
    if (end + kAllocationStep / 2 <= allocated_until_) return rocksdb::IOStatus::OK();
    const uint64_t ahead = std::max(end, start) + kAllocationStep;
    if (target()->Allocate(start, ahead - start, options, dbg).ok()) {
      allocated_until_ = ahead;
      return rocksdb::IOStatus::OK();
    }
    if (end <= allocated_until_) return rocksdb::IOStatus::OK();  // room enough for now
    rocksdb::IOStatus status = target()->Allocate(start, end - start, options, dbg);
    if (status.IsNoSpace() && (*release_ballast_)()) {
      status = target()->Allocate(start, end - start, options, dbg);
    }
    if (status.IsNoSpace()) return status;
    if (status.ok()) allocated_until_ = end;
    return rocksdb::IOStatus::OK();
  }

  const std::function<bool()>* const release_ballast_;
  uint64_t allocated_until_ = 0;
};

class SpaceReservingFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  SpaceReservingFileSystem(std::shared_ptr<rocksdb::FileSystem> base,
                           std::function<bool()> release_ballast)
      : FileSystemWrapper(base), release_ballast_(std::move(release_ballast)) {}

  static const char* kClassName() { return "SessiondSpaceReservingFileSystem"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->NewWritableFile(name, options, file, dbg), file);
  }

  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* file,
                                       rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->ReopenWritableFile(name, options, file, dbg), file);
  }

  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* file,
                                      rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->ReuseWritableFile(name, old_name, options, file, dbg), file);
  }

 private:
  // Wraps the just-opened `file` named `name` unless it is a table file.
  rocksdb::IOStatus Wrap(const std::string& name, rocksdb::IOStatus opened,
                         std::unique_ptr<rocksdb::FSWritableFile>* file) const {
    if (opened.ok() && !absl::EndsWith(name, ".sst")) {
      *file = std::make_unique<SpaceReservingFile>(std::move(*file), &release_ballast_);
    }
    return opened;
  }

  const std::function<bool()> release_ballast_;
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> NewSpaceReservingFileSystem(
    std::shared_ptr<rocksdb::FileSystem> base, std::function<bool()> release_ballast) {
  return std::make_shared<SpaceReservingFileSystem>(std::move(base), std::move(release_ballast));
}

}  // namespace sessiond::storage
