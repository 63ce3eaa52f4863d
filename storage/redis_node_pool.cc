#include "storage/redis_node_pool.h"

#include <utility>

namespace sessiond::storage {

RedisNodePool::RedisNodePool(RedisAddress address, const RedisOptions& options,
                             std::shared_ptr<RedisTlsContext> tls)
    : address_(std::move(address)),
      options_(options),
      connections_(
          options.max_connections_per_node,
          [this, tls = std::move(tls)](absl::Time) {
            return RedisConnection::Open(address_, options_, tls);
          },
          "Redis " + address_.ToString(), "--redis_pool_size") {}

}  // namespace sessiond::storage
