#include "service/security_flags.h"

#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "storage/byte_size.h"

namespace {
const sessiond::service::TransportLimits kTransport;
const sessiond::service::TlsOptions kTls;
}  // namespace

ABSL_FLAG(uint64_t, max_connections, kTransport.max_connections,
          "most open client connections; more are closed as they arrive. 0: the descriptor limit "
          "(raised to its hard limit at start) less 256 and an eighth");
ABSL_FLAG(uint32_t, max_concurrent_streams, kTransport.max_concurrent_streams,
          "most calls in flight on one connection; more are refused (HTTP/2 SETTINGS)");
ABSL_FLAG(sessiond::storage::ByteSize, grpc_memory_quota, {kTransport.memory_quota_bytes},
          "memory gRPC may use for its buffers across all connections");
ABSL_FLAG(sessiond::storage::ByteSize, max_pending_response_bytes,
          {sessiond::service::ServiceLimits{}.max_pending_response_bytes},
          "responses held for clients that do not read them, at most (an eighth per connection); "
          "past it calls get RESOURCE_EXHAUSTED");
ABSL_FLAG(uint64_t, max_cancelled_calls, kTransport.max_cancelled_calls,
          "calls one connection's client may cancel in a burst (a tenth of it per second are "
          "forgiven); past it the connection is closed (HTTP/2 rapid reset). 0: no limit");
ABSL_FLAG(std::string, tls_cert_file, kTls.cert_file,
          "PEM certificate chain: serve TLS (with --tls_key_file); plaintext without it");
ABSL_FLAG(std::string, tls_key_file, kTls.key_file, "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, kTls.client_ca_file,
          "PEM CA certificates: require every client to present a certificate they signed (mTLS)");
ABSL_FLAG(absl::Duration, tls_reload_interval, kTls.reload_interval,
          "how often the --tls_* files are re-read; new connections use new certificates, live "
          "ones are kept");
ABSL_FLAG(std::string, tenants_file, "",
          "JSON file of tenants: each one's name, SHA-256 of its bearer tokens and/or client "
          "certificate identities, rights and limits (docs/SECURITY.md); re-read when it changes. "
          "Empty: one tenant, no authentication");
ABSL_FLAG(absl::Duration, tenants_reload_interval,
          sessiond::service::Server::Options{}.tenants_reload_interval,
          "how often --tenants_file is checked for changes");

namespace sessiond::service {

void ApplySecurityFlags(Server::Options& options) {
  options.transport.max_connections = absl::GetFlag(FLAGS_max_connections);
  options.transport.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.transport.memory_quota_bytes = absl::GetFlag(FLAGS_grpc_memory_quota).bytes;
  options.transport.max_cancelled_calls = absl::GetFlag(FLAGS_max_cancelled_calls);
  options.limits.max_pending_response_bytes = absl::GetFlag(FLAGS_max_pending_response_bytes).bytes;
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  options.tls.reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  options.tenants_file = absl::GetFlag(FLAGS_tenants_file);
  options.tenants_reload_interval = absl::GetFlag(FLAGS_tenants_reload_interval);
}

}  // namespace sessiond::service
