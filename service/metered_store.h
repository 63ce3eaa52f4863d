// MeteredStore: a StoreWrapper that reports what the store does to Metrics — sessions created and
// ended, store failures, sweeper runs — and, while it lives, the store's Stats() on every scrape
// (sessiond_sessions_live, sessiond_sessions_bytes). Thread-safe if the target is.
#ifndef SESSIOND_SERVICE_METERED_STORE_H_
#define SESSIOND_SERVICE_METERED_STORE_H_

#include <memory>

#include "prometheus/collectable.h"
#include "storage/store_wrapper.h"

namespace sessiond::service {

class Metrics;

class MeteredStore : public storage::StoreWrapper {
 public:
  // Forwards to `target` and reports to `metrics` (neither owned; both must outlive this).
  MeteredStore(storage::Store* target, Metrics* metrics);
  // Stops reporting Stats(), waiting for a scrape in progress.
  ~MeteredStore() override;

  absl::StatusOr<storage::SessionMeta> Create(storage::NewSession session) override;
  absl::StatusOr<storage::SessionMeta> Get(absl::string_view id,
                                           absl::Span<const absl::string_view> keys,
                                           storage::Renewal renewal,
                                           storage::EntryVisitor visit) override;
  absl::StatusOr<storage::SessionMeta> Apply(absl::string_view id,
                                             std::vector<storage::Mutation> mutations,
                                             const storage::Conditions& conditions) override;
  absl::StatusOr<storage::SessionMeta> Touch(absl::string_view id) override;
  absl::StatusOr<bool> Delete(absl::string_view id, std::optional<uint64_t> if_version,
                              absl::string_view request_id) override;
  absl::StatusOr<storage::SessionMeta> Rotate(
      absl::string_view id, std::string new_id, std::optional<uint64_t> if_version,
      absl::string_view request_id, const std::optional<std::string>& bind_principal) override;
  absl::StatusOr<storage::SessionPage> ListSessions(absl::string_view principal, size_t page_size,
                                                    absl::string_view page_token) override;
  absl::StatusOr<size_t> RevokeSessions(absl::string_view principal,
                                        absl::Span<const std::string> except_ids) override;
  absl::StatusOr<size_t> SweepExpired() override;

 private:
  // Passes `result` through after counting a failure.
  template <typename T>
  absl::StatusOr<T> Counted(absl::StatusOr<T> result);

  Metrics* const metrics_;
  std::shared_ptr<prometheus::Collectable> stats_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_METERED_STORE_H_
