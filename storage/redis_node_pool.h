// RedisNodePool: the connections of a RedisClient (redis_client.h) to one node. A connection is
// leased to one caller at a time and comes back when the lease ends: idle if it still works,
// closed if it failed. New connections are opened on demand, at most
// options.max_connections_per_node at once; a caller beyond that waits (at most connect_timeout)
// for one to come back.
//
// Thread-safe.
#ifndef SESSIOND_STORAGE_REDIS_NODE_POOL_H_
#define SESSIOND_STORAGE_REDIS_NODE_POOL_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/redis_client.h"
#include "storage/redis_connection.h"

namespace sessiond::storage {

class RedisNodePool {
 public:
  // A connection on loan; returns it to the pool when destroyed.
  class Lease {
   public:
    Lease(RedisNodePool* pool, std::unique_ptr<RedisConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) = default;
    Lease& operator=(Lease&& other) = delete;
    ~Lease() {
      if (connection_ != nullptr) pool_->Return(std::move(connection_));
    }
    RedisConnection* operator->() const { return connection_.get(); }

   private:
    RedisNodePool* pool_;
    std::unique_ptr<RedisConnection> connection_;
  };

  // `options` and the pool must outlive every lease; `tls` is null without TLS.
  RedisNodePool(RedisAddress address, const RedisOptions& options,
                std::shared_ptr<RedisTlsContext> tls);
  RedisNodePool(const RedisNodePool&) = delete;
  RedisNodePool& operator=(const RedisNodePool&) = delete;

  // An idle connection, or a new one (RedisConnection::Open's errors). UNAVAILABLE if all
  // max_connections_per_node stay leased for connect_timeout.
  absl::StatusOr<Lease> Acquire();

  const RedisAddress& address() const { return address_; }

 private:
  void Return(std::unique_ptr<RedisConnection> connection);

  const RedisAddress address_;
  const RedisOptions& options_;
  const std::shared_ptr<RedisTlsContext> tls_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<RedisConnection>> idle_ ABSL_GUARDED_BY(mu_);
  // Connections open or being opened, leased or idle.
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_REDIS_NODE_POOL_H_
