// InvalidationStream: keeps one WatchInvalidations stream open for a NearCache, and its lease.
//
// A thread of its own opens the stream (with the client's bearer token), sends LeaseRequest pings
// 1, 2, 3, ... right away and then every quarter lease (100 ms until the server states its lease),
// remembering each ping's steady-clock send time. A second thread reads the stream: it applies
// every Invalidation to the cache, then, for a granted ping, grants the cache a lease until that
// ping's send time plus the server's lease. When the stream breaks (error, end, the server
// draining), the cache is Reset and the stream reopened after a backoff (50 ms doubling to 5 s,
// with jitter; back to 50 ms once a new stream granted a ping). Its failures never reach callers:
// without a lease, reads go to the server.
//
// Destroying it cancels the stream and joins both threads; the ClientContext is gone before the
// destructor returns. Thread-safe.
#ifndef SESSIOND_CLIENTS_CPP_SRC_INVALIDATION_STREAM_H_
#define SESSIOND_CLIENTS_CPP_SRC_INVALIDATION_STREAM_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/client_context.h"
#include "near_cache.h"
#include "sessiond/v1/session.grpc.pb.h"

namespace sessiond::internal {

class InvalidationStream {
 public:
  // Starts streaming over `stub` into `cache` (neither owned; both outlive this object), sending
  // `bearer_token` (if not empty) as the stream's authorization.
  InvalidationStream(v1::SessionService::Stub* stub, std::string bearer_token, NearCache* cache);
  // Cancels the stream and joins its threads.
  ~InvalidationStream();
  InvalidationStream(const InvalidationStream&) = delete;
  InvalidationStream& operator=(const InvalidationStream&) = delete;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using Stream = grpc::ClientReaderWriter<v1::LeaseRequest, v1::InvalidationsResponse>;

  // The writer thread: opens streams until destruction, with backoff between them.
  void Run();
  // Pings `stream` until it breaks or the object is being destroyed.
  void Ping(Stream& stream);
  // The reader thread of one stream: applies what it reads; marks the stream broken at its end.
  void Read(Stream& stream);

  v1::SessionService::Stub* const stub_;
  const std::string authorization_;
  NearCache* const cache_;

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // The current stream's context while it is open (cancelled by the destructor), and whether it
  // broke.
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  bool broken_ ABSL_GUARDED_BY(mutex_) = false;
  // The pings sent on the current stream and not granted yet, with their send times.
  std::deque<std::pair<uint64_t, SteadyTime>> pings_ ABSL_GUARDED_BY(mutex_);
  // The server's lease, as last stated; whether the current stream granted a ping.
  std::chrono::steady_clock::duration lease_ ABSL_GUARDED_BY(mutex_) =
      std::chrono::milliseconds(100);
  bool granted_ ABSL_GUARDED_BY(mutex_) = false;

  std::thread writer_;
};

}  // namespace sessiond::internal

#endif  // SESSIOND_CLIENTS_CPP_SRC_INVALIDATION_STREAM_H_
