// Metrics: sessiond's Prometheus metrics, served as text on `--metrics_listen` at /metrics.
//
// What is counted (every label takes a bounded set of values: no session ids, keys or principals):
//   sessiond_rpcs_total{method,code,tenant}    every finished rpc, by full method name, code and,
//                                              with --tenants_file, the tenant it was served as
//                                              (absent without tenants or for a call refused
//                                              before its tenant was known: UNAUTHENTICATED)
//   sessiond_rpc_duration_seconds{method}      latency histogram, buckets 50 µs .. 1 s
//   sessiond_batched_operations_total{method,code}
//                                              every finished operation inside a Batch, by the full
//                                              name of its own rpc and its code (the Batch itself
//                                              counts once in sessiond_rpcs_total, method=Batch)
//   sessiond_conflicts_total{method}           rpcs and batched operations that failed a version
//                                              condition (ABORTED), by their own method
//   sessiond_rejections_total{limit}           requests and batched operations refused by a
//                                              configured limit, named by its flag (max_keys,
//                                              max_memory_bytes, ...)
//   sessiond_sessions_created_total            successful CreateSession calls (a retry of a
//                                              request_id counts again)
//   sessiond_sessions_ended_total{reason}      reason="expired" (reclaimed by the sweeper) or
//                                             "deleted" (by a Delete call) or "revoked" (by
//                                             RevokeSessions)
//   sessiond_store_errors_total{code}          store failures: UNAVAILABLE, DATA_LOSS, INTERNAL,
//                                              ... (not the normal outcomes NOT_FOUND, ABORTED,
//                                              ALREADY_EXISTS, FAILED_PRECONDITION, and limits)
//   sessiond_connections_closed_total{reason}  connections closed for abuse:
//   reason="cancelled_calls"
//                                              (HTTP/2 rapid reset, connection_guard.h)
//   sessiond_sweeps_total, sessiond_sweep_duration_seconds   sweeper runs and how long they took
//   sessiond_sessions_live, sessiond_sessions_bytes          the store's Stats() at scrape time
//   sessiond_rocksdb_wal_bytes, sessiond_rocksdb_sst_bytes   files in --data_dir (rocksdb only)
//   sessiond_data_dir_free_bytes                             free space under --data_dir
//   process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds, process_max_fds,
//   process_start_time_seconds                               the usual process metrics
//
// Thread-safe. The instrumented store (Instrument) must be destroyed before the store it wraps;
// the Metrics object must outlive every instrumented store and the gRPC server using its
// interceptor.
#ifndef SESSIOND_SERVICE_METRICS_H_
#define SESSIOND_SERVICE_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "service/batch_observer.h"
#include "storage/store.h"

namespace sessiond::service {

class Metrics : public BatchObserver {
 public:
  // Serves /metrics over HTTP on `listen_address` (host:port; port 0 picks one). `data_dir`, if not
  // empty, is the RocksDB directory whose files and free space are reported. UNAVAILABLE if the
  // address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Metrics>> Start(const std::string& listen_address,
                                                        const std::string& data_dir);
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The port /metrics is served on.
  int port() const;

  // A Store that forwards to `store` (not owned) and counts creations, ends, store errors and
  // sweeps; while it lives, scrapes also report `store`'s Stats(). See metered_store.h.
  std::unique_ptr<storage::Store> Instrument(storage::Store* store);

  // The interceptor factories to install on the gRPC server (ServerBuilder::experimental()).
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  InterceptorFactories();

  // Records one finished rpc: `method` as gRPC names it ("/pkg.Service/Method"), the tenant it was
  // served as (empty: none, and no `tenant` label), its status and how long it took.
  void RecordRpc(absl::string_view method, absl::string_view tenant, const grpc::Status& status,
                 absl::Duration elapsed);

  // Records one finished operation of a Batch under its own rpc's `method` (BatchObserver).
  void OnBatchedOperation(absl::string_view method, const absl::Status& status) override;

  // Store events (called by the instrumented store).
  void RecordCreated();
  void RecordEnded(absl::string_view reason, size_t count);
  // Counts `status` if it is a store failure rather than a normal outcome (see above).
  void RecordStoreResult(const absl::Status& status);
  void RecordSweep(absl::Duration elapsed);

  // Adds or removes a collector reported on every scrape. Removing waits for a scrape in progress.
  void AddCollectable(const std::shared_ptr<prometheus::Collectable>& collectable);
  void RemoveCollectable(const std::shared_ptr<prometheus::Collectable>& collectable);

 private:
  Metrics(std::unique_ptr<prometheus::Exposer> exposer, const std::string& data_dir);

  // Counts a conflict or a limit's rejection, if the outcome `code`, `message` of a call or batched
  // operation of `method_label` is one.
  void RecordRefusal(const std::string& method_label, absl::StatusCode code,
                     absl::string_view message);

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_;
  prometheus::Family<prometheus::Counter>& rpcs_;
  prometheus::Family<prometheus::Histogram>& rpc_duration_;
  prometheus::Family<prometheus::Counter>& batched_;
  prometheus::Family<prometheus::Counter>& conflicts_;
  prometheus::Family<prometheus::Counter>& rejections_;
  prometheus::Counter& created_;
  prometheus::Family<prometheus::Counter>& ended_;
  prometheus::Family<prometheus::Counter>& store_errors_;
  prometheus::Counter& sweeps_;
  prometheus::Histogram& sweep_duration_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_METRICS_H_
