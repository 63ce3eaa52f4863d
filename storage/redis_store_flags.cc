// The Redis store's flags, with defaults from RedisStoreOptions and RedisOptions.
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "storage/backend_flags.h"
#include "storage/redis_store.h"
#include "storage/secret_file.h"

namespace {
const sessiond::storage::RedisStoreOptions kDefaults;
}  // namespace

ABSL_FLAG(std::string, redis_addrs, "",
          "redis: host:port[,host:port...] of a standalone Redis (one address) or of Redis "
          "Cluster nodes to discover the cluster from (several, or --redis_cluster)");
ABSL_FLAG(bool, redis_cluster, kDefaults.redis.cluster,
          "redis: route by cluster slot even with one address in --redis_addrs");
ABSL_FLAG(std::string, redis_user, kDefaults.redis.user,
          "redis: ACL user for AUTH (empty: the default user)");
ABSL_FLAG(std::string, redis_password, kDefaults.redis.password,
          "redis: password for AUTH (empty: no AUTH); prefer SESSIOND_REDIS_PASSWORD or "
          "--redis_password_file over the command line, which other users can see");
ABSL_FLAG(std::string, redis_password_file, "",
          "redis: a file whose first line is the password for AUTH (overrides --redis_password)");
ABSL_FLAG(bool, redis_tls, kDefaults.redis.tls, "redis: connect to every node over TLS");
ABSL_FLAG(std::string, redis_tls_ca_file, kDefaults.redis.tls_ca_file,
          "redis: CA certificates (PEM) that verify the servers (empty: the system's)");
ABSL_FLAG(std::string, redis_tls_cert_file, kDefaults.redis.tls_cert_file,
          "redis: client certificate (PEM) to present, for servers that require one");
ABSL_FLAG(std::string, redis_tls_key_file, kDefaults.redis.tls_key_file,
          "redis: the client certificate's private key (PEM)");
ABSL_FLAG(std::string, redis_tls_server_name, kDefaults.redis.tls_server_name,
          "redis: the name to verify in the servers' certificates (empty: each address's host)");
ABSL_FLAG(absl::Duration, redis_connect_timeout, kDefaults.redis.connect_timeout,
          "redis: how long opening a connection may take");
ABSL_FLAG(absl::Duration, redis_timeout, kDefaults.redis.command_timeout,
          "redis: how long one command may wait for its reply; keep it under the deadline "
          "clients give their calls");
ABSL_FLAG(uint64_t, redis_pool_size, kDefaults.redis.max_connections_per_node,
          "redis: most connections to one node (each carries one command at a time)");
ABSL_FLAG(int, redis_wait_replicas, kDefaults.redis.wait_replicas,
          "redis: after each write, WAIT until this many replicas have it, else UNAVAILABLE "
          "(0: acknowledge once the primary has it; a failover may then lose the last writes)");
ABSL_FLAG(absl::Duration, redis_wait_timeout, kDefaults.redis.wait_timeout,
          "redis: how long a write waits for --redis_wait_replicas replicas");
ABSL_FLAG(std::string, redis_key_prefix, kDefaults.key_prefix,
          "redis: the prefix of every key sessiond writes");
ABSL_FLAG(int, redis_unhealthy_after, kDefaults.unhealthy_after,
          "redis: health says NOT_SERVING after this many consecutive calls or probes failed to "
          "reach Redis, until one succeeds");

namespace sessiond::storage {
namespace {

// The addresses --redis_addrs names.
std::vector<std::string> AddressesFromFlags() {
  std::vector<std::string> addresses;
  for (absl::string_view address :
       absl::StrSplit(absl::GetFlag(FLAGS_redis_addrs), ',', absl::SkipWhitespace())) {
    addresses.emplace_back(absl::StripAsciiWhitespace(address));
  }
  return addresses;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenRedisStoreFromFlags(const SessionLimits& limits) {
  RedisStoreOptions options;
  options.redis.addresses = AddressesFromFlags();
  if (options.redis.addresses.empty()) {
    return absl::InvalidArgumentError("--store=redis needs --redis_addrs (host:port[,...])");
  }
  options.redis.cluster = absl::GetFlag(FLAGS_redis_cluster) || options.redis.addresses.size() > 1;
  options.redis.user = absl::GetFlag(FLAGS_redis_user);
  options.redis.password = absl::GetFlag(FLAGS_redis_password);
  if (const std::string file = absl::GetFlag(FLAGS_redis_password_file); !file.empty()) {
    absl::StatusOr<std::string> password = ReadSecretFile(file, "--redis_password_file");
    if (!password.ok()) return password.status();
    options.redis.password = *std::move(password);
  }
  options.redis.tls = absl::GetFlag(FLAGS_redis_tls);
  options.redis.tls_ca_file = absl::GetFlag(FLAGS_redis_tls_ca_file);
  options.redis.tls_cert_file = absl::GetFlag(FLAGS_redis_tls_cert_file);
  options.redis.tls_key_file = absl::GetFlag(FLAGS_redis_tls_key_file);
  options.redis.tls_server_name = absl::GetFlag(FLAGS_redis_tls_server_name);
  options.redis.connect_timeout = absl::GetFlag(FLAGS_redis_connect_timeout);
  options.redis.command_timeout = absl::GetFlag(FLAGS_redis_timeout);
  options.redis.max_connections_per_node = absl::GetFlag(FLAGS_redis_pool_size);
  options.redis.wait_replicas = absl::GetFlag(FLAGS_redis_wait_replicas);
  options.redis.wait_timeout = absl::GetFlag(FLAGS_redis_wait_timeout);
  options.key_prefix = absl::GetFlag(FLAGS_redis_key_prefix);
  options.unhealthy_after = absl::GetFlag(FLAGS_redis_unhealthy_after);
  options.limits = limits;
  return OpenRedisStore(options);
}

}  // namespace sessiond::storage
