// BlockingExecutor: a fixed pool of threads for handler work that blocks, such as a durable store
// waiting for fsync. gRPC runs callback handlers on a few threads (about one per core); blocking
// them would cap concurrent writes at that number and defeat the store's group commit. Tasks run
// in submission order as threads free up. The queue of tasks waiting for a thread is bounded, so
// overload is refused at the door instead of growing memory. Thread-safe.
#ifndef SESSIOND_SERVICE_BLOCKING_EXECUTOR_H_
#define SESSIOND_SERVICE_BLOCKING_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace sessiond::service {

class BlockingExecutor {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  // Starts `threads` threads (at least one); at most `max_queued` tasks wait for a thread.
  BlockingExecutor(size_t threads, size_t max_queued);
  // Runs every task already submitted, then stops the threads.
  ~BlockingExecutor();

  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // Queues `task` to run on one of the threads and returns true; returns false, dropping `task`
  // unrun, when `max_queued` tasks are already waiting.
  [[nodiscard]] bool Submit(Task task);

  // The queue bound given at construction.
  size_t max_queued() const { return max_queued_; }

 private:
  void Run();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_BLOCKING_EXECUTOR_H_
