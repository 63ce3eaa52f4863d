#include "storage/postgres_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sessiond::storage {

absl::StatusOr<PgPool::Lease> PgPool::Acquire(absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < size_;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
      return absl::UnavailableError(absl::StrCat("all ", size_,
                                                 " PostgreSQL connections (--postgres_pool_size) "
                                                 "stayed busy until the call's deadline"));
    }
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
    ++open_;
  }
  // Connect outside the lock; give the slot back if that fails.
  absl::StatusOr<std::unique_ptr<PgConnection>> connection =
      PgConnection::Connect(target_, deadline);
  absl::Status ready = connection.status();
  if (ready.ok()) ready = setup_(**connection, deadline);
  if (!ready.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return ready;
  }
  return Lease(this, *std::move(connection));
}

void PgPool::Return(std::unique_ptr<PgConnection> connection) {
  absl::MutexLock lock(&mu_);
  if (connection->broken()) {
    --open_;
  } else {
    idle_.push_back(std::move(connection));
  }
}

}  // namespace sessiond::storage
