#include "storage/redis_node_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sessiond::storage {

RedisNodePool::RedisNodePool(RedisAddress address, const RedisOptions& options,
                             std::shared_ptr<RedisTlsContext> tls)
    : address_(std::move(address)), options_(options), tls_(std::move(tls)) {}

absl::StatusOr<RedisNodePool::Lease> RedisNodePool::Acquire() {
  const absl::Time deadline = absl::Now() + options_.connect_timeout;
  while (true) {
    std::unique_ptr<RedisConnection> idle;
    {
      absl::MutexLock lock(&mu_);
      auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < options_.max_connections_per_node;
      };
      if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
        return absl::UnavailableError(absl::StrCat("Redis ", address_.ToString(), ": all ",
                                                   options_.max_connections_per_node,
                                                   " connections stayed busy"));
      }
      if (idle_.empty()) {
        ++open_;
        break;
      }
      idle = std::move(idle_.back());
      idle_.pop_back();
    }
    // An idle connection the server closed meanwhile (say, it restarted) is dropped unused.
    if (idle->IsIdleAndOpen()) return Lease(this, std::move(idle));
    Return(std::move(idle));
  }
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(address_, options_, tls_);
  if (!connection.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return connection.status();
  }
  return Lease(this, *std::move(connection));
}

void RedisNodePool::Return(std::unique_ptr<RedisConnection> connection) {
  absl::MutexLock lock(&mu_);
  if (connection->broken()) {
    --open_;
  } else {
    idle_.push_back(std::move(connection));
  }
}

}  // namespace sessiond::storage
