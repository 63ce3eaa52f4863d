// BlockingExecutor: a fixed pool of threads for handler work that blocks, such as a durable store
// waiting for fsync. gRPC runs callback handlers on a few threads (about one per core); blocking
// them would cap concurrent writes at that number and defeat the store's group commit. Tasks run
// in submission order as threads free up. Thread-safe.
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

  // Starts `threads` threads (at least one).
  explicit BlockingExecutor(size_t threads);
  // Runs every task already submitted, then stops the threads.
  ~BlockingExecutor();

  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // Queues `task` to run on one of the threads.
  void Submit(Task task);

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_BLOCKING_EXECUTOR_H_
