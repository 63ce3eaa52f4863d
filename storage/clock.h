// Clock: where the storage layer gets the time, so tests can drive expiry without sleeping.
//
// Implementations are thread-safe.
#ifndef SESSIOND_STORAGE_CLOCK_H_
#define SESSIOND_STORAGE_CLOCK_H_

#include "absl/time/time.h"

namespace sessiond::storage {

class Clock {
 public:
  virtual ~Clock() = default;

  // The current time. Never goes backwards for the real clock on a sane host.
  virtual absl::Time Now() const = 0;
};

// The process-wide wall clock. Never null; lives for the whole process.
Clock* RealClock();

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_CLOCK_H_
