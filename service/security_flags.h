// The command line's transport and TLS flags (--max_connections, --max_concurrent_streams,
// --grpc_memory_quota, --max_pending_response_bytes, --tls_*, --tenants_*), kept apart from
// server_flags.cc; defaults come from TransportLimits and TlsOptions.
#ifndef SESSIOND_SERVICE_SECURITY_FLAGS_H_
#define SESSIOND_SERVICE_SECURITY_FLAGS_H_

#include "service/server.h"

namespace sessiond::service {

// Copies the parsed flags into `options.transport`, `options.tls` and the tenants file options
// (call after parsing).
void ApplySecurityFlags(Server::Options& options);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_SECURITY_FLAGS_H_
