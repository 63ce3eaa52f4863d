// Server: owns everything a running sessiond is made of — the store, the sweeper, the gRPC server
// with the session service, health and reflection — and its orderly shutdown.
//
// Lifecycle: BuildAndStart starts gRPC with health NOT_SERVING, opens the store (a durable one may
// take a while to recover), then reports SERVING; from then on a HealthReporter keeps health in
// step with the store (NOT_SERVING for the session service while the store serves reads only).
// Drain (on SIGTERM) reports NOT_SERVING so load balancers stop sending traffic, keeps serving for
// `drain_grace`, then shuts down, letting in-flight calls finish for up to `shutdown_timeout`.
#ifndef SESSIOND_SERVICE_SERVER_H_
#define SESSIOND_SERVICE_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "service/blocking_executor.h"
#include "service/connection_guard.h"
#include "service/health_reporter.h"
#include "service/limits.h"
#include "service/listener.h"
#include "service/memory_trimmer.h"
#include "service/metrics.h"
#include "service/tenant_registry.h"
#include "service/tenant_session_counts.h"
#include "service/tls_credentials.h"
#include "service/transport_limits.h"
#include "storage/session.h"
#include "storage/store.h"
#include "storage/sweeper.h"

namespace sessiond::service {

class SessionServiceImpl;

class Server {
 public:
  struct Options {
    // host:port to listen on; port 0 picks a free port (see port()).
    std::string listen_address = "127.0.0.1:50051";
    // If set, the bound port is written to this file once serving.
    std::string port_file;
    // The storage backend's name, and what opens it (storage::OpenStore in the binary; tests may
    // pass their own). The server knows no backend itself.
    std::string store;
    std::function<absl::StatusOr<std::unique_ptr<storage::Store>>(
        absl::string_view name, const storage::SessionLimits& limits)>
        open_store;
    // For a store whose calls may block (Store::MayBlock: rocksdb with sync durability): threads
    // that run its handlers, and how many requests may wait for one of them before the server
    // refuses more with RESOURCE_EXHAUSTED. Other stores' handlers run on gRPC's own threads.
    size_t blocking_threads = 64;
    size_t max_queued_requests = 4096;
    ServiceLimits limits;
    // Largest request gRPC accepts; larger ones fail with RESOURCE_EXHAUSTED. 0: what the session
    // limits need (MessageBytesFor).
    size_t max_message_bytes = 0;
    // Connections, streams, gRPC's memory, pings (transport_limits.h); TLS (tls_credentials.h).
    TransportLimits transport;
    TlsOptions tls;
    // The tenants file (tenant_registry.h; empty: one default tenant, no authentication) and how
    // often it is checked for changes.
    std::string tenants_file;
    absl::Duration tenants_reload_interval = absl::Seconds(10);
    absl::Duration sweep_interval = absl::Seconds(1);
    absl::Duration drain_grace = absl::Seconds(5);
    absl::Duration shutdown_timeout = absl::Seconds(10);
    // If set (not owned; must outlive the server), rpcs and the store are counted there.
    Metrics* metrics = nullptr;
  };

  // Raises the descriptor limit, starts serving and opens the store; returns once SERVING. Errors:
  // INVALID_ARGUMENT for a bad option (no open_store, TLS files, the tenants file), UNAVAILABLE if
  // the address cannot be bound, the store's errors if it cannot open.
  static absl::StatusOr<std::unique_ptr<Server>> BuildAndStart(const Options& options);

  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port actually bound.
  int port() const { return port_; }

  // NOT_SERVING, `drain_grace` of continued service, then Shutdown with `shutdown_timeout` for
  // in-flight calls. Returns when the server has stopped. Call once.
  void Drain();

 private:
  Server() = default;

  Options options_;
  std::unique_ptr<TenantRegistry> tenants_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::Store> metered_store_;     // wraps store_ when Options.metrics is set
  std::unique_ptr<TenantSessionCounts> live_counts_;  // with tenants over the memory store
  std::unique_ptr<BlockingExecutor> executor_;
  std::unique_ptr<SessionServiceImpl> service_;
  std::unique_ptr<ConnectionGuard> guard_;  // outlives the listener and gRPC's server
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<storage::Sweeper> sweeper_;
  std::unique_ptr<HealthReporter> health_;
  std::unique_ptr<MemoryTrimmer> trimmer_;
  int port_ = 0;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_SERVER_H_
