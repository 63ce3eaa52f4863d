// Batcher: automatic batching of one Client's unary calls (group commit).
//
// A call goes out at once, as its own rpc, when the client has nothing in flight. While something
// is in flight, calls queue; the queue goes out as one Batch rpc as soon as a flight returns, or at
// once when it holds ClientOptions::max_batch_operations operations or max_batch_bytes bytes. A
// queue of one goes out as that call's own rpc. So an idle client adds no latency and a busy one
// sends about one rpc per round trip, whatever its number of threads.
//
// The caller protocol: Await queues the call's operation and blocks until either its result is in
// (the call went out in a Batch) or the call's turn to go out alone has come; the caller then
// makes its own rpc and must call AloneDone after it. Every call keeps its own deadline: past it,
// Await returns DEADLINE_EXCEEDED whatever the batch is doing (the operation may still be applied,
// as with a lost reply). A Batch rpc's deadline is the latest of its calls'.
//
// Post queues a call nobody waits for (the near cache's renewals): it goes out with the next Batch,
// or as a Batch of its own when nothing is in flight, and its result goes to a callback.
//
// Thread-safe. Destroying the Batcher waits for the Batch rpcs in flight and the posted calls'
// callbacks; no call may be in Await.
#ifndef SESSIOND_CLIENTS_CPP_SRC_BATCHER_H_
#define SESSIOND_CLIENTS_CPP_SRC_BATCHER_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "sessiond/v1/session.grpc.pb.h"

namespace sessiond::internal {

// The Batch operation that carries `request` (the request message of one unary rpc).
v1::BatchOperation ToOperation(const google::protobuf::Message& request);

// Moves the response out of a successful `result` into `response` (the response message of the
// operation's rpc). INTERNAL if the result holds a response of another rpc.
absl::Status TakeResponse(v1::BatchResult& result, google::protobuf::Message* response);

class Batcher {
 public:
  struct Limits {
    size_t max_operations;
    size_t max_bytes;
  };

  // Batches over `stub` (not owned; outlives the Batcher), sending `bearer_token` (if not empty)
  // with each Batch rpc.
  Batcher(v1::SessionService::Stub* stub, std::string bearer_token, Limits limits);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // What Await decided.
  struct Turn {
    // The caller must send its call alone now, then call AloneDone.
    bool send_alone = false;
    // Otherwise: the operation's result, or the error of its Batch rpc, or DEADLINE_EXCEEDED.
    absl::StatusOr<v1::BatchResult> result;
  };

  // Queues `operation`, whose request serializes to `bytes`, and waits until its result is in, its
  // turn to go alone has come, or `deadline` (absl::InfiniteFuture(): none).
  Turn Await(v1::BatchOperation operation, size_t bytes, absl::Time deadline);

  // Ends the flight of a call Await sent alone.
  void AloneDone();

  // Receives a posted call's result (or its Batch rpc's error), on a gRPC thread.
  using Callback = std::function<void(absl::StatusOr<v1::BatchResult>)>;

  // Queues `operation`, whose request serializes to `bytes`, to go out by `deadline`, and returns
  // at once; `done` is called exactly once, before the Batcher is destroyed.
  void Post(v1::BatchOperation operation, size_t bytes, absl::Time deadline, Callback done);

 private:
  // One queued call, shared by its caller and the batch that carries it.
  struct Waiter {
    enum class State { kQueued, kAlone, kSent, kDone };
    v1::BatchOperation operation;
    size_t bytes;
    absl::Time deadline;
    State state = State::kQueued;
    absl::StatusOr<v1::BatchResult> result;
    // Set for a posted call: it never goes alone, and gets its result through this.
    Callback done;
    // Whether the caller can stop waiting: its result is in, or its turn to go alone has come.
    bool Answered() const { return state == State::kDone || state == State::kAlone; }
    // Signalled (with the Batcher's mutex held) when Answered becomes true. One per caller, so
    // waking one caller costs nothing to the others.
    absl::CondVar answered;
  };
  using Group = std::vector<std::shared_ptr<Waiter>>;
  struct Flight;

  // Takes the groups that may go out now off the queue: each group of two or more becomes a Batch
  // to start (after the mutex is released); a group of one is told to go alone.
  std::vector<Group> TakeReady() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Starts one Batch rpc per group.
  void Start(std::vector<Group> groups) ABSL_LOCKS_EXCLUDED(mutex_);
  // Delivers a Batch rpc's outcome to its callers and lets the queue move.
  void Finish(Flight* flight, const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mutex_);

  v1::SessionService::Stub* const stub_;
  const std::string authorization_;
  const Limits limits_;

  absl::Mutex mutex_;
  std::deque<std::shared_ptr<Waiter>> queue_ ABSL_GUARDED_BY(mutex_);
  size_t queue_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  // Calls sent alone and Batch rpcs, in flight.
  int flights_ ABSL_GUARDED_BY(mutex_) = 0;
  // Batch rpcs in flight (their completions use this object).
  int batches_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace sessiond::internal

#endif  // SESSIOND_CLIENTS_CPP_SRC_BATCHER_H_
