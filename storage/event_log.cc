#include "storage/event_log.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sessiond::storage {
namespace {

size_t EventBytes(const SessionEvent& event) {
  size_t bytes = sizeof(SessionEvent) + event.id.capacity() + event.new_id.capacity() +
                 event.principal.capacity() + event.changed_keys.capacity() * sizeof(std::string);
  for (const std::string& key : event.changed_keys) bytes += key.capacity();
  return bytes;
}

// The innermost DeferWakes scope alive on this thread, if any.
thread_local EventLog::DeferWakes* deferring_scope = nullptr;

}  // namespace

EventLog::DeferWakes::DeferWakes() : outer_(deferring_scope) { deferring_scope = this; }

EventLog::DeferWakes::~DeferWakes() {
  deferring_scope = outer_;
  WakeAll(std::move(waiters_));
}

EventLog::EventLog(size_t retention, uint64_t first_sequence)
    : retention_(std::max<size_t>(retention, 1)),
      next_sequence_(first_sequence),
      first_sequence_(first_sequence) {}

std::vector<std::shared_ptr<EventLog::Waiter>> EventLog::AppendLocked(SessionEvent event) {
  next_sequence_ = event.sequence + 1;
  bytes_.fetch_add(EventBytes(event), std::memory_order_relaxed);
  events_.push_back(std::move(event));
  if (events_.size() > retention_) {
    bytes_.fetch_sub(EventBytes(events_.front()), std::memory_order_relaxed);
    events_.pop_front();
    dropped_ = true;
  }
  return std::exchange(waiters_, {});
}

void EventLog::WakeAll(std::vector<std::shared_ptr<Waiter>> waiters) {
  if (deferring_scope != nullptr) {
    std::move(waiters.begin(), waiters.end(), std::back_inserter(deferring_scope->waiters_));
    return;
  }
  for (const std::shared_ptr<Waiter>& waiter : waiters) waiter->Wake();
}

uint64_t EventLog::Record(SessionEvent event) {
  std::vector<std::shared_ptr<Waiter>> waiters;
  uint64_t sequence;
  {
    absl::MutexLock lock(&mu_);
    sequence = next_sequence_;
    event.sequence = sequence;
    waiters = AppendLocked(std::move(event));
  }
  WakeAll(std::move(waiters));
  return sequence;
}

bool EventLog::Append(SessionEvent event) {
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    absl::MutexLock lock(&mu_);
    if (event.sequence < next_sequence_) return false;
    waiters = AppendLocked(std::move(event));
  }
  WakeAll(std::move(waiters));
  return true;
}

absl::StatusOr<std::vector<SessionEvent>> EventLog::Read(uint64_t from, size_t max) const {
  absl::MutexLock lock(&mu_);
  const uint64_t oldest = events_.empty() ? next_sequence_ : events_.front().sequence;
  if (from > next_sequence_ || (from < oldest && (dropped_ || from < first_sequence_))) {
    return absl::OutOfRangeError(
        absl::StrCat("from_sequence: ", from, " is outside the retained event log, which holds ",
                     oldest, " to ", next_sequence_ - 1,
                     " (--event_retention); resynchronise, then watch from ", next_sequence_));
  }
  std::vector<SessionEvent> out;
  // Sequences may have gaps (Append), so find the first at or after `from` by search.
  auto it = std::lower_bound(
      events_.begin(), events_.end(), from,
      [](const SessionEvent& event, uint64_t sequence) { return event.sequence < sequence; });
  for (; it != events_.end() && out.size() < max; ++it) out.push_back(*it);
  return out;
}

uint64_t EventLog::next_sequence() const {
  absl::MutexLock lock(&mu_);
  return next_sequence_;
}

void EventLog::NoteReserved(uint64_t until) {
  uint64_t known = reserved_until_.load(std::memory_order_relaxed);
  while (known < until &&
         !reserved_until_.compare_exchange_weak(known, until, std::memory_order_release)) {
  }
}

uint64_t EventLog::committed_until() const {
  return std::max(next_sequence(), reserved_until_.load(std::memory_order_acquire));
}

bool EventLog::WaitFor(uint64_t from, std::shared_ptr<Waiter> waiter) {
  absl::MutexLock lock(&mu_);
  if (from < next_sequence_) return false;
  waiters_.push_back(std::move(waiter));
  return true;
}

void EventLog::Cancel(const Waiter* waiter) {
  absl::MutexLock lock(&mu_);
  std::erase_if(waiters_, [waiter](const std::shared_ptr<Waiter>& w) { return w.get() == waiter; });
}

}  // namespace sessiond::storage
