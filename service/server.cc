#include "service/server.h"

#include <cstdint>
#include <iostream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "service/connection_limits.h"
#include "service/port_file.h"
#include "service/request_parsing.h"
#include "service/session_service.h"

namespace sessiond::service {
namespace {

// How often health is brought in step with the store (see HealthReporter).
constexpr absl::Duration kHealthInterval = absl::Seconds(1);
// Freed memory is handed back to the kernel past this growth, checked this often (MemoryTrimmer).
constexpr uint64_t kTrimGrowthBytes = uint64_t{16} << 20;
constexpr absl::Duration kTrimInterval = absl::Seconds(1);

void SetServing(grpc::Server& server, bool serving) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  health->SetServingStatus(serving);
  health->SetServingStatus(v1::SessionService::service_full_name(), serving);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::BuildAndStart(const Options& options) {
  if (!options.open_store) {
    return absl::InvalidArgumentError("Server::Options.open_store is not set");
  }
  std::unique_ptr<Server> server(new Server());
  server->options_ = options;
  if (!options.tenants_file.empty()) {
    absl::StatusOr<std::unique_ptr<TenantRegistry>> tenants =
        TenantRegistry::Open(options.tenants_file, options.limits, options.tenants_reload_interval);
    if (!tenants.ok()) return tenants.status();
    server->tenants_ = *std::move(tenants);
  }
  // With metrics, operations inside batches are counted by their own rpc too.
  server->service_ =
      std::make_unique<SessionServiceImpl>(options.limits, server->tenants_.get(), options.metrics);

  // gRPC's built-in health service does not register its descriptor; touching ours does, so that
  // reflection can describe grpc.health.v1.Health.
  grpc::health::v1::HealthCheckRequest::descriptor();
  QuietenUtf8ParseErrors();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentialsFor(options.tls);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<size_t> descriptors = RaiseDescriptorLimit();
  if (!descriptors.ok()) return descriptors.status();
  const size_t max_connections = options.transport.max_connections != 0
                                     ? options.transport.max_connections
                                     : DefaultMaxConnections(*descriptors);
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Bind(options.listen_address);
  if (!listener.ok()) return listener.status();
  server->listener_ = *std::move(listener);
  server->port_ = server->listener_->port();
  if (!options.tls.enabled() && !server->listener_->loopback()) {
    std::cerr << "sessiond: WARNING: serving plaintext on " << options.listen_address
              << ": anyone who can reach it can read and change every session; give "
                 "--tls_cert_file and --tls_key_file (docs/SECURITY.md)"
              << std::endl;
  }

  grpc::ServerBuilder builder;
  // sessiond accepts connections itself (listener.h) and hands them to gRPC here.
  server->acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, *credentials);
  builder.RegisterService(server->service_.get());
  ApplyTransportLimits(options.transport,
                       options.max_message_bytes != 0
                           ? options.max_message_bytes
                           : MessageBytesFor(options.limits.session.max_session_bytes,
                                             options.limits.session.max_keys),
                       builder);
  // Channelz keeps per-call statistics for a debugging service sessiond does not register.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  if (options.metrics != nullptr) interceptors = options.metrics->InterceptorFactories();
  if (options.transport.max_cancelled_calls != 0) {
    server->guard_ = std::make_unique<ConnectionGuard>(options.transport.max_cancelled_calls,
                                                       options.transport.cancel_check_interval);
    interceptors.push_back(server->guard_->InterceptorFactory());
    if (options.metrics != nullptr) options.metrics->AddCollectable(server->guard_->Collector());
  }
  if (!interceptors.empty()) builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr) return absl::UnavailableError("gRPC did not start");
  server->listener_->Start(server->acceptor_.get(), max_connections, server->guard_.get());
  std::cerr << "sessiond: at most " << max_connections << " connections (--max_connections; "
            << *descriptors << " descriptors)" << std::endl;
  // Health answers NOT_SERVING (and sessions UNAVAILABLE) while a durable store recovers, so
  // orchestrators see a live process that is not ready yet.
  SetServing(*server->grpc_server_, false);
  storage::SessionLimits store_limits = options.limits.session;
  store_limits.count_tenant_sessions = server->tenants_ != nullptr;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      options.open_store(options.store, store_limits);
  if (!store.ok()) return store.status();
  server->store_ = *std::move(store);
  // A tenant's live sessions are counted exactly by the memory store's log (this process sees
  // every creation and ending from an empty start, TenantSessionCounts below) or by the store
  // itself (RocksDB opened with count_tenant_sessions, PostgreSQL, Redis and Redis Cluster).
  if (server->tenants_ != nullptr && options.store != "memory" &&
      !server->store_->CapsLiveSessions()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--store=", options.store,
                     " cannot cap a tenant's live sessions, which --tenants_file needs"));
  }
  storage::Store* serving_store = server->store_.get();
  if (options.metrics != nullptr) {
    server->metered_store_ = options.metrics->Instrument(serving_store);
    serving_store = server->metered_store_.get();
  }
  if (serving_store->MayBlock()) {
    server->executor_ =
        std::make_unique<BlockingExecutor>(options.blocking_threads, options.max_queued_requests);
  }
  if (server->tenants_ != nullptr && options.store == "memory") {
    server->live_counts_ = std::make_unique<TenantSessionCounts>(&server->store_->Events());
  }
  server->service_->AttachStore(serving_store, server->executor_.get(), server->live_counts_.get());
  server->trimmer_ = std::make_unique<MemoryTrimmer>(kTrimGrowthBytes, kTrimInterval);
  server->sweeper_ = std::make_unique<storage::Sweeper>(serving_store, options.sweep_interval);
  server->health_ = std::make_unique<HealthReporter>(server->grpc_server_->GetHealthCheckService(),
                                                     serving_store, kHealthInterval);
  if (!options.port_file.empty()) {
    if (absl::Status status = WritePortFile(options.port_file, server->port_); !status.ok()) {
      return status;
    }
  }
  return server;
}

Server::~Server() {
  if (options_.metrics != nullptr && guard_ != nullptr) {
    options_.metrics->RemoveCollectable(guard_->Collector());
  }
  if (listener_ != nullptr) listener_->Stop();
  if (grpc_server_ == nullptr) return;
  // Watch streams never end by themselves; gRPC's shutdown would wait for them.
  service_->EndWatches();
  grpc_server_->Shutdown();
}

void Server::Drain() {
  health_->Drain();
  absl::SleepFor(options_.drain_grace);
  listener_->Stop();
  service_->EndWatches();
  grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.shutdown_timeout));
  grpc_server_->Wait();
  health_.reset();
  sweeper_.reset();
}

}  // namespace sessiond::service
