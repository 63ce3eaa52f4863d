// RedisClient: commands to a standalone Redis or a Redis Cluster, routed by key, for the Redis
// backend (redis_store.h). Small on purpose: it runs one command at a time on the primary that
// owns a key, which is all the backend needs, since every Store call is one Lua script on one key.
//
// Standalone (one address, cluster off): every command goes to that server. Cluster: the slot map
// comes from CLUSTER SLOTS on any reachable address; a command goes to the primary owning its
// key's slot (CRC16 of the key's hash tag, mod 16384); MOVED updates the map and retries on the
// named node, ASK retries once there after ASKING, TRYAGAIN, CLUSTERDOWN and LOADING retry after
// a short pause (20 ms, doubling); a node that cannot be connected to refreshes the map and tries
// again; at most `max_redirects` attempts in all. A command that was sent but got no reply (the
// connection broke, or command_timeout passed) is not retried, since it may have run: that call
// returns UNAVAILABLE at once (and, in a cluster, refreshes the map for the next call).
//
// Connections: a pool per node, each connection used by one command at a time, opened on demand
// (at most `max_connections_per_node`; callers beyond wait for one), authenticated (AUTH user
// password) and, with TLS on, wrapped in TLS (OpenSSL). A connection that failed is closed, never
// reused; an idle one the server closed meanwhile (say, it restarted) is dropped before use. Every
// network step is bounded by `connect_timeout` or `command_timeout`, so no call blocks a thread
// longer than about max_redirects * (connect_timeout + command_timeout) (plus wait_timeout for
// WAIT); a stalled server costs one command_timeout.
//
// Thread-safe.
#ifndef SESSIOND_STORAGE_REDIS_CLIENT_H_
#define SESSIOND_STORAGE_REDIS_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace sessiond::storage {

// One RESP reply, owned.
struct RedisReply {
  enum class Type { kString, kStatus, kError, kInteger, kNil, kArray };

  Type type = Type::kNil;
  // kString (bulk), kStatus (simple string such as OK), kError (the whole message, e.g.
  // "NOSCRIPT No matching script...").
  std::string str;
  // kInteger.
  long long integer = 0;
  // kArray.
  std::vector<RedisReply> elements;

  bool IsError() const { return type == Type::kError; }
  // Whether this is an error reply whose message starts with `prefix` (e.g. "NOSCRIPT").
  bool IsErrorStartingWith(absl::string_view prefix) const;
};

struct RedisOptions {
  // host:port of the standalone server, or of any number of cluster nodes to discover from.
  std::vector<std::string> addresses;
  // Route by slot (CLUSTER SLOTS). Implied by more than one address.
  bool cluster = false;
  // AUTH: the ACL user (empty: "default", i.e. AUTH with the password only) and password (empty:
  // no AUTH).
  std::string user;
  std::string password;
  // TLS to every node. ca_file verifies the servers (empty: the system's CAs); cert and key
  // files, if set, present a client certificate. server_name: the name verified in the server's
  // certificate (empty: the host of each address).
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(1);
  size_t max_connections_per_node = 16;
  // Routing attempts per command (redirects, retries after errors) before UNAVAILABLE.
  int max_redirects = 5;
  // After a write (Run with wait_for_replicas), WAIT until this many replicas have it (0: don't).
  int wait_replicas = 0;
  absl::Duration wait_timeout = absl::Milliseconds(500);
};

class RedisClient {
 public:
  RedisClient() = default;
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects to the first reachable address (and, for a cluster, loads the slot map); standalone,
  // checks the server with PING. UNAVAILABLE if none is reachable (or TLS fails: refused
  // certificate, wrong name); INVALID_ARGUMENT for a malformed address or unreadable TLS files;
  // UNAUTHENTICATED if AUTH fails or the server demands it (NOAUTH); PERMISSION_DENIED on NOPERM;
  // FAILED_PRECONDITION if `cluster` is set but the server is not in cluster mode. An ACL user
  // needs, besides its commands: in a cluster, CLUSTER SLOTS and ASKING; with wait_replicas, WAIT
  // (PING is tried but may be denied).
  static absl::StatusOr<std::unique_ptr<RedisClient>> Connect(const RedisOptions& options);

  virtual ~RedisClient() = default;

  // Runs `args` (command and arguments, binary-safe) on the primary that owns `key` (standalone:
  // the server), following the routing rules above. A Redis error reply other than the routing
  // ones (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, LOADING) is returned as a reply of type kError, not
  // as a status (NOSCRIPT, NOPERM, WRONGTYPE...). Standalone, `key` is not used. With
  // `wait_for_replicas` and options.wait_replicas > 0, sends WAIT on the same connection after a
  // successful command and returns UNAVAILABLE ("written, but not confirmed on N replicas") if
  // fewer replicas confirmed within wait_timeout. UNAVAILABLE when no node answered within the
  // attempts (the message names the node and the cause); INVALID_ARGUMENT if `args` is empty.
  virtual absl::StatusOr<RedisReply> Run(absl::string_view key,
                                         absl::Span<const absl::string_view> args,
                                         bool wait_for_replicas = false) = 0;

  // Like Run without WAIT, for a command the server may hold for up to `timeout` before it
  // replies (XREAD BLOCK): the reply is awaited that long plus command_timeout. The connection is
  // leased from the node's pool for that time.
  virtual absl::StatusOr<RedisReply> RunBlocking(absl::string_view key,
                                                 absl::Span<const absl::string_view> args,
                                                 absl::Duration timeout) = 0;

  // Runs `args` on every primary (standalone: the server), for commands such as SCRIPT LOAD or
  // DBSIZE; one reply per primary, in no particular order. UNAVAILABLE if any primary fails.
  // After a primary could not be connected to, the map is refreshed and the command runs again on
  // every primary: meant for idempotent commands.
  virtual absl::StatusOr<std::vector<RedisReply>> RunOnEveryPrimary(
      absl::Span<const absl::string_view> args) = 0;
};

// The cluster slot (0..16383) of `key`: CRC16 (XMODEM) of its hash tag (the text between the
// first '{' and the next '}', if non-empty) or of the whole key, mod 16384.
int RedisKeySlot(absl::string_view key);

// A hash tag whose slot is `slot` (0..16383): RedisKeySlot("x{" + tag + "}") == slot. The same
// for every process, so that replicas name a slot's keys alike.
const std::string& RedisSlotTag(int slot);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_REDIS_CLIENT_H_
