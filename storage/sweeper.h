// Sweeper: a background thread that calls Store::SweepExpired at a fixed interval, so expired
// sessions are reclaimed even if nobody reads them again.
#ifndef SESSIOND_STORAGE_SWEEPER_H_
#define SESSIOND_STORAGE_SWEEPER_H_

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "storage/store.h"

namespace sessiond::storage {

class Sweeper {
 public:
  // Starts sweeping `store` (not owned; must outlive the Sweeper) every `interval`.
  Sweeper(Store* store, absl::Duration interval);
  // Stops the thread and waits for it to finish its current sweep.
  ~Sweeper();

  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

 private:
  void Run();

  Store* const store_;
  const absl::Duration interval_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_SWEEPER_H_
