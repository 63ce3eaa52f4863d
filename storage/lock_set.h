// LockSet: holds any number of mutexes at once, taking each once and all in address order, as
// LockPair does for two; so threads locking overlapping sets (in any roles) cannot deadlock with
// each other or with LockPair. For operations that span several stripes (an eviction beside a new
// session, a revocation of many). The thread-safety analysis cannot follow a dynamic set: a
// function holding one is annotated ABSL_NO_THREAD_SAFETY_ANALYSIS.
#ifndef SESSIOND_STORAGE_LOCK_SET_H_
#define SESSIOND_STORAGE_LOCK_SET_H_

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace sessiond::storage {

class LockSet {
 public:
  // Locks every mutex of `mutexes` (not null; duplicates are taken once) until destruction.
  explicit LockSet(std::vector<absl::Mutex*> mutexes) : mutexes_(std::move(mutexes)) {
    std::sort(mutexes_.begin(), mutexes_.end(), std::less<absl::Mutex*>());
    mutexes_.erase(std::unique(mutexes_.begin(), mutexes_.end()), mutexes_.end());
    for (absl::Mutex* mutex : mutexes_) mutex->Lock();
  }
  ~LockSet() {
    for (auto it = mutexes_.rbegin(); it != mutexes_.rend(); ++it) (*it)->Unlock();
  }

  LockSet(const LockSet&) = delete;
  LockSet& operator=(const LockSet&) = delete;

 private:
  std::vector<absl::Mutex*> mutexes_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_LOCK_SET_H_
