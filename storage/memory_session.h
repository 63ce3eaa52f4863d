// MemorySession: the memory store's record of one session (or of a stub standing in place of one
// that ended), laid out to be small, and the hash set of them that a shard keeps.
//
// Bytes per session are what bounds how many sessions a machine holds, so a session that has only
// an id, timeouts and entries pays for nothing else: its id is kept in place (up to kInlineId
// bytes: every id the server draws), its entries are one packed buffer (SessionState), and what
// only some records have (a principal, labels, a stub's successor and reason) sits behind one
// pointer that is null for the others. docs/PERFORMANCE.md (P4) accounts for every byte.
//
// Not thread-safe: the memory store locks the shard that holds a record; only `last_access_ns` is
// read without that lock (by the principal index).
#ifndef SESSIOND_STORAGE_MEMORY_SESSION_H_
#define SESSIOND_STORAGE_MEMORY_SESSION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/expiry_wheel.h"
#include "storage/session.h"
#include "storage/session_gone.h"
#include "storage/session_state.h"

namespace sessiond::storage {

// One session or stub, filed in its shard's ExpiryWheel under deadline().
class MemorySession : public ExpiryWheel::Item {
 public:
  MemorySession(absl::string_view id, SessionState state);
  ~MemorySession();

  MemorySession(const MemorySession&) = delete;
  MemorySession& operator=(const MemorySession&) = delete;

  absl::string_view id() const;
  void set_id(absl::string_view id);

  // Empty if none.
  absl::string_view principal() const;
  void set_principal(std::string principal);
  const Labels& labels() const;
  void set_labels(Labels labels);

  // A stub (SessionState::Stub) stands in place of a session that ended, for the idempotency
  // window of the request that ended it and for the gone-reason window, or under CreateStubKey for
  // a Create; never live.
  bool stub() const { return extras_ != nullptr && extras_->stub; }
  // Makes this record a stub left by a session that ended as `gone` (kUnknown for a Create's
  // stub) and moved to `successor` (the id it was rotated to, or created; empty after a Delete).
  void MakeStub(std::string successor, GoneDetails gone);
  // For a stub: see MakeStub. Empty and kUnknown for a session.
  absl::string_view successor() const;
  GoneDetails gone() const;

  // The timeouts, from `created_at`: kept to the nanosecond (every clock sessiond reads ticks in
  // nanoseconds or coarser), between the years 1678 and 2262.
  absl::Time created_at() const { return absl::FromUnixNanos(created_ns_); }
  absl::Time absolute_expires_at() const { return absl::FromUnixNanos(absolute_expires_ns_); }
  absl::Duration idle_timeout() const { return absl::Nanoseconds(idle_timeout_ns_); }
  void SetTimes(absl::Time created_at, absl::Time absolute_expires_at, absl::Duration idle_timeout);

  // The last create, renewing read, write, touch or rotation.
  absl::Time last_access() const {
    return absl::FromUnixNanos(last_access_ns_.load(std::memory_order_relaxed));
  }
  // The same in unix nanoseconds, for the principal index, which reads it without the shard lock.
  const std::atomic<int64_t>* last_access_ns() const { return &last_access_ns_; }
  // Marks a use at `now`, which moves deadline().
  void Renew(absl::Time now);
  // When the session expires unless used again (its idle_expires_at): the last access +
  // idle_timeout, never past absolute_expires_at. Derived, not stored.
  absl::Time deadline() const {
    return IdleDeadline(last_access(), idle_timeout(), absolute_expires_at());
  }

  SessionState& state() { return state_; }
  const SessionState& state() const { return state_; }

  // An estimate of the heap memory this record takes with its slot in a shard's set, for the
  // store's memory cap: a function of the record's contents only.
  size_t ApproximateMemory() const;

 private:
  // What only some records have, kept out of line.
  struct Extras {
    std::string principal;
    Labels labels;
    bool stub = false;
    std::string successor;
    GoneDetails gone;
  };
  // Ids up to this long are kept in place; longer ones (a tenant's prefixed ids, stub keys) on the
  // heap.
  static constexpr size_t kInlineId = 32;

  Extras& MutableExtras();
  bool IdInline() const { return id_size_ <= kInlineId; }

  // First, so that it fills the 4 bytes ExpiryWheel::Item leaves at its end.
  uint32_t id_size_ = 0;
  union {
    char inline_[kInlineId];
    char* heap_;
  } id_;
  int64_t created_ns_ = 0;
  int64_t absolute_expires_ns_ = 0;
  int64_t idle_timeout_ns_ = 0;
  std::atomic<int64_t> last_access_ns_{0};
  SessionState state_;
  std::unique_ptr<Extras> extras_;
};

// The records of one shard, owned, found by id: a set of pointers hashed by their id (8 bytes a
// slot, where a map from a view of the id to the pointer would take 24).
struct MemorySessionHash {
  using is_transparent = void;
  size_t operator()(absl::string_view id) const { return absl::HashOf(id); }
  size_t operator()(const std::unique_ptr<MemorySession>& session) const {
    return absl::HashOf(session->id());
  }
};
struct MemorySessionEq {
  using is_transparent = void;
  static absl::string_view IdOf(absl::string_view id) { return id; }
  static absl::string_view IdOf(const std::unique_ptr<MemorySession>& session) {
    return session->id();
  }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return IdOf(a) == IdOf(b);
  }
};
using MemorySessionSet =
    absl::flat_hash_set<std::unique_ptr<MemorySession>, MemorySessionHash, MemorySessionEq>;

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_MEMORY_SESSION_H_
