// Reachability: whether a networked backend (Redis, PostgreSQL) can be reached, from the outcome
// of its calls and of a probe run every `interval` on a thread of its own. After `unhealthy_after`
// consecutive UNAVAILABLE outcomes it is unreachable (the store's AcceptsWrites() is false and
// health says NOT_SERVING) until a call or probe succeeds: recovery needs no operator.
// Thread-safe. Destroy it before what the probe uses (declare it last in the store).
#ifndef SESSIOND_STORAGE_REACHABILITY_H_
#define SESSIOND_STORAGE_REACHABILITY_H_

#include <atomic>
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace sessiond::storage {

class Reachability {
 public:
  // Starts probing: `probe` every `interval`, its status tracked like a call's.
  Reachability(int unhealthy_after, absl::Duration interval, std::function<absl::Status()> probe);
  // Stops probing (waits for a probe under way).
  ~Reachability();
  Reachability(const Reachability&) = delete;
  Reachability& operator=(const Reachability&) = delete;

  // Counts a call's outcome: UNAVAILABLE is a failure to reach the backend, OK a success, other
  // errors (the backend answered) say nothing about reachability.
  void Track(const absl::Status& status);
  // False after unhealthy_after consecutive failures, until a success.
  bool reachable() const {
    return consecutive_failures_.load(std::memory_order_relaxed) < unhealthy_after_;
  }

 private:
  const int unhealthy_after_;
  std::atomic<int> consecutive_failures_{0};
  absl::Notification stop_;
  std::thread prober_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_REACHABILITY_H_
