// RedisConnection: one connection to one Redis node, used by RedisClient (redis_client.h) and by
// the test servers. It opens a non-blocking socket within a deadline, optionally wraps it in TLS
// (OpenSSL, SNI, server verification, optional client certificate), authenticates, and runs one
// command at a time: the command is formatted by hiredis's redisFormatCommandArgv, the reply read
// with poll() and parsed by hiredis's standalone redisReader. hiredis's own network code is not
// used, which is how TLS works with hiredis 0.14.
//
// Errors: UNAVAILABLE for anything on the network (refused, reset, timed out, a reply that does
// not parse); after one, the connection is broken and must be discarded. Redis error replies are
// not errors here: they come back as replies of type kError.
//
// Not thread-safe: one caller at a time. RedisTlsContext is thread-safe once made.
#ifndef SESSIOND_STORAGE_REDIS_CONNECTION_H_
#define SESSIOND_STORAGE_REDIS_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "storage/redis_client.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct redisReader redisReader;

namespace sessiond::storage {

// The TLS settings shared by every connection of a client: trusted CAs and the client
// certificate, loaded once.
class RedisTlsContext {
 public:
  // Loads options.tls_ca_file (empty: the system's CAs) and, if set, the client certificate and
  // key. INVALID_ARGUMENT if a file cannot be loaded.
  static absl::StatusOr<std::shared_ptr<RedisTlsContext>> Create(const RedisOptions& options);
  ~RedisTlsContext();
  RedisTlsContext(const RedisTlsContext&) = delete;
  RedisTlsContext& operator=(const RedisTlsContext&) = delete;

  // The OpenSSL context, owned by this object.
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit RedisTlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// A node's host and port, parsed from "host:port" (or "[v6]:port").
struct RedisAddress {
  std::string host;
  int port = 0;
  // INVALID_ARGUMENT unless `address` is host:port with a port in 1..65535.
  static absl::StatusOr<RedisAddress> Parse(absl::string_view address);
  // "host:port", with an IPv6 host in brackets.
  std::string ToString() const;
};

class RedisConnection {
 public:
  // Connects to `address` within options.connect_timeout (TCP and, with `tls` non-null, the TLS
  // handshake, verifying the server as options.tls_server_name or else the host), then sends AUTH
  // if options.password is set (within options.command_timeout). UNAVAILABLE if the node cannot
  // be reached in time; UNAUTHENTICATED if AUTH is refused (wrong user or password),
  // PERMISSION_DENIED on NOPERM. A host name is resolved with getaddrinfo, which no deadline
  // bounds: IP addresses (as CLUSTER SLOTS gives) or a local resolver keep this bounded.
  static absl::StatusOr<std::unique_ptr<RedisConnection>> Open(
      const RedisAddress& address, const RedisOptions& options,
      std::shared_ptr<RedisTlsContext> tls);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends `args` and reads its reply, all within `timeout`. UNAVAILABLE on a network error or
  // timeout, after which broken() is true; INVALID_ARGUMENT (sending nothing) if `args` is empty.
  absl::StatusOr<RedisReply> Run(absl::Span<const absl::string_view> args, absl::Duration timeout);

  // For a connection not in use: false (and broken() from now on) if the server closed it or sent
  // something unasked, true if it looks usable. Does not block.
  bool IsIdleAndOpen();

  // Whether an earlier call failed; a broken connection answers nothing more.
  bool broken() const { return broken_; }

 private:
  RedisConnection(RedisAddress address, std::shared_ptr<RedisTlsContext> tls);

  absl::Status Connect(absl::Time deadline);
  absl::Status Handshake(const std::string& server_name, absl::Time deadline);
  absl::Status Authenticate(const RedisOptions& options);
  absl::Status WriteAll(absl::string_view data, absl::Time deadline);
  // Reads at least one byte into the reply parser.
  absl::Status ReadSome(absl::Time deadline);
  // Waits until the socket is ready for `events` (POLLIN/POLLOUT) or the deadline passes.
  absl::Status Await(short events, absl::Time deadline, absl::string_view what);
  // Marks the connection broken and returns UNAVAILABLE naming the node and `cause`.
  absl::Status Fail(absl::string_view cause);

  RedisAddress address_;
  int fd_ = -1;
  std::shared_ptr<RedisTlsContext> tls_;
  SSL* ssl_ = nullptr;
  redisReader* reader_;
  bool broken_ = false;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_REDIS_CONNECTION_H_
