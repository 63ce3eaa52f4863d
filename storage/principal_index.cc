#include "storage/principal_index.h"

#include "absl/hash/hash.h"

namespace sessiond::storage {

PrincipalIndex::Stripe& PrincipalIndex::StripeFor(absl::string_view principal) const {
  return stripes_[absl::HashOf(principal) % kStripes];
}

PrincipalIndex::Admission PrincipalIndex::Admit(absl::string_view principal, Member member,
                                                const SessionLimits& limits, std::string* victim) {
  Stripe& stripe = StripeFor(principal);
  absl::MutexLock lock(&stripe.mu);
  Members& members = stripe.by_principal[principal];
  const size_t cap = limits.max_sessions_per_principal;
  if (cap != 0 && members.size() >= cap) {
    if (limits.principal_cap_policy == PrincipalCapPolicy::kRejectNew) return Admission::kRejected;
    auto oldest = members.begin();
    for (auto it = members.begin(); it != members.end(); ++it) {
      if (it->second->load(std::memory_order_relaxed) <
          oldest->second->load(std::memory_order_relaxed)) {
        oldest = it;
      }
    }
    *victim = oldest->first.second;
    return Admission::kEvict;
  }
  members.emplace(Key{member.created_at, std::move(member.id)}, member.last_access_ns);
  size_.fetch_add(1, std::memory_order_relaxed);
  return Admission::kAdmitted;
}

void PrincipalIndex::Remove(absl::string_view principal, absl::Time created_at,
                            absl::string_view id) {
  Stripe& stripe = StripeFor(principal);
  absl::MutexLock lock(&stripe.mu);
  auto it = stripe.by_principal.find(principal);
  if (it == stripe.by_principal.end()) return;
  if (it->second.erase(Key{created_at, std::string(id)}) != 0) {
    size_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (it->second.empty()) stripe.by_principal.erase(it);
}

void PrincipalIndex::Rename(absl::string_view principal, absl::Time created_at,
                            absl::string_view old_id, std::string new_id) {
  Stripe& stripe = StripeFor(principal);
  absl::MutexLock lock(&stripe.mu);
  auto it = stripe.by_principal.find(principal);
  if (it == stripe.by_principal.end()) return;
  auto node = it->second.extract(Key{created_at, std::string(old_id)});
  if (node.empty()) return;
  node.key().second = std::move(new_id);
  it->second.insert(std::move(node));
}

std::vector<std::pair<absl::Time, std::string>> PrincipalIndex::Page(
    absl::string_view principal, const std::optional<PageCursor>& cursor, size_t limit) const {
  std::vector<std::pair<absl::Time, std::string>> out;
  Stripe& stripe = StripeFor(principal);
  absl::MutexLock lock(&stripe.mu);
  auto it = stripe.by_principal.find(principal);
  if (it == stripe.by_principal.end()) return out;
  const Members& members = it->second;
  auto from = cursor.has_value() ? members.upper_bound(Key{cursor->created_at, cursor->id})
                                 : members.begin();
  for (; from != members.end() && out.size() < limit; ++from) out.push_back(from->first);
  return out;
}

std::vector<std::string> PrincipalIndex::Ids(absl::string_view principal) const {
  std::vector<std::string> out;
  Stripe& stripe = StripeFor(principal);
  absl::MutexLock lock(&stripe.mu);
  auto it = stripe.by_principal.find(principal);
  if (it == stripe.by_principal.end()) return out;
  for (const auto& [key, last_access] : it->second) out.push_back(key.second);
  return out;
}

}  // namespace sessiond::storage
