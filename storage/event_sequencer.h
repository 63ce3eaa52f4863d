// EventSequencer: numbers the events of concurrent writers and hands them to an EventLog in
// sequence order, for a backend that stores each event in the same atomic write as the change it
// describes (RocksDB: the event column family, in the change's WriteBatch).
//
// A writer reserves sequences before its write (Reserve), stores its events under them, writes,
// then publishes them, or abandons them if the write failed (a gap: sequences only grow, and the
// log accepts gaps). The log gets sequence N+1 only after N was published or abandoned, so a reader
// never sees N+1 before N, while the writes themselves run concurrently (RocksDB keeps grouping
// their fsyncs). A writer that reserves and writes while holding its session's lock gets sequences
// in the order of that session's changes.
//
// Thread-safe. Every reservation must be published or abandoned (a Reservation that goes out of
// scope unpublished abandons itself), or later events stay unpublished.
#ifndef SESSIOND_STORAGE_EVENT_SEQUENCER_H_
#define SESSIOND_STORAGE_EVENT_SEQUENCER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/synchronization/mutex.h"
#include "storage/event_log.h"
#include "storage/session_event.h"

namespace sessiond::storage {

class EventSequencer {
 public:
  // Consecutive sequences reserved for one write.
  class Reservation {
   public:
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&&) = delete;
    Reservation(const Reservation&) = delete;
    ~Reservation();

    // The first sequence; the others follow it.
    uint64_t first() const { return first_; }
    size_t count() const { return count_; }

   private:
    friend class EventSequencer;
    Reservation(EventSequencer* owner, uint64_t first, size_t count)
        : owner_(owner), first_(first), count_(count) {}

    EventSequencer* owner_;  // null once published or abandoned
    uint64_t first_;
    size_t count_;
  };

  // Numbers events from `next_sequence` on, appending them to `log` (which must outlive this).
  EventSequencer(EventLog& log, uint64_t next_sequence);

  // Reserves `count` (≥ 1) consecutive sequences.
  Reservation Reserve(size_t count);

  // Publishes `events` (exactly reservation.count(), sequences set from reservation.first()) once
  // every earlier sequence is published or abandoned.
  void Publish(Reservation reservation, std::vector<SessionEvent> events);

  // Every sequence below this one is published or abandoned.
  uint64_t published_until() const;

 private:
  // Marks the reservation at `first` done with `events` (empty: abandoned) and appends what is
  // now in order.
  void Finish(uint64_t first, size_t count, std::vector<SessionEvent> events);

  EventLog& log_;
  mutable absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_);
  uint64_t published_until_ ABSL_GUARDED_BY(mu_);
  // Reservations finished out of order, by first sequence: their count and events.
  absl::btree_map<uint64_t, std::pair<size_t, std::vector<SessionEvent>>> finished_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_EVENT_SEQUENCER_H_
