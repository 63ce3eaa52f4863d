// LockPair: holds two mutexes at once, or one if both are the same, taking them in address order
// so that two threads locking the same pair in opposite roles cannot deadlock. For operations that
// span two shards or stripes (id rotation).
#ifndef SESSIOND_STORAGE_LOCK_PAIR_H_
#define SESSIOND_STORAGE_LOCK_PAIR_H_

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace sessiond::storage {

class ABSL_SCOPED_LOCKABLE LockPair {
 public:
  // Locks `a` and `b` (not null; may be equal) until destruction.
  LockPair(absl::Mutex* a, absl::Mutex* b) ABSL_EXCLUSIVE_LOCK_FUNCTION(a, b)
      : first_(std::less<absl::Mutex*>()(a, b) ? a : b), second_(first_ == a ? b : a) {
    first_->Lock();
    if (second_ != first_) second_->Lock();
  }
  ~LockPair() ABSL_UNLOCK_FUNCTION() {
    if (second_ != first_) second_->Unlock();
    first_->Unlock();
  }

  LockPair(const LockPair&) = delete;
  LockPair& operator=(const LockPair&) = delete;

 private:
  absl::Mutex* const first_;
  absl::Mutex* const second_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_LOCK_PAIR_H_
