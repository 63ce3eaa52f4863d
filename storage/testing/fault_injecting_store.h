// FaultInjectingStore: a StoreWrapper whose calls can be made to fail or to take longer, method by
// method, so tests can check how the layers above a Store (the service, clients) handle a backend
// that is down, corrupt, full or slow. A failed call does not reach the wrapped store, so it
// changes nothing, as the Store contract requires of a failed call. Thread-safe.
#ifndef SESSIOND_STORAGE_TESTING_FAULT_INJECTING_STORE_H_
#define SESSIOND_STORAGE_TESTING_FAULT_INJECTING_STORE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/store_wrapper.h"

namespace sessiond::storage {

// The Store methods a fault can be injected into.
enum class StoreMethod {
  kCreate,
  kGet,
  kApply,
  kTouch,
  kDelete,
  kRotate,
  kListSessions,
  kRevokeSessions,
  kSweepExpired
};

class FaultInjectingStore final : public StoreWrapper {
 public:
  // Passed as `times`: the fault stays until Reset.
  static constexpr int kUntilReset = -1;

  // Wraps `target` (not owned; must outlive this store) with no faults.
  explicit FaultInjectingStore(Store* target) : StoreWrapper(target) {}

  // Makes the next `times` calls of `method` (every call, with kUntilReset) return `error`, which
  // must not be OK, without reaching the wrapped store.
  void FailWith(StoreMethod method, absl::Status error, int times = kUntilReset);
  // Makes every call of `method` sleep for `latency` before it runs (or fails).
  void Delay(StoreMethod method, absl::Duration latency);
  // Makes AcceptsWrites() report false (true again with Reset), as a store opened read-only does.
  void ReportReadOnly();
  // Removes every injected error and delay, and the read-only report.
  void Reset();

  bool AcceptsWrites() const override;

  absl::StatusOr<SessionMeta> Create(NewSession session) override;
  absl::StatusOr<SessionMeta> Get(absl::string_view id, absl::Span<const absl::string_view> keys,
                                  Renewal renewal, EntryVisitor visit) override;
  absl::StatusOr<SessionMeta> Apply(absl::string_view id, std::vector<Mutation> mutations,
                                    const Conditions& conditions) override;
  absl::StatusOr<SessionMeta> Touch(absl::string_view id) override;
  absl::StatusOr<bool> Delete(absl::string_view id, std::optional<uint64_t> if_version,
                              absl::string_view request_id) override;
  absl::StatusOr<SessionMeta> Rotate(absl::string_view id, std::string new_id,
                                     std::optional<uint64_t> if_version,
                                     absl::string_view request_id,
                                     const std::optional<std::string>& bind_principal) override;
  absl::StatusOr<SessionPage> ListSessions(absl::string_view principal, size_t page_size,
                                           absl::string_view page_token) override;
  absl::StatusOr<size_t> RevokeSessions(absl::string_view principal,
                                        absl::Span<const std::string> except_ids) override;
  absl::StatusOr<size_t> SweepExpired() override;

 private:
  static constexpr size_t kMethods = static_cast<size_t>(StoreMethod::kSweepExpired) + 1;

  struct Fault {
    absl::Status error;
    int times = 0;  // calls left to fail; kUntilReset: all
    absl::Duration latency;
  };

  // Sleeps for `method`'s injected latency, then returns its injected error (counting the call
  // against `times`), or OK to let the call through.
  absl::Status Inject(StoreMethod method);

  mutable absl::Mutex mu_;
  std::array<Fault, kMethods> faults_ ABSL_GUARDED_BY(mu_);
  bool read_only_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_TESTING_FAULT_INJECTING_STORE_H_
