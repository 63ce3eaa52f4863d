#include "service/cancel_account.h"

#include <algorithm>

namespace sessiond::service {

bool CancelAccount::Add(uint64_t cancelled, absl::Duration elapsed) {
  const double forgiven =
      std::max(0.0, absl::ToDoubleSeconds(elapsed)) * static_cast<double>(max_cancelled_) / 10;
  level_ = std::max(0.0, level_ - forgiven) + static_cast<double>(cancelled);
  return level_ > static_cast<double>(max_cancelled_);
}

}  // namespace sessiond::service
