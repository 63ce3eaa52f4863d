// ConnectionPool: at most `size` connections to one server, shared by the threads of a client. A
// connection is leased to one caller at a time and comes back when the lease ends: idle if it
// still works, closed if it failed (Connection::broken()). New connections open on demand; an idle
// one the server closed meanwhile (say, it restarted) is dropped unused
// (Connection::IsIdleAndOpen()), so the pool heals by itself once the server is back. A caller
// beyond `size` waits for a connection to come back, until its deadline. Used by the Redis client
// (one pool per node) and the PostgreSQL store.
//
// Thread-safe.
#ifndef SESSIOND_STORAGE_CONNECTION_POOL_H_
#define SESSIOND_STORAGE_CONNECTION_POOL_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sessiond::storage {

// `Connection` has `bool broken() const` and `bool IsIdleAndOpen()`.
template <typename Connection>
class ConnectionPool {
 public:
  // Opens a new connection by the deadline.
  using Open = std::function<absl::StatusOr<std::unique_ptr<Connection>>(absl::Time deadline)>;

  // `server` names the server in errors ("Redis 127.0.0.1:6379"), `size_flag` the flag that sets
  // `size`.
  ConnectionPool(size_t size, Open open, std::string server, std::string size_flag)
      : size_(size),
        open_connection_(std::move(open)),
        server_(std::move(server)),
        size_flag_(std::move(size_flag)) {}
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connection on loan; returns it to the pool when destroyed.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) = default;
    Lease& operator=(Lease&& other) = delete;
    ~Lease() {
      if (connection_ != nullptr) pool_->Return(std::move(connection_));
    }
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  // An idle connection, or a new one (Open's errors). UNAVAILABLE if all `size` stay leased until
  // `deadline`.
  absl::StatusOr<Lease> Acquire(absl::Time deadline) {
    while (true) {
      std::unique_ptr<Connection> idle;
      {
        absl::MutexLock lock(&mu_);
        auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !idle_.empty() || open_ < size_;
        };
        if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
          return absl::UnavailableError(absl::StrCat(server_, ": all ", size_, " connections (",
                                                     size_flag_, ") stayed busy"));
        }
        if (idle_.empty()) {
          ++open_;
          break;
        }
        idle = std::move(idle_.back());
        idle_.pop_back();
      }
      if (idle->IsIdleAndOpen()) return Lease(this, std::move(idle));
      Return(std::move(idle));
    }
    absl::StatusOr<std::unique_ptr<Connection>> connection = open_connection_(deadline);
    if (!connection.ok()) {
      absl::MutexLock lock(&mu_);
      --open_;
      return connection.status();
    }
    return Lease(this, *std::move(connection));
  }

 private:
  void Return(std::unique_ptr<Connection> connection) {
    absl::MutexLock lock(&mu_);
    if (connection->broken()) {
      --open_;
    } else {
      idle_.push_back(std::move(connection));
    }
  }

  const size_t size_;
  const Open open_connection_;
  const std::string server_;
  const std::string size_flag_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  // Connections open or being opened, leased or idle.
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_CONNECTION_POOL_H_
