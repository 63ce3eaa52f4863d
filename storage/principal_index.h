// PrincipalIndex: the memory store's index of live sessions by principal, so that listing, revoking
// and capping one principal's sessions cost time proportional to that principal's sessions.
//
// Per principal, its sessions ordered newest created first (then by id, descending), each with a
// pointer to its last-access time so the least recently used can be chosen for eviction. The owner
// keeps the index exact: it adds a session when it gains a principal and removes it before the
// session's memory is freed, so every pointer in the index is valid while the index's lock is
// held. Thread-safe (striped by principal); callers may hold their own locks while calling, but
// must never take theirs while inside a call (lock order: owner's locks, then the index's).
#ifndef SESSIOND_STORAGE_PRINCIPAL_INDEX_H_
#define SESSIOND_STORAGE_PRINCIPAL_INDEX_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/page_token.h"
#include "storage/session.h"

namespace sessiond::storage {

class PrincipalIndex {
 public:
  // One indexed session: when it was created and its id (the order), and its last access in unix
  // nanoseconds, owned by the session.
  struct Member {
    absl::Time created_at;
    std::string id;
    const std::atomic<int64_t>* last_access_ns = nullptr;
  };

  // The outcome of Admit.
  enum class Admission {
    kAdmitted,  // added
    kRejected,  // at the cap, policy kRejectNew: nothing added
    kEvict,     // at the cap, policy kEvictOldest: nothing added; end *victim, then try again
  };

  // Adds `member` under `principal` unless that principal already has `limits`'
  // max_sessions_per_principal members (0: no cap); see Admission. For kEvict, `*victim` is the id
  // of the member with the oldest last access.
  Admission Admit(absl::string_view principal, Member member, const SessionLimits& limits,
                  std::string* victim);

  // Renames the member (created_at, old_id) of `principal` to `new_id`, atomically (a rotation
  // that keeps the principal: it neither counts against the cap nor leaves a gap).
  void Rename(absl::string_view principal, absl::Time created_at, absl::string_view old_id,
              std::string new_id);

  // Removes the member (created_at, id) of `principal`, if present.
  void Remove(absl::string_view principal, absl::Time created_at, absl::string_view id);

  // Up to `limit` members of `principal` after `cursor` (from the newest when absent), in order,
  // as (created_at, id).
  std::vector<std::pair<absl::Time, std::string>> Page(absl::string_view principal,
                                                       const std::optional<PageCursor>& cursor,
                                                       size_t limit) const;

  // The ids of every member of `principal`.
  std::vector<std::string> Ids(absl::string_view principal) const;

  // How many members the index holds, across principals.
  size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  // Newest first: created_at descending, then id descending.
  using Key = std::pair<absl::Time, std::string>;
  using Members = absl::btree_map<Key, const std::atomic<int64_t>*, std::greater<Key>>;
  struct alignas(64) Stripe {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, Members> by_principal ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kStripes = 16;

  Stripe& StripeFor(absl::string_view principal) const;

  mutable std::array<Stripe, kStripes> stripes_;
  std::atomic<size_t> size_{0};
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_PRINCIPAL_INDEX_H_
