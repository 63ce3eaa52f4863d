// PgEventTail: feeds one sessiond replica's EventLog (event_log.h) from the PostgreSQL events table
// that every replica's transactions append to (postgres_store.h explains how they are numbered),
// so WatchSessions on any replica sees every replica's events, in the table's one order.
//
// At start it reads where the table begins (its oldest event, or one past the last sequence given
// if it is empty) and makes the log start there, so the retained events are replayed to this
// replica and a watcher resuming from a trimmed sequence gets OUT_OF_RANGE. Then a thread of its
// own reads the events after the last one it read, on a connection of its own, in batches of
// 1,000: at once when this replica committed events (Poke), else every 50 ms for the other
// replicas' events. If PostgreSQL cannot be reached it reconnects every 100 ms and carries on
// from where it stopped.
//
// A sequence is visible only once every lower one is (they are given under one row lock, held to
// commit), so reading "after the last one read" never skips an event. A replica that falls further
// behind than the table's retention skips what was trimmed (a gap in sequences).
//
// Thread-safe.
#ifndef SESSIOND_STORAGE_POSTGRES_EVENT_TAIL_H_
#define SESSIOND_STORAGE_POSTGRES_EVENT_TAIL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/event_log.h"
#include "storage/postgres_connection.h"

namespace sessiond::storage {

class PgEventTail {
 public:
  // Reads where the events table of `table_prefix` begins and starts tailing it into a log keeping
  // `retention` events; each query is bounded by `timeout`. UNAVAILABLE if PostgreSQL cannot be
  // reached.
  static absl::StatusOr<std::unique_ptr<PgEventTail>> Start(const PgTarget& target,
                                                            const std::string& table_prefix,
                                                            size_t retention,
                                                            absl::Duration timeout);
  // Stops the thread (within one query).
  ~PgEventTail();
  PgEventTail(const PgEventTail&) = delete;
  PgEventTail& operator=(const PgEventTail&) = delete;

  EventLog& log() { return log_; }

  // Has the thread read the table now rather than at its next poll: this replica committed events.
  void Poke();

 private:
  PgEventTail(const PgTarget& target, std::string read_sql, size_t retention,
              absl::Duration timeout, uint64_t first_sequence,
              std::unique_ptr<PgConnection> connection);
  void Run();
  // Reads and appends the events after tailed_; sets `*full` if the batch was full (more wait).
  absl::Status ReadBatch(bool* full);
  // Waits for a Poke, the poll interval or Stop, whichever comes first; false once stopped.
  bool Wait(absl::Duration interval);
  bool PokedOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return poked_ || stopping_; }

  const PgTarget target_;
  const std::string read_sql_;
  const absl::Duration timeout_;
  EventLog log_;
  // The thread's own: its connection (null while PostgreSQL is unreachable), and the sequence of
  // the last event read (or the one before the first to come).
  std::unique_ptr<PgConnection> connection_;
  uint64_t tailed_;
  mutable absl::Mutex mu_;
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_POSTGRES_EVENT_TAIL_H_
