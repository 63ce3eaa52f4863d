// PgPool: at most `size` PostgreSQL connections shared by the threads of one store. A caller
// leases one connection for a whole call (a transaction never spans two); connections open on
// demand, each set up once by the store's `setup` (session settings, prepared statements), and a
// connection that broke is dropped when its lease ends, so the pool heals by itself once the
// server is back. Thread-safe.
#ifndef SESSIOND_STORAGE_POSTGRES_POOL_H_
#define SESSIOND_STORAGE_POSTGRES_POOL_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/postgres_connection.h"

namespace sessiond::storage {

class PgPool {
 public:
  using Setup = std::function<absl::Status(PgConnection& connection, absl::Time deadline)>;

  PgPool(PgTarget target, size_t size, Setup setup)
      : target_(std::move(target)), size_(size), setup_(std::move(setup)) {}

  // A connection for one caller, returned to the pool (or dropped if broken) when it goes.
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (connection_ != nullptr) pool_->Return(std::move(connection_));
    }
    PgConnection& operator*() const { return *connection_; }
    PgConnection* operator->() const { return connection_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> connection_;
  };

  // An idle connection, or a new one if fewer than `size` are open, waiting by `deadline` for one
  // to come back otherwise. UNAVAILABLE if none is free by then or a new one cannot connect.
  absl::StatusOr<Lease> Acquire(absl::Time deadline);

 private:
  void Return(std::unique_ptr<PgConnection> connection);

  const PgTarget target_;
  const size_t size_;
  const Setup setup_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_POSTGRES_POOL_H_
