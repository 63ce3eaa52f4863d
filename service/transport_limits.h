// TransportLimits: what one client can make the server hold — connections, streams, gRPC's
// buffers, message sizes, compression, pings — and the gRPC channel arguments that enforce them.
// docs/SECURITY.md gives the attack each one bounds and the figures measured with it.
#ifndef SESSIOND_SERVICE_TRANSPORT_LIMITS_H_
#define SESSIOND_SERVICE_TRANSPORT_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "grpcpp/server_builder.h"

namespace sessiond::service {

struct TransportLimits {
  // Open connections at most; 0 takes DefaultMaxConnections of the descriptor limit.
  size_t max_connections = 0;
  // Streams (calls) in flight on one connection; the client is told in SETTINGS and more are
  // refused.
  uint32_t max_concurrent_streams = 100;
  // gRPC's memory quota for its buffers across all connections: near it gRPC shrinks read buffers
  // and flow-control windows and reclaims idle connections.
  size_t memory_quota_bytes = size_t{256} << 20;
  // A connection that has not finished its HTTP/2 (and TLS) handshake by then is closed.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // The server pings an idle connection this often and closes it if no answer comes within
  // keepalive_timeout (a vanished or stalled peer frees its connection).
  absl::Duration keepalive_time = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // A client may ping at most once per this interval; the third ping sooner (gRPC's ping strikes)
  // gets GOAWAY ENHANCE_YOUR_CALM and the connection is closed.
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  // Calls a connection's client may cancel in a burst, a tenth of it forgiven per second; past it
  // the connection is closed (ConnectionGuard, against HTTP/2 rapid reset). 0 turns the check off.
  uint64_t max_cancelled_calls = 1000;
  // How often ConnectionGuard checks each connection.
  absl::Duration cancel_check_interval = absl::Milliseconds(100);
};

// Sets on `builder` the resource quota and the channel arguments for `limits`, the largest request
// message (`max_message_bytes`), and refuses compressed requests (UNIMPLEMENTED before any byte is
// inflated): sessiond's clients send identity-encoded messages.
void ApplyTransportLimits(const TransportLimits& limits, size_t max_message_bytes,
                          grpc::ServerBuilder& builder);

// The largest request a session of `max_session_bytes` and `max_keys` needs: its bytes, protobuf's
// framing per entry, and room for the request's other fields; at most gRPC's 2 GiB.
size_t MessageBytesFor(size_t max_session_bytes, size_t max_keys);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_TRANSPORT_LIMITS_H_
