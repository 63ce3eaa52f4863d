#include "storage/rocksdb_status.h"

#include "absl/strings/str_cat.h"

namespace sessiond::storage {

absl::Status FromRocksDbStatus(const rocksdb::Status& status, absl::string_view action) {
  if (status.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(action, ": ", status.ToString());
  if (status.IsNoSpace()) {
    return absl::ResourceExhaustedError(absl::StrCat("the disk is full; ", message));
  }
  switch (status.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(message);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(message);
    case rocksdb::Status::kIOError:
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kShutdownInProgress:
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kAborted:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace sessiond::storage
