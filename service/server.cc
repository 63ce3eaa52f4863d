#include "service/server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "service/port_file.h"
#include "service/request_parsing.h"
#include "service/session_service.h"

namespace sessiond::service {
namespace {

// How often health is brought in step with the store (see HealthReporter).
constexpr absl::Duration kHealthInterval = absl::Seconds(1);

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
  server->service_ = std::make_unique<SessionServiceImpl>(options.limits);

  // gRPC's built-in health service does not register its descriptor; touching ours does, so that
  // reflection can describe grpc.health.v1.Health.
  grpc::health::v1::HealthCheckRequest::descriptor();
  QuietenUtf8ParseErrors();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.RegisterService(server->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  // Channelz keeps per-call statistics for a debugging service sessiond does not register.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  if (options.metrics != nullptr) {
    builder.experimental().SetInterceptorCreators(options.metrics->InterceptorFactories());
  }
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address, " (in use, or a bad address?)"));
  }
  // Health answers NOT_SERVING (and sessions UNAVAILABLE) while a durable store recovers, so
  // orchestrators see a live process that is not ready yet.
  SetServing(*server->grpc_server_, false);
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      options.open_store(options.store, options.limits.session);
  if (!store.ok()) return store.status();
  server->store_ = *std::move(store);
  storage::Store* serving_store = server->store_.get();
  if (options.metrics != nullptr) {
    server->metered_store_ = options.metrics->Instrument(serving_store);
    serving_store = server->metered_store_.get();
  }
  if (serving_store->MayBlock()) {
    server->executor_ =
        std::make_unique<BlockingExecutor>(options.blocking_threads, options.max_queued_requests);
  }
  server->service_->AttachStore(serving_store, server->executor_.get());
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
  if (grpc_server_ == nullptr) return;
  // Watch streams never end by themselves; gRPC's shutdown would wait for them.
  service_->EndWatches();
  grpc_server_->Shutdown();
}

void Server::Drain() {
  health_->Drain();
  absl::SleepFor(options_.drain_grace);
  service_->EndWatches();
  grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.shutdown_timeout));
  grpc_server_->Wait();
  health_.reset();
  sweeper_.reset();
}

}  // namespace sessiond::service
