#include "service/response_budget.h"

#include "absl/strings/str_cat.h"

namespace sessiond::service {

absl::Status OverResponseBudget(const ResponseBudget& budget) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "the server holds too many responses that clients have not read yet: the limit is ",
      budget.max_bytes(),
      " bytes, an eighth of it per connection (--max_pending_response_bytes); "
      "read responses promptly and retry with backoff"));
}

bool ResponseBudget::TryCharge(const std::string& connection, size_t bytes) {
  if (bytes == 0) return true;
  absl::MutexLock lock(&mu_);
  if (pending_ + bytes > max_bytes_) return false;
  auto it = per_connection_.find(connection);
  if (it != per_connection_.end() && it->second + bytes > max_bytes_ / 8) return false;
  per_connection_[connection] += bytes;
  pending_ += bytes;
  return true;
}

void ResponseBudget::Release(const std::string& connection, size_t bytes) {
  absl::MutexLock lock(&mu_);
  pending_ -= bytes;
  auto it = per_connection_.find(connection);
  if (it != per_connection_.end() && (it->second -= bytes) == 0) per_connection_.erase(it);
}

bool BudgetedReactor::Charge(size_t bytes) {
  if (!budget_->TryCharge(connection_, bytes)) return false;
  charged_ = bytes;
  return true;
}

void BudgetedReactor::OnDone() {
  if (charged_ != 0) budget_->Release(connection_, charged_);
  delete this;
}

}  // namespace sessiond::service
