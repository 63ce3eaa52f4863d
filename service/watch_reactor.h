// WatchSessions: the server stream of session events, one reactor per call, fed from the store's
// EventLog (storage/event_log.h).
//
// A reactor reads the log from the caller's sequence on and writes what is ready as one
// WatchSessionsResponse (at most kMaxEvents events and about kMaxBytes), one write at a time, so a
// busy log costs one message per batch rather than one per event; once caught up it waits on the
// log and is woken by the next event. It holds at most one message, so a slow watcher costs the
// server no more memory than that:
// when it falls behind the log's retention the stream ends with RESOURCE_EXHAUSTED (the caller
// resumes from its last sequence and learns with OUT_OF_RANGE that it must resynchronise).
#ifndef SESSIOND_SERVICE_WATCH_REACTOR_H_
#define SESSIOND_SERVICE_WATCH_REACTOR_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_callback.h"
#include "storage/event_log.h"

namespace sessiond::service {

class WatchReactor;

// The watch streams in progress, so that a draining server can end them (gRPC's shutdown would
// otherwise wait for streams that never end by themselves). Thread-safe.
class WatchRegistry {
 public:
  // Ends every stream in progress with UNAVAILABLE, and every stream started later at once.
  void EndAll();

 private:
  friend class WatchReactor;
  // False once EndAll ran.
  bool Add(WatchReactor* reactor);
  void Remove(WatchReactor* reactor);

  absl::Mutex mu_;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<WatchReactor*> reactors_ ABSL_GUARDED_BY(mu_);
};

class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                           public storage::EventLog::Waiter,
                           public std::enable_shared_from_this<WatchReactor> {
 public:
  // Starts a stream of `log`'s events for the raw WatchSessionsRequest `request`; ends it at once
  // with the request's error if it is malformed or its sequence is outside the log. `log` and
  // `registry` must outlive every reactor. The reactor owns itself until gRPC is done with it.
  static grpc::ServerWriteReactor<grpc::ByteBuffer>* Start(const grpc::ByteBuffer& request,
                                                           storage::EventLog* log,
                                                           WatchRegistry* registry);

  // Ends the stream with `status` unless it has ended.
  void End(const grpc::Status& status);

  void Wake() override { Pump(); }
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 private:
  // What one message carries at most: events, and bytes (passed only by the one event that starts
  // a message, so any event can be sent).
  static constexpr size_t kMaxEvents = 256;
  static constexpr size_t kMaxBytes = 1 << 20;

  WatchReactor(storage::EventLog* log, WatchRegistry* registry, uint64_t next)
      : log_(log), registry_(registry), next_(next) {}

  // Writes the next message if none is being written, or waits on the log for its events.
  void Pump();

  storage::EventLog* const log_;
  WatchRegistry* const registry_;
  absl::Mutex mu_;
  // The sequence of the next event to read from the log.
  uint64_t next_ ABSL_GUARDED_BY(mu_);
  // The serialized message in flight while writing_; gRPC reads it until OnWriteDone.
  grpc::ByteBuffer pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Keeps the reactor alive until OnDone; a waker on the log holds its own reference.
  std::shared_ptr<WatchReactor> self_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_WATCH_REACTOR_H_
