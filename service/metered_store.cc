#include "service/metered_store.h"

#include <utility>

#include "absl/time/clock.h"
#include "prometheus/metric_family.h"
#include "service/metrics.h"

namespace sessiond::service {
namespace {

prometheus::MetricFamily Gauge(const std::string& name, const std::string& help, double value) {
  prometheus::ClientMetric metric;
  metric.gauge.value = value;
  return {name, help, prometheus::MetricType::Gauge, {metric}};
}

// The store's Stats(), read at scrape time.
class StoreStatsCollector : public prometheus::Collectable {
 public:
  explicit StoreStatsCollector(const storage::Store* store) : store_(store) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    const storage::StoreStats stats = store_->Stats();
    return {Gauge("sessiond_sessions_live",
                  "Sessions stored and not yet reclaimed (expired ones count until swept)",
                  static_cast<double>(stats.live_sessions)),
            Gauge("sessiond_sessions_bytes", "The store's estimate of the bytes its sessions take",
                  static_cast<double>(stats.approximate_bytes))};
  }

 private:
  const storage::Store* const store_;
};

}  // namespace

MeteredStore::MeteredStore(storage::Store* target, Metrics* metrics)
    : StoreWrapper(target),
      metrics_(metrics),
      stats_(std::make_shared<StoreStatsCollector>(target)) {
  metrics_->AddCollectable(stats_);
}

MeteredStore::~MeteredStore() { metrics_->RemoveCollectable(stats_); }

template <typename T>
absl::StatusOr<T> MeteredStore::Counted(absl::StatusOr<T> result) {
  metrics_->RecordStoreResult(result.status());
  return result;
}

absl::StatusOr<storage::SessionMeta> MeteredStore::Create(storage::NewSession session) {
  absl::StatusOr<storage::SessionMeta> created = Counted(StoreWrapper::Create(std::move(session)));
  if (created.ok()) metrics_->RecordCreated();
  return created;
}

absl::StatusOr<storage::SessionMeta> MeteredStore::Get(absl::string_view id,
                                                       absl::Span<const absl::string_view> keys,
                                                       storage::Renewal renewal,
                                                       storage::EntryVisitor visit) {
  return Counted(StoreWrapper::Get(id, keys, renewal, visit));
}

absl::StatusOr<storage::SessionMeta> MeteredStore::Apply(absl::string_view id,
                                                         std::vector<storage::Mutation> mutations,
                                                         const storage::Conditions& conditions) {
  return Counted(StoreWrapper::Apply(id, std::move(mutations), conditions));
}

absl::StatusOr<storage::SessionMeta> MeteredStore::Touch(absl::string_view id) {
  return Counted(StoreWrapper::Touch(id));
}

absl::StatusOr<bool> MeteredStore::Delete(absl::string_view id, std::optional<uint64_t> if_version,
                                          absl::string_view request_id) {
  absl::StatusOr<bool> deleted = Counted(StoreWrapper::Delete(id, if_version, request_id));
  if (deleted.ok() && *deleted) metrics_->RecordEnded("deleted", 1);
  return deleted;
}

absl::StatusOr<storage::SessionMeta> MeteredStore::Rotate(
    absl::string_view id, std::string new_id, std::optional<uint64_t> if_version,
    absl::string_view request_id, const std::optional<std::string>& bind_principal) {
  return Counted(
      StoreWrapper::Rotate(id, std::move(new_id), if_version, request_id, bind_principal));
}

absl::StatusOr<storage::SessionPage> MeteredStore::ListSessions(absl::string_view principal,
                                                                size_t page_size,
                                                                absl::string_view page_token) {
  return Counted(StoreWrapper::ListSessions(principal, page_size, page_token));
}

absl::StatusOr<size_t> MeteredStore::RevokeSessions(absl::string_view principal,
                                                    absl::Span<const std::string> except_ids) {
  absl::StatusOr<size_t> revoked = Counted(StoreWrapper::RevokeSessions(principal, except_ids));
  if (revoked.ok() && *revoked > 0) metrics_->RecordEnded("revoked", *revoked);
  return revoked;
}

absl::StatusOr<size_t> MeteredStore::SweepExpired() {
  const absl::Time start = absl::Now();
  absl::StatusOr<size_t> swept = Counted(StoreWrapper::SweepExpired());
  metrics_->RecordSweep(absl::Now() - start);
  if (swept.ok() && *swept > 0) metrics_->RecordEnded("expired", *swept);
  return swept;
}

}  // namespace sessiond::service
