// TenantSessionCounts: how many live sessions each tenant has, for a tenant's max_live_sessions
// (--tenants_file), counted from the store's event log: +1 for each created event, -1 for each
// ending (expired, deleted, revoked, evicted), by the tenant prefix of the session's id.
//
// Exact only where every creation and ending of every session is an event in this process's log
// from an empty store on, and is in the log when its call returns: the memory backend. A durable
// store reopened with sessions, or replicas sharing a store (each with its own log, fed late or
// not at all), need a count the store keeps atomically with each create (Store::CapsLiveSessions:
// RocksDB's storage/live_session_counts.h, PostgreSQL's storage/postgres_live_cap.h); the server
// refuses max_live_sessions elsewhere.
// An expired session counts until the sweeper (or a call) finds it, within --sweep_interval.
//
// Creates under a limit run one at a time, after the count has caught up with the log, so two
// creates cannot both take the last place. A thread reads the log as it grows so the count never
// falls behind the log's retention. Thread-safe.
#ifndef SESSIOND_SERVICE_TENANT_SESSION_COUNTS_H_
#define SESSIOND_SERVICE_TENANT_SESSION_COUNTS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "storage/event_log.h"
#include "storage/session.h"

namespace sessiond::service {

class TenantSessionCounts {
 public:
  // Counts the events of `log` (not owned; must outlive this) from its next one on: call it while
  // the store holds no session.
  explicit TenantSessionCounts(storage::EventLog* log);
  ~TenantSessionCounts();
  TenantSessionCounts(const TenantSessionCounts&) = delete;
  TenantSessionCounts& operator=(const TenantSessionCounts&) = delete;

  // Runs `create` (a Create through the tenant's view of the store) if fewer than `cap.max`
  // sessions with ids starting with `cap.id_prefix` are live, else storage::LiveCapExceeded.
  absl::StatusOr<storage::SessionMeta> CreateWithin(
      const storage::LiveCap& cap,
      absl::FunctionRef<absl::StatusOr<storage::SessionMeta>()> create);

  // The live sessions counted for the tenant with `prefix` (for tests).
  size_t Live(absl::string_view prefix);

 private:
  class Wakeup;

  // Counts the events recorded since the last call.
  void CatchUpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The reader thread: catches up whenever the log grows, until stopped.
  void Run();

  storage::EventLog* const log_;
  const std::shared_ptr<Wakeup> wakeup_;
  absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int64_t> live_ ABSL_GUARDED_BY(mu_);
  std::thread reader_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_TENANT_SESSION_COUNTS_H_
