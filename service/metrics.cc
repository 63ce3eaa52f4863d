#include "service/metrics.h"

#include <exception>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/metered_store.h"
#include "service/metrics_interceptor.h"
#include "service/metrics_labels.h"
#include "service/process_collector.h"

namespace sessiond::service {
namespace {

// 50 µs to 1 s, about three buckets a decade.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      50e-6, 100e-6, 250e-6, 500e-6, 1e-3,   2.5e-3, 5e-3,
      10e-3, 25e-3,  50e-3,  100e-3, 250e-3, 500e-3, 1.0};
  return *buckets;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(const std::string& listen_address,
                                                        const std::string& data_dir) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(listen_address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("--metrics_listen=", listen_address,
                                               ": cannot serve metrics there (", e.what(), ")"));
  }
  return std::unique_ptr<Metrics>(new Metrics(std::move(exposer), data_dir));
}

Metrics::Metrics(std::unique_ptr<prometheus::Exposer> exposer, const std::string& data_dir)
    : exposer_(std::move(exposer)),
      registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_shared<ProcessCollector>(data_dir)),
      rpcs_(prometheus::BuildCounter()
                .Name("sessiond_rpcs_total")
                .Help("Finished rpcs by full method name and gRPC status code")
                .Register(*registry_)),
      rpc_duration_(prometheus::BuildHistogram()
                        .Name("sessiond_rpc_duration_seconds")
                        .Help("Time from a call's arrival to its status, by method")
                        .Register(*registry_)),
      batched_(prometheus::BuildCounter()
                   .Name("sessiond_batched_operations_total")
                   .Help("Finished operations inside Batch rpcs by their own rpc's full method "
                         "name and gRPC status code")
                   .Register(*registry_)),
      conflicts_(prometheus::BuildCounter()
                     .Name("sessiond_conflicts_total")
                     .Help("Rpcs refused because a version condition failed (ABORTED)")
                     .Register(*registry_)),
      rejections_(prometheus::BuildCounter()
                      .Name("sessiond_rejections_total")
                      .Help("Requests refused by a configured limit, named by its flag")
                      .Register(*registry_)),
      created_(prometheus::BuildCounter()
                   .Name("sessiond_sessions_created_total")
                   .Help("Sessions created")
                   .Register(*registry_)
                   .Add({})),
      ended_(prometheus::BuildCounter()
                 .Name("sessiond_sessions_ended_total")
                 .Help("Sessions ended: reason=expired (reclaimed by the sweeper) or deleted")
                 .Register(*registry_)),
      store_errors_(prometheus::BuildCounter()
                        .Name("sessiond_store_errors_total")
                        .Help("Store calls that failed (not normal outcomes), by status code")
                        .Register(*registry_)),
      sweeps_(prometheus::BuildCounter()
                  .Name("sessiond_sweeps_total")
                  .Help("Runs of the expiry sweeper")
                  .Register(*registry_)
                  .Add({})),
      sweep_duration_(prometheus::BuildHistogram()
                          .Name("sessiond_sweep_duration_seconds")
                          .Help("How long one run of the expiry sweeper took")
                          .Register(*registry_)
                          .Add({}, LatencyBuckets())) {
  // Both reasons show from the start, so that rate() works before the first session ends.
  ended_.Add({{"reason", "expired"}});
  ended_.Add({{"reason", "deleted"}});
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(process_);
}

Metrics::~Metrics() = default;

int Metrics::port() const {
  std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

std::unique_ptr<storage::Store> Metrics::Instrument(storage::Store* store) {
  return std::make_unique<MeteredStore>(store, this);
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
Metrics::InterceptorFactories() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<MetricsInterceptorFactory>(this));
  return factories;
}

void Metrics::RecordRpc(absl::string_view method, absl::string_view tenant,
                        const grpc::Status& status, absl::Duration elapsed) {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string method_label = MethodLabel(method);
  // Tenant names come from the tenants file only, so the label's values are bounded by it.
  std::map<std::string, std::string> labels{{"method", method_label}, {"code", CodeLabel(code)}};
  if (!tenant.empty()) labels.emplace("tenant", tenant);
  rpcs_.Add(labels).Increment();
  rpc_duration_.Add({{"method", method_label}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(elapsed));
  RecordRefusal(method_label, code, status.error_message());
}

void Metrics::OnBatchedOperation(absl::string_view method, const absl::Status& status) {
  const std::string method_label = MethodLabel(method);
  batched_.Add({{"method", method_label}, {"code", CodeLabel(status.code())}}).Increment();
  RecordRefusal(method_label, status.code(), status.message());
}

void Metrics::RecordRefusal(const std::string& method_label, absl::StatusCode code,
                            absl::string_view message) {
  if (code == absl::StatusCode::kAborted) conflicts_.Add({{"method", method_label}}).Increment();
  if (code == absl::StatusCode::kOk) return;
  if (std::string limit = LimitLabel(code, message); !limit.empty()) {
    rejections_.Add({{"limit", limit}}).Increment();
  }
}

void Metrics::RecordCreated() { created_.Increment(); }

void Metrics::RecordEnded(absl::string_view reason, size_t count) {
  ended_.Add({{"reason", std::string(reason)}}).Increment(static_cast<double>(count));
}

void Metrics::RecordStoreResult(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kResourceExhausted:  // a limit: counted as a rejection
      return;
    default:
      store_errors_.Add({{"code", CodeLabel(status.code())}}).Increment();
  }
}

void Metrics::RecordSweep(absl::Duration elapsed) {
  sweeps_.Increment();
  sweep_duration_.Observe(absl::ToDoubleSeconds(elapsed));
}

void Metrics::AddCollectable(const std::shared_ptr<prometheus::Collectable>& collectable) {
  exposer_->RegisterCollectable(collectable);
}

void Metrics::RemoveCollectable(const std::shared_ptr<prometheus::Collectable>& collectable) {
  exposer_->RemoveCollectable(collectable);
}

}  // namespace sessiond::service
