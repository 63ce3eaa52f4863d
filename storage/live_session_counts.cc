#include "storage/live_session_counts.h"

#include <utility>

namespace sessiond::storage {

absl::string_view TenantPrefixOf(absl::string_view id) {
  const size_t end = id.find('~');
  return end == absl::string_view::npos ? absl::string_view() : id.substr(0, end + 1);
}

int LiveSessionDelta(const SessionEvent& event) {
  using Kind = SessionEvent::Kind;
  switch (event.kind) {
    case Kind::kCreated:
      return 1;
    case Kind::kUpdated:
    case Kind::kRotated:
    case Kind::kTouched:
      return 0;
    case Kind::kExpired:
    case Kind::kDeleted:
    case Kind::kRevoked:
    case Kind::kEvicted:
      return -1;
  }
  return 0;
}

LiveSessionCounts::Place::Place(Place&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), prefix_(std::move(other.prefix_)) {}

LiveSessionCounts::Place::~Place() {
  if (owner_ != nullptr) owner_->Release(prefix_);
}

LiveSessionCounts::LiveSessionCounts(bool enabled, LiveSessionsAtOpen at_open)
    : enabled_(enabled), opened_at_(at_open.at) {
  absl::MutexLock lock(&mu_);
  for (const auto& [prefix, live] : at_open.live) tenants_[prefix].live = live;
}

absl::StatusOr<LiveSessionCounts::Place> LiveSessionCounts::Reserve(const LiveCap& cap) {
  if (!enabled_ || cap.max == 0) return Place();
  absl::MutexLock lock(&mu_);
  Tenant& tenant = tenants_[cap.id_prefix];
  const int64_t live = tenant.live + tenant.reserved;
  if (live >= static_cast<int64_t>(cap.max)) {
    return LiveCapExceeded(cap, static_cast<size_t>(live));
  }
  ++tenant.reserved;
  return Place(this, cap.id_prefix);
}

void LiveSessionCounts::Count(absl::Span<const SessionEvent> events) {
  if (!enabled_) return;
  for (const SessionEvent& event : events) {
    const int delta = LiveSessionDelta(event);
    const absl::string_view prefix = TenantPrefixOf(event.id);
    if (delta == 0 || prefix.empty()) continue;
    // A session that had expired by the open was not counted (an expiry event's time is the
    // session's deadline).
    if (event.kind == SessionEvent::Kind::kExpired && event.at <= opened_at_) continue;
    absl::MutexLock lock(&mu_);
    tenants_[prefix].live += delta;
  }
}

void LiveSessionCounts::Release(const std::string& prefix) {
  absl::MutexLock lock(&mu_);
  --tenants_[prefix].reserved;
}

}  // namespace sessiond::storage
