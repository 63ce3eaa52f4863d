#include "storage/sweeper.h"

#include <iostream>

namespace sessiond::storage {

Sweeper::Sweeper(Store* store, absl::Duration interval)
    : store_(store), interval_(interval), thread_([this] { Run(); }) {}

Sweeper::~Sweeper() {
  stop_.Notify();
  thread_.join();
}

void Sweeper::Run() {
  while (!stop_.WaitForNotificationWithTimeout(interval_)) {
    if (absl::StatusOr<size_t> swept = store_->SweepExpired(); !swept.ok()) {
      std::cerr << "sessiond: sweeping expired sessions failed: " << swept.status() << "\n";
    }
  }
}

}  // namespace sessiond::storage
