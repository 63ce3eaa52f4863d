// RedisEventTail: feeds one sessiond replica's EventLog (event_log.h) from the Redis event stream
// that every replica's scripts append to (redis_scripts.h: P:events, entry ids 0-<sequence>), so
// WatchSessions on any replica sees every replica's events, in the stream's one order.
//
// At start it reads where the stream begins (its first entry, or the next sequence if it is
// empty) and makes the log start there, so a watcher resuming from a trimmed sequence gets
// OUT_OF_RANGE. Then a thread of its own reads the stream from there on (XREAD BLOCK on a
// connection it holds while blocked, in batches) and appends each event with the sequence it
// carries. If Redis cannot be reached it tries again every 100 ms, from where it stopped.
//
// A replica that falls further behind than the stream's retention skips what was trimmed (a gap
// in sequences), as the log cannot hold what Redis no longer has.
//
// Thread-safe.
#ifndef SESSIOND_STORAGE_REDIS_EVENT_TAIL_H_
#define SESSIOND_STORAGE_REDIS_EVENT_TAIL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "storage/event_log.h"
#include "storage/redis_client.h"
#include "storage/session_event.h"

namespace sessiond::storage {

class RedisEventTail {
 public:
  // Reads where the stream `stream_key` begins (`sequence_key` holds the last sequence given)
  // and starts tailing it into a log keeping `retention` events. `client` must outlive the tail.
  // UNAVAILABLE if Redis cannot be reached.
  static absl::StatusOr<std::unique_ptr<RedisEventTail>> Start(RedisClient* client,
                                                               std::string stream_key,
                                                               const std::string& sequence_key,
                                                               size_t retention);
  // Stops the thread (within one blocking read, 100 ms).
  ~RedisEventTail();
  RedisEventTail(const RedisEventTail&) = delete;
  RedisEventTail& operator=(const RedisEventTail&) = delete;

  EventLog& log() { return log_; }

 private:
  RedisEventTail(RedisClient* client, std::string stream_key, size_t retention,
                 uint64_t first_sequence);
  void Run();
  // Appends the events of one XREAD reply; false if the reply is malformed.
  bool AppendAll(const RedisReply& reply);

  RedisClient* const client_;
  const std::string stream_key_;
  EventLog log_;
  // The sequence of the last event read (or the one before the first to come); the thread's own.
  uint64_t tailed_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_REDIS_EVENT_TAIL_H_
