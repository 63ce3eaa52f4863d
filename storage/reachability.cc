#include "storage/reachability.h"

#include <utility>

namespace sessiond::storage {

Reachability::Reachability(int unhealthy_after, absl::Duration interval,
                           std::function<absl::Status()> probe)
    : unhealthy_after_(unhealthy_after), prober_([this, interval, probe = std::move(probe)] {
        while (!stop_.WaitForNotificationWithTimeout(interval)) Track(probe());
      }) {}

Reachability::~Reachability() {
  stop_.Notify();
  prober_.join();
}

void Reachability::Track(const absl::Status& status) {
  if (status.ok()) {
    consecutive_failures_.store(0, std::memory_order_relaxed);
  } else if (absl::IsUnavailable(status)) {
    consecutive_failures_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace sessiond::storage
