#include "service/tenant_session_counts.h"

#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "storage/live_session_counts.h"

namespace sessiond::service {

// Wakes the reader thread when the log grows (EventLog::Waiter: quick, never calls the store).
class TenantSessionCounts::Wakeup final : public storage::EventLog::Waiter {
 public:
  void Wake() override {
    absl::MutexLock lock(&mu_);
    woken_ = true;
  }

  // Waits until woken or stopped, at most `timeout`; false once stopped.
  bool Wait(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &Wakeup::Ready), timeout);
    woken_ = false;
    return !stopped_;
  }

  bool Stopped() {
    absl::MutexLock lock(&mu_);
    return stopped_;
  }

  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }

 private:
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return woken_ || stopped_; }

  mutable absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

TenantSessionCounts::TenantSessionCounts(storage::EventLog* log)
    : log_(log), wakeup_(std::make_shared<Wakeup>()), next_(log->next_sequence()) {
  reader_ = std::thread([this] { Run(); });
}

TenantSessionCounts::~TenantSessionCounts() {
  wakeup_->Stop();
  log_->Cancel(wakeup_.get());
  reader_.join();
}

void TenantSessionCounts::CatchUpLocked() {
  for (;;) {
    absl::StatusOr<std::vector<storage::SessionEvent>> events = log_->Read(next_, 1024);
    if (!events.ok()) {
      // Only if this process could not read for a whole --event_retention of events.
      std::cerr << "sessiond: error: tenants' live session counts fell behind the event log; "
                   "max_live_sessions is approximate until restart: "
                << events.status().message() << std::endl;
      next_ = log_->next_sequence();
      return;
    }
    if (events->empty()) return;
    for (const storage::SessionEvent& event : *events) {
      const int delta = storage::LiveSessionDelta(event);
      if (delta != 0) live_[storage::TenantPrefixOf(event.id)] += delta;
    }
    next_ = events->back().sequence + 1;
  }
}

void TenantSessionCounts::Run() {
  while (!wakeup_->Stopped()) {
    uint64_t next;
    {
      absl::MutexLock lock(&mu_);
      CatchUpLocked();
      next = next_;
    }
    if (!log_->WaitFor(next, wakeup_)) continue;
    const bool stopped = !wakeup_->Wait(absl::Seconds(1));
    // Woken, the log dropped the waiter; timed out, it still holds it: register it once only.
    log_->Cancel(wakeup_.get());
    if (stopped) return;
  }
}

absl::StatusOr<storage::SessionMeta> TenantSessionCounts::CreateWithin(
    const storage::LiveCap& cap, absl::FunctionRef<absl::StatusOr<storage::SessionMeta>()> create) {
  absl::MutexLock lock(&mu_);
  CatchUpLocked();
  auto it = live_.find(cap.id_prefix);
  const int64_t live = it == live_.end() ? 0 : it->second;
  if (live >= static_cast<int64_t>(cap.max)) return storage::LiveCapExceeded(cap, live);
  return create();
}

size_t TenantSessionCounts::Live(absl::string_view prefix) {
  absl::MutexLock lock(&mu_);
  CatchUpLocked();
  auto it = live_.find(prefix);
  return it == live_.end() ? 0 : static_cast<size_t>(it->second);
}

}  // namespace sessiond::service
