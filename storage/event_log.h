// EventLog: the bounded, ordered log of session events a store keeps for WatchSessions.
//
// Every event gets a sequence number one above the previous (Record), or arrives with one assigned
// by the backend that orders events (Append: a Redis stream, a RocksDB column family read back at
// open), which must only grow. The log keeps the newest `retention` events in memory; a reader asks
// for the events from a sequence on and learns with OUT_OF_RANGE when that sequence is no longer
// (or not yet) in the log. A reader that has caught up registers a Waiter, woken once when the next
// event arrives, so an idle watcher costs a writer nothing but a check of an empty list.
//
// Thread-safe. Waiters are woken on the thread that recorded the event, after the log's lock is
// released (or, inside a DeferWakes scope, when the scope ends); Wake() must be quick and must not
// call back into the store.
#ifndef SESSIOND_STORAGE_EVENT_LOG_H_
#define SESSIOND_STORAGE_EVENT_LOG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/session_event.h"

namespace sessiond::storage {

class EventLog {
 public:
  // Something to wake once when an event at or after a sequence exists.
  class Waiter {
   public:
    virtual ~Waiter() = default;
    virtual void Wake() = 0;
  };

  // While one lives on a thread, the waiters that the thread's Record and Append calls (on any log)
  // would wake are woken when it ends instead: a call that records many events (a Batch) wakes
  // each watcher once, after all of them, so a watcher sends them together. Scopes nest; the
  // outermost one wakes. Must end on the thread that made it.
  class DeferWakes {
   public:
    DeferWakes();
    ~DeferWakes();
    DeferWakes(const DeferWakes&) = delete;
    DeferWakes& operator=(const DeferWakes&) = delete;

   private:
    friend class EventLog;
    DeferWakes* const outer_;
    std::vector<std::shared_ptr<Waiter>> waiters_;
  };

  // An empty log whose first event will be `first_sequence`, keeping the newest `retention` (≥ 1).
  explicit EventLog(size_t retention, uint64_t first_sequence = 1);

  // Gives `event` the next sequence, appends it, wakes the waiters, and returns the sequence.
  uint64_t Record(SessionEvent event);

  // Appends `event` with the sequence it carries, which must be above every earlier one (events
  // with a lower or equal sequence are ignored and false is returned), and wakes the waiters.
  bool Append(SessionEvent event);

  // Up to `max` events from sequence `from` on, oldest first; empty when `from` is the next
  // sequence. OUT_OF_RANGE naming the range held if `from` is older than the oldest event kept
  // (after events were dropped) or beyond the next sequence.
  absl::StatusOr<std::vector<SessionEvent>> Read(uint64_t from, size_t max) const;

  // An estimate of the heap memory the kept events take, for a store's memory cap.
  size_t approximate_bytes() const { return bytes_.load(std::memory_order_relaxed); }

  // The sequence the next event will get (one above the last).
  uint64_t next_sequence() const;

  // For a store whose writers number their events before their write and append them after it
  // (EventSequencer): every sequence below `until` has been handed out.
  void NoteReserved(uint64_t until);

  // Every event committed so far has a sequence below this: next_sequence(), or beyond it while
  // numbered events are still to be appended. A reader that has read the log up to here has seen
  // every change committed before it asked (near caches' leases, invalidation_reactor.h).
  uint64_t committed_until() const;

  // If an event at or after `from` exists, returns false. Else keeps `waiter` and returns true; it
  // is woken (and dropped) when the next event arrives, unless Cancel drops it first.
  bool WaitFor(uint64_t from, std::shared_ptr<Waiter> waiter);

  // Drops `waiter` if it is still waiting.
  void Cancel(const Waiter* waiter);

 private:
  // Appends under the lock and takes the waiters to wake.
  std::vector<std::shared_ptr<Waiter>> AppendLocked(SessionEvent event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes `waiters`, or hands them to the thread's DeferWakes scope.
  static void WakeAll(std::vector<std::shared_ptr<Waiter>> waiters);

  const size_t retention_;
  std::atomic<size_t> bytes_{0};
  std::atomic<uint64_t> reserved_until_{0};
  mutable absl::Mutex mu_;
  std::deque<SessionEvent> events_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_);
  // True once an event was dropped for retention: reads before the oldest kept are then refused.
  bool dropped_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t first_sequence_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Waiter>> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_EVENT_LOG_H_
