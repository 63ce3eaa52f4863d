// RedisNodePool: the connections of a RedisClient (redis_client.h) to one node, a ConnectionPool
// (connection_pool.h) of at most options.max_connections_per_node; a caller beyond that waits (at
// most connect_timeout) for one to come back.
//
// Thread-safe.
#ifndef SESSIOND_STORAGE_REDIS_NODE_POOL_H_
#define SESSIOND_STORAGE_REDIS_NODE_POOL_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "storage/connection_pool.h"
#include "storage/redis_client.h"
#include "storage/redis_connection.h"

namespace sessiond::storage {

class RedisNodePool {
 public:
  // A connection on loan; returns it to the pool when destroyed.
  using Lease = ConnectionPool<RedisConnection>::Lease;

  // `options` and the pool must outlive every lease; `tls` is null without TLS.
  RedisNodePool(RedisAddress address, const RedisOptions& options,
                std::shared_ptr<RedisTlsContext> tls);
  RedisNodePool(const RedisNodePool&) = delete;
  RedisNodePool& operator=(const RedisNodePool&) = delete;

  // An idle connection, or a new one (RedisConnection::Open's errors). UNAVAILABLE if all
  // max_connections_per_node stay leased for connect_timeout.
  absl::StatusOr<Lease> Acquire() {
    return connections_.Acquire(absl::Now() + options_.connect_timeout);
  }

  const RedisAddress& address() const { return address_; }

 private:
  const RedisAddress address_;
  const RedisOptions& options_;
  ConnectionPool<RedisConnection> connections_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_REDIS_NODE_POOL_H_
