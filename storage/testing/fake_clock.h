// FakeClock: a Clock that only moves when a test advances it. Thread-safe.
#ifndef SESSIOND_STORAGE_TESTING_FAKE_CLOCK_H_
#define SESSIOND_STORAGE_TESTING_FAKE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/clock.h"

namespace sessiond::storage {

class FakeClock final : public Clock {
 public:
  // Starts at `start`, by default a fixed, arbitrary instant so test output is reproducible.
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'800'000'000)) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  // Moves the time forward by `delta` (which must not be negative).
  void Advance(absl::Duration delta) {
    absl::MutexLock lock(&mu_);
    now_ += delta;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_TESTING_FAKE_CLOCK_H_
