// Real redis-server processes for tests: a standalone server (plain or TLS), or a 6-node Redis
// Cluster (3 primaries, 3 replicas) formed with `redis-cli --cluster create`, each on a free
// loopback port (with port + 10000 free too, for the cluster bus) in a temporary directory, its
// log in redis.log there, stopped by pid (SIGKILL) when the object goes. Every wait is bounded.
// Needs redis-server and redis-cli on PATH (and openssl for GenerateRedisTlsFiles); Start fails
// with FAILED_PRECONDITION naming the package if they are missing.
//
// Not thread-safe: one test thread drives these.
#ifndef SESSIOND_STORAGE_TESTING_REDIS_SERVERS_H_
#define SESSIOND_STORAGE_TESTING_REDIS_SERVERS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sessiond::storage::testing {

// PEM files for a TLS test: a CA, a server certificate it signed for 127.0.0.1 and localhost,
// and a client certificate it signed.
struct RedisTlsFiles {
  std::string ca_file;
  std::string server_cert_file;
  std::string server_key_file;
  std::string client_cert_file;
  std::string client_key_file;
};

// Writes a fresh RedisTlsFiles set into `dir` with the openssl command-line tool.
absl::StatusOr<RedisTlsFiles> GenerateRedisTlsFiles(const std::string& dir);

class RedisServer {
 public:
  // Starts redis-server on a free port with no persistence (no RDB, no AOF) plus `extra_args`
  // (for example {"--requirepass", "secret"}), and waits until it accepts connections.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      std::vector<std::string> extra_args = {});
  // Like Start, but port() speaks TLS only, with the server certificate of `tls`, and requires
  // clients to present a certificate signed by its CA.
  static absl::StatusOr<std::unique_ptr<RedisServer>> StartTls(
      const RedisTlsFiles& tls, std::vector<std::string> extra_args = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // "127.0.0.1:<port>".
  std::string address() const;
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  // Kills the server (SIGKILL) and waits for it; its data is gone. No-op if not running.
  void Kill();
  // Starts it again on the same port with the same arguments, and waits until it accepts
  // connections.
  absl::Status Restart();

 private:
  RedisServer() = default;
  // Makes the temporary directory, picks the port, and launches.
  absl::Status Init(std::vector<std::string> extra_args);
  absl::Status Launch();

  int port_ = 0;
  pid_t pid_ = -1;
  std::string dir_;
  // Every argument after the program's name; "{port}" stands for port_.
  std::vector<std::string> args_;
};

class RedisCluster {
 public:
  // Starts 6 nodes with cluster-node-timeout 1000 ms, forms the cluster (3 primaries, 3
  // replicas), and waits until cluster_state is ok on every node and every replica's link to its
  // primary is up.
  static absl::StatusOr<std::unique_ptr<RedisCluster>> Start();
  ~RedisCluster() = default;
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Every node's "127.0.0.1:<port>", primaries first as formed.
  std::vector<std::string> addresses() const;

  // The node serving `slot` as primary now ("127.0.0.1:<port>"), as the first running node
  // that answers sees it.
  absl::StatusOr<std::string> PrimaryOf(int slot) const;

  // SIGKILLs the primary that serves `slot`, then waits (at most `timeout`) until its replica is
  // promoted and the cluster is ok again. Returns the new primary's address.
  absl::StatusOr<std::string> KillPrimaryAndAwaitFailover(int slot, absl::Duration timeout);

  // Starts every killed node again (same port and directory, so it rejoins as a replica of the
  // primary that replaced it) and waits (at most `timeout`) until all 3 replicas are linked.
  absl::Status RestartKilledNodes(absl::Duration timeout);

  // Moves `slot_count` slots from the primary at `from` to the primary at `to` with
  // `redis-cli --cluster reshard` (keys migrate with MIGRATE, so clients see ASK and MOVED).
  // redis-cli moves the lowest-numbered slots of `from`.
  absl::Status Reshard(const std::string& from, const std::string& to, int slot_count);

 private:
  RedisCluster() = default;
  // Waits until every running node says cluster_state:ok and `replicas` replicas have their link
  // to a primary up.
  absl::Status AwaitHealthy(int replicas, absl::Time deadline) const;

  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace sessiond::storage::testing

#endif  // SESSIOND_STORAGE_TESTING_REDIS_SERVERS_H_
