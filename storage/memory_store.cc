#include "storage/memory_store.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "storage/conflict.h"
#include "storage/expiry_wheel.h"
#include "storage/lock_pair.h"
#include "storage/memory_limit.h"
#include "storage/memory_session.h"
#include "storage/page_token.h"
#include "storage/principal_index.h"
#include "storage/session_event.h"
#include "storage/session_gone.h"
#include "storage/session_state.h"
#include "storage/shard_index.h"

namespace sessiond::storage {
namespace {

SessionMeta MetaOf(const MemorySession& node) {
  return SessionMeta{std::string(node.id()), std::string(node.principal()),
                     node.state().version(), node.created_at(),
                     node.deadline(),        node.absolute_expires_at(),
                     node.idle_timeout(),    node.last_access(),
                     node.labels()};
}

// The NOT_FOUND for an id whose node is `stub` (or null: never known).
absl::Status NotFoundFor(const MemorySession* stub) {
  if (stub == nullptr || stub->gone().reason == GoneReason::kUnknown) return SessionNotFoundError();
  return SessionGoneError(stub->gone());
}

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(const MemoryStoreOptions& options);

  absl::StatusOr<SessionMeta> Create(NewSession session) override;
  absl::StatusOr<SessionMeta> Get(absl::string_view id, absl::Span<const absl::string_view> keys,
                                  Renewal renewal, EntryVisitor visit) override;
  absl::StatusOr<SessionMeta> Apply(absl::string_view id, std::vector<Mutation> mutations,
                                    const Conditions& conditions) override;
  absl::StatusOr<SessionMeta> Touch(absl::string_view id) override;
  absl::StatusOr<bool> Delete(absl::string_view id, std::optional<uint64_t> if_version,
                              absl::string_view request_id) override;
  absl::StatusOr<SessionMeta> Rotate(absl::string_view id, std::string new_id,
                                     std::optional<uint64_t> if_version,
                                     absl::string_view request_id,
                                     const std::optional<std::string>& bind_principal) override;
  absl::StatusOr<SessionPage> ListSessions(absl::string_view principal, size_t page_size,
                                           absl::string_view page_token) override;
  absl::StatusOr<size_t> RevokeSessions(absl::string_view principal,
                                        absl::Span<const std::string> except_ids) override;
  EventLog& Events() override { return events_; }
  absl::StatusOr<size_t> SweepExpired() override;
  StoreStats Stats() const override;
  bool MayBlock() const override { return false; }
  bool AcceptsWrites() const override { return true; }

 private:
  // How many times a Create or Rotate evicts a session to make room under the principal cap and
  // tries again, before giving up (only if other callers keep taking the room it makes).
  static constexpr int kAdmitAttempts = 64;

  struct alignas(64) Shard {
    explicit Shard(absl::Time start) : wheel(start) {}
    absl::Mutex mu;
    MemorySessionSet sessions ABSL_GUARDED_BY(mu);
    ExpiryWheel wheel ABSL_GUARDED_BY(mu);
  };

  // What a Rotate under its locks tells the caller to do next.
  struct RotateOutcome {
    absl::StatusOr<SessionMeta> meta;
    // A retry of a request that rotated the session: the id the first attempt gave it.
    std::string replay_id;
    // The principal cap asks for this session to be evicted before trying again.
    std::string evict_id;
  };

  Shard& ShardFor(absl::string_view id) const {
    return *shards_[ShardIndex(absl::HashOf(id), shard_bits_)];
  }
  // The unexpired node under `id`, session or stub, or null. An expired session found on the way
  // ends (event, gone stub), and its stub is returned; an expired stub is reclaimed.
  MemorySession* FindNode(Shard& shard, absl::string_view id, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // The live session `id`, or null with `*not_found` set to the NOT_FOUND to return.
  MemorySession* FindLive(Shard& shard, absl::string_view id, absl::Time now,
                          absl::Status* not_found) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
    MemorySession* node = FindNode(shard, id, now);
    if (node != nullptr && !node->stub()) return node;
    *not_found = NotFoundFor(node);
    return nullptr;
  }
  // Files a stub under `key` (not in use) holding `state` until `until`, ended as `gone`.
  void InsertStub(Shard& shard, std::string key, std::string successor, SessionState state,
                  GoneDetails gone, absl::Time now, absl::Time until)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Leaves the stub of a session `id` at `version` that ended as `gone` at `now`: kept for the
  // idempotency window of `request_id` (if any) and for the gone-reason window, whichever is
  // longer; none if both are zero. A stub kept only for its reason is skipped when the store is
  // full.
  void LeaveStub(Shard& shard, std::string id, std::string successor, uint64_t version,
                 std::string request_id, GoneDetails gone, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Ends the live session `node` as `gone` (event, index, stub) and hands it back, so a caller may
  // free it after unlocking.
  std::unique_ptr<MemorySession> End(Shard& shard, MemorySession* node, GoneDetails gone,
                                     absl::string_view request_id, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Ends the sessions of `principal` that have expired but are not swept yet, so that they do not
  // count against the cap. Returns how many ended.
  size_t EndExpiredOf(absl::string_view principal);
  // Ends the live session `id` of `principal` for `reason`, if it is still one. True if it ended.
  bool EndIfOwned(absl::string_view id, absl::string_view principal, GoneReason reason);
  // The live session `id` as it is, without renewing it: a retry's answer. NOT_FOUND if none.
  absl::StatusOr<SessionMeta> Peek(absl::string_view id);
  // Removes `node` from `shard` and the principal index and hands it back, so a caller may free it
  // after unlocking.
  std::unique_ptr<MemorySession> Unlink(Shard& shard, MemorySession* node)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Inserts the new session `node` (its stub key `stub_key` in `stub_shard` when the Create has a
  // request_id) under both locks. Sets `*replay_id` for a retry, `*evict_id` when the principal
  // cap asks for an eviction first; else returns the new session or the error.
  absl::StatusOr<SessionMeta> CreateLocked(Shard& shard, Shard& stub_shard,
                                           std::unique_ptr<MemorySession>& node,
                                           const std::string& stub_key, std::string& request_id,
                                           absl::Time now, std::string* replay_id,
                                           std::string* evict_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu, stub_shard.mu);
  // Rotates under both locks; see RotateOutcome.
  RotateOutcome RotateLocked(Shard& from, Shard& to, absl::string_view id,
                             const std::string& new_id, std::optional<uint64_t> if_version,
                             absl::string_view request_id,
                             const std::optional<std::string>& bind_principal, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(from.mu, to.mu);
  // Moves `node`'s principal index entry for a rotation to `new_id` that may bind `principal`.
  // RESOURCE_EXHAUSTED if the cap rejects it; sets `*evict_id` if it asks for an eviction first
  // (nothing changed then).
  absl::Status Reindex(const MemorySession& node, const std::string& new_id,
                       const std::optional<std::string>& principal, std::string* evict_id);
  // Takes `bytes` more of the memory budget; RESOURCE_EXHAUSTED if that would pass the cap.
  absl::Status Reserve(size_t bytes);
  // Adjusts the total after a change took a node from `accounted` bytes to `now_bytes`.
  void Reaccount(size_t accounted, size_t now_bytes);
  // Records a kTouched event for `node` if the store records touches.
  void RecordTouch(const MemorySession& node, absl::Time now) {
    if (limits_.record_touches)
      events_.Record(EventOf(SessionEvent::Kind::kTouched, MetaOf(node), now));
  }

  Clock* const clock_;
  const SessionLimits limits_;
  const size_t max_memory_bytes_;
  int shard_bits_ = 0;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<size_t> used_bytes_{0};
  std::atomic<size_t> live_sessions_{0};
  PrincipalIndex index_;
  EventLog events_;
};

MemoryStore::MemoryStore(const MemoryStoreOptions& options)
    : clock_(options.clock != nullptr ? options.clock : RealClock()),
      limits_(options.limits),
      max_memory_bytes_(options.max_memory_bytes),
      events_(options.limits.event_retention) {
  size_t count = options.shards;
  if (count == 0) count = std::max<size_t>(16, 4 * std::thread::hardware_concurrency());
  count = std::bit_ceil(count);
  shard_bits_ = std::countr_zero(count);
  const absl::Time now = clock_->Now();
  shards_.reserve(count);
  for (size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>(now));
}

absl::Status MemoryStore::Reserve(size_t bytes) {
  // The event log's memory counts too: it is bounded by --event_retention, but not small.
  const size_t before =
      used_bytes_.fetch_add(bytes, std::memory_order_relaxed) + events_.approximate_bytes();
  if (max_memory_bytes_ != 0 && before + bytes > max_memory_bytes_) {
    used_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(absl::StrCat(
        "the store is full: its sessions and events take ", before, " bytes; the limit is ",
        max_memory_bytes_, " (--max_memory_bytes); retry later or raise it"));
  }
  return absl::OkStatus();
}

void MemoryStore::Reaccount(size_t accounted, size_t now_bytes) {
  if (now_bytes >= accounted) {
    used_bytes_.fetch_add(now_bytes - accounted, std::memory_order_relaxed);
  } else {
    used_bytes_.fetch_sub(accounted - now_bytes, std::memory_order_relaxed);
  }
}

MemorySession* MemoryStore::FindNode(Shard& shard, absl::string_view id, absl::Time now) {
  auto it = shard.sessions.find(id);
  if (it == shard.sessions.end()) return nullptr;
  MemorySession* node = it->get();
  if (node->deadline() > now) return node;
  if (node->stub()) {
    Unlink(shard, node);
    return nullptr;
  }
  const GoneDetails gone{ExpiryReason(node->deadline(), node->absolute_expires_at()),
                         node->deadline()};
  std::unique_ptr<MemorySession> ended = End(shard, node, gone, "", now);
  it = shard.sessions.find(id);
  return it == shard.sessions.end() ? nullptr : it->get();
}

void MemoryStore::InsertStub(Shard& shard, std::string key, std::string successor,
                             SessionState state, GoneDetails gone, absl::Time now,
                             absl::Time until) {
  auto node = std::make_unique<MemorySession>(key, std::move(state));
  node->MakeStub(std::move(successor), gone);
  node->SetTimes(now, until, until - now);
  node->Renew(now);
  used_bytes_.fetch_add(node->ApproximateMemory(), std::memory_order_relaxed);
  MemorySession* raw = node.get();
  shard.sessions.insert(std::move(node));
  shard.wheel.Insert(raw, raw->deadline());
}

void MemoryStore::LeaveStub(Shard& shard, std::string id, std::string successor, uint64_t version,
                            std::string request_id, GoneDetails gone, absl::Time now) {
  const absl::Duration idempotency =
      request_id.empty() ? absl::ZeroDuration() : limits_.idempotency_window;
  const absl::Duration keep = std::max(idempotency, limits_.gone_retention);
  if (keep <= absl::ZeroDuration()) return;
  // A retry's answer is small and bounded by the window: kept even past the cap. A reason alone
  // is not worth failing for: skipped when the store is full.
  if (request_id.empty() && max_memory_bytes_ != 0 &&
      used_bytes_.load(std::memory_order_relaxed) >= max_memory_bytes_) {
    return;
  }
  InsertStub(shard, std::move(id), std::move(successor),
             SessionState::Stub(version, std::move(request_id), now, limits_), gone, now,
             now + keep);
}

std::unique_ptr<MemorySession> MemoryStore::End(Shard& shard, MemorySession* node, GoneDetails gone,
                                                absl::string_view request_id, absl::Time now) {
  events_.Record(EndedEvent(MetaOf(*node), gone.reason, gone.ended_at));
  const uint64_t version = node->state().version();
  std::unique_ptr<MemorySession> owned = Unlink(shard, node);
  LeaveStub(shard, std::string(owned->id()), "", version, std::string(request_id), gone, now);
  return owned;
}

bool MemoryStore::EndIfOwned(absl::string_view id, absl::string_view principal, GoneReason reason) {
  std::unique_ptr<MemorySession> ended;
  const absl::Time now = clock_->Now();
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  absl::Status not_found;
  MemorySession* node = FindLive(shard, id, now, &not_found);
  if (node == nullptr || node->principal() != principal) return false;
  ended = End(shard, node, GoneDetails{reason, now}, "", now);
  return true;
}

size_t MemoryStore::EndExpiredOf(absl::string_view principal) {
  size_t ended = 0;
  for (const std::string& id : index_.Ids(principal)) {
    // A lookup ends an expired session on the way (FindNode).
    if (!Peek(id).ok()) ++ended;
  }
  return ended;
}

absl::StatusOr<SessionMeta> MemoryStore::Peek(absl::string_view id) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  absl::Status not_found;
  MemorySession* node = FindLive(shard, id, clock_->Now(), &not_found);
  if (node == nullptr) return not_found;
  return MetaOf(*node);
}

std::unique_ptr<MemorySession> MemoryStore::Unlink(Shard& shard, MemorySession* node) {
  shard.wheel.Remove(node);
  used_bytes_.fetch_sub(node->ApproximateMemory(), std::memory_order_relaxed);
  if (!node->stub()) {
    live_sessions_.fetch_sub(1, std::memory_order_relaxed);
    if (!node->principal().empty())
      index_.Remove(node->principal(), node->created_at(), node->id());
  }
  return std::move(shard.sessions.extract(shard.sessions.find(node->id())).value());
}

absl::StatusOr<SessionMeta> MemoryStore::Create(NewSession session) {
  absl::StatusOr<SessionState> state = SessionState::Create(std::move(session.entries), limits_);
  if (!state.ok()) return state.status();
  const absl::Time now = clock_->Now();
  auto node = std::make_unique<MemorySession>(session.id, *std::move(state));
  node->set_principal(std::move(session.principal));
  node->set_labels(std::move(session.labels));
  node->SetTimes(now, now + session.absolute_timeout, session.idle_timeout);
  node->Renew(now);
  const size_t reserved = node->ApproximateMemory();
  if (absl::Status status = Reserve(reserved); !status.ok()) return status;

  Shard& shard = ShardFor(session.id);
  // A Create with a request_id files a stub under CreateStubKey in the same critical section, so
  // concurrent attempts of one request create one session.
  const std::string stub_key =
      session.request_id.empty() ? session.id : CreateStubKey(session.request_id);
  Shard& stub_shard = ShardFor(stub_key);
  const std::string principal(node->principal());
  bool swept_principal = false;
  for (int attempt = 0; attempt < kAdmitAttempts; ++attempt) {
    std::string replay_id;
    std::string evict_id;
    absl::StatusOr<SessionMeta> meta;
    {
      LockPair lock(&shard.mu, &stub_shard.mu);
      meta = CreateLocked(shard, stub_shard, node, stub_key, session.request_id, now, &replay_id,
                          &evict_id);
    }
    if (!evict_id.empty()) {
      EndIfOwned(evict_id, principal, GoneReason::kEvicted);
      continue;
    }
    // At the cap, sessions that expired but are not swept yet must not count: end them, then
    // try once more.
    if (meta.status().code() == absl::StatusCode::kResourceExhausted && !principal.empty() &&
        !swept_principal) {
      swept_principal = true;
      if (EndExpiredOf(principal) > 0) continue;
    }
    if (node != nullptr) used_bytes_.fetch_sub(reserved, std::memory_order_relaxed);
    if (!replay_id.empty()) return Peek(replay_id);
    return meta;
  }
  used_bytes_.fetch_sub(reserved, std::memory_order_relaxed);
  return absl::UnavailableError(
      "principal: other sessions kept taking the room made under --max_sessions_per_principal; "
      "retry");
}

absl::StatusOr<SessionMeta> MemoryStore::CreateLocked(Shard& shard, Shard& stub_shard,
                                                      std::unique_ptr<MemorySession>& node,
                                                      const std::string& stub_key,
                                                      std::string& request_id, absl::Time now,
                                                      std::string* replay_id,
                                                      std::string* evict_id) {
  MemorySession* stub = request_id.empty() ? nullptr : FindNode(stub_shard, stub_key, now);
  if (stub != nullptr) {
    *replay_id = std::string(stub->successor());
    return SessionMeta();
  }
  if (FindNode(shard, node->id(), now) != nullptr) {
    return absl::AlreadyExistsError("a session with this id exists or ended recently");
  }
  if (!node->principal().empty()) {
    switch (index_.Admit(node->principal(),
                         {node->created_at(), std::string(node->id()), node->last_access_ns()},
                         limits_, evict_id)) {
      case PrincipalIndex::Admission::kAdmitted:
        break;
      case PrincipalIndex::Admission::kRejected:
        return PrincipalCapError(limits_);
      case PrincipalIndex::Admission::kEvict:
        return SessionMeta();
    }
  }
  MemorySession* raw = node.get();
  shard.sessions.insert(std::move(node));
  shard.wheel.Insert(raw, raw->deadline());
  live_sessions_.fetch_add(1, std::memory_order_relaxed);
  SessionMeta meta = MetaOf(*raw);
  events_.Record(EventOf(SessionEvent::Kind::kCreated, meta, now));
  if (!request_id.empty()) {
    InsertStub(stub_shard, stub_key, std::string(raw->id()),
               SessionState::Stub(meta.version, std::move(request_id), now, limits_), GoneDetails(),
               now, now + limits_.idempotency_window);
  }
  return meta;
}

absl::StatusOr<SessionMeta> MemoryStore::Get(absl::string_view id,
                                             absl::Span<const absl::string_view> keys,
                                             Renewal renewal, EntryVisitor visit) {
  const absl::Time now = clock_->Now();
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  absl::Status not_found;
  MemorySession* node = FindLive(shard, id, now, &not_found);
  if (node == nullptr) return not_found;
  if (renewal == Renewal::kRenew) {
    node->Renew(now);
    RecordTouch(*node, now);
  }
  node->state().Visit(keys, visit);
  return MetaOf(*node);
}

absl::StatusOr<SessionMeta> MemoryStore::Apply(absl::string_view id,
                                               std::vector<Mutation> mutations,
                                               const Conditions& conditions) {
  const absl::Time now = clock_->Now();
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  absl::Status not_found;
  MemorySession* node = FindLive(shard, id, now, &not_found);
  if (node == nullptr) return not_found;
  if (std::optional<uint64_t> version = node->state().FindRequest(conditions.request_id, now)) {
    SessionMeta meta = MetaOf(*node);
    meta.version = *version;
    return meta;
  }
  absl::StatusOr<SessionState::Plan> plan = node->state().Check(mutations, conditions, limits_);
  if (!plan.ok()) return plan.status();
  size_t accounted = node->ApproximateMemory();
  if (plan->data_bytes > node->state().data_bytes()) {
    // Reserve the growth before writing, so a full store rejects it without a partial write
    // (with about a dozen bytes of lengths, kind and version per new key).
    const size_t growth = plan->data_bytes - node->state().data_bytes() +
                          (plan->key_count > node->state().key_count()
                               ? (plan->key_count - node->state().key_count()) * 12
                               : 0);
    if (absl::Status status = Reserve(growth); !status.ok()) return status;
    accounted += growth;
  }
  std::optional<SessionEvent> event;
  if (plan->changes) event = UpdatedEvent(MetaOf(*node), mutations);
  node->state().Commit(std::move(mutations), *plan, limits_);
  if (!conditions.request_id.empty()) {
    node->state().RecordRequest(conditions.request_id, now, limits_);
  }
  Reaccount(accounted, node->ApproximateMemory());
  node->Renew(now);
  if (event.has_value()) {
    event->version = node->state().version();
    event->at = now;
    events_.Record(*std::move(event));
  } else {
    RecordTouch(*node, now);
  }
  return MetaOf(*node);
}

absl::StatusOr<SessionMeta> MemoryStore::Touch(absl::string_view id) {
  const absl::Time now = clock_->Now();
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  absl::Status not_found;
  MemorySession* node = FindLive(shard, id, now, &not_found);
  if (node == nullptr) return not_found;
  node->Renew(now);
  RecordTouch(*node, now);
  return MetaOf(*node);
}

absl::StatusOr<bool> MemoryStore::Delete(absl::string_view id, std::optional<uint64_t> if_version,
                                         absl::string_view request_id) {
  const absl::Time now = clock_->Now();
  std::unique_ptr<MemorySession> ended;
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  MemorySession* node = FindNode(shard, id, now);
  if (node == nullptr) return false;
  if (node->stub()) return node->state().FindRequest(request_id, now).has_value();
  if (absl::Status status = node->state().CheckIfVersion(if_version); !status.ok()) return status;
  ended = End(shard, node, GoneDetails{GoneReason::kDeleted, now}, request_id, now);
  return true;
}

absl::StatusOr<SessionMeta> MemoryStore::Rotate(absl::string_view id, std::string new_id,
                                                std::optional<uint64_t> if_version,
                                                absl::string_view request_id,
                                                const std::optional<std::string>& bind_principal) {
  Shard& from = ShardFor(id);
  Shard& to = ShardFor(new_id);
  bool swept_principal = false;
  for (int attempt = 0; attempt < kAdmitAttempts; ++attempt) {
    const absl::Time now = clock_->Now();
    RotateOutcome outcome;
    {
      LockPair lock(&from.mu, &to.mu);
      outcome = RotateLocked(from, to, id, new_id, if_version, request_id, bind_principal, now);
    }
    if (!outcome.evict_id.empty()) {
      EndIfOwned(outcome.evict_id, *bind_principal, GoneReason::kEvicted);
      continue;
    }
    // As for Create: expired sessions not swept yet must not count against the cap.
    if (outcome.meta.status().code() == absl::StatusCode::kResourceExhausted &&
        bind_principal.has_value() && !bind_principal->empty() && !swept_principal) {
      swept_principal = true;
      if (EndExpiredOf(*bind_principal) > 0) continue;
    }
    if (!outcome.replay_id.empty()) return Peek(outcome.replay_id);
    return outcome.meta;
  }
  return absl::UnavailableError(
      "principal: other sessions kept taking the room made under --max_sessions_per_principal; "
      "retry");
}

MemoryStore::RotateOutcome MemoryStore::RotateLocked(
    Shard& from, Shard& to, absl::string_view id, const std::string& new_id,
    std::optional<uint64_t> if_version, absl::string_view request_id,
    const std::optional<std::string>& bind_principal, absl::Time now) {
  RotateOutcome outcome;
  MemorySession* node = FindNode(from, id, now);
  if (node == nullptr || node->stub()) {
    if (node != nullptr && !node->successor().empty() &&
        node->state().FindRequest(request_id, now).has_value()) {
      outcome.replay_id = std::string(node->successor());
    }
    outcome.meta = NotFoundFor(node);
    return outcome;
  }
  if (absl::Status status = node->state().CheckIfVersion(if_version); !status.ok()) {
    outcome.meta = status;
    return outcome;
  }
  if (FindNode(to, new_id, now) != nullptr) {
    outcome.meta = absl::AlreadyExistsError("a session with the new id exists");
    return outcome;
  }
  if (absl::Status status = Reindex(*node, new_id, bind_principal, &outcome.evict_id);
      !status.ok() || !outcome.evict_id.empty()) {
    outcome.meta = status;
    return outcome;
  }
  from.wheel.Remove(node);
  std::unique_ptr<MemorySession> owned =
      std::move(from.sessions.extract(from.sessions.find(node->id())).value());
  const size_t accounted = owned->ApproximateMemory();
  const std::string old_id(owned->id());
  owned->set_id(new_id);
  if (bind_principal.has_value()) owned->set_principal(*bind_principal);
  owned->state().BumpVersion();
  owned->Renew(now);
  Reaccount(accounted, owned->ApproximateMemory());
  to.wheel.Insert(node, node->deadline());
  to.sessions.insert(std::move(owned));
  SessionEvent event = EventOf(SessionEvent::Kind::kRotated, MetaOf(*node), now);
  event.id = old_id;
  event.new_id = std::string(node->id());
  events_.Record(std::move(event));
  LeaveStub(from, old_id, std::string(node->id()), node->state().version(), std::string(request_id),
            GoneDetails{GoneReason::kRotated, now}, now);
  outcome.meta = MetaOf(*node);
  return outcome;
}

absl::Status MemoryStore::Reindex(const MemorySession& node, const std::string& new_id,
                                  const std::optional<std::string>& principal,
                                  std::string* evict_id) {
  const bool rebinds = principal.has_value() && *principal != node.principal();
  if (!rebinds) {
    if (!node.principal().empty()) {
      index_.Rename(node.principal(), node.created_at(), node.id(), new_id);
    }
    return absl::OkStatus();
  }
  if (!principal->empty()) {
    switch (index_.Admit(*principal, {node.created_at(), new_id, node.last_access_ns()}, limits_,
                         evict_id)) {
      case PrincipalIndex::Admission::kAdmitted:
        break;
      case PrincipalIndex::Admission::kRejected:
        return PrincipalCapError(limits_);
      case PrincipalIndex::Admission::kEvict:
        return absl::OkStatus();
    }
  }
  if (!node.principal().empty()) index_.Remove(node.principal(), node.created_at(), node.id());
  return absl::OkStatus();
}

absl::StatusOr<SessionPage> MemoryStore::ListSessions(absl::string_view principal, size_t page_size,
                                                      absl::string_view page_token) {
  std::optional<PageCursor> cursor;
  if (!page_token.empty()) {
    absl::StatusOr<PageCursor> decoded = DecodePageToken(page_token);
    if (!decoded.ok()) return decoded.status();
    cursor = *std::move(decoded);
  }
  // One more than asked, to know whether another page follows.
  std::vector<std::pair<absl::Time, std::string>> members =
      index_.Page(principal, cursor, page_size + 1);
  SessionPage page;
  const size_t on_page = std::min(members.size(), page_size);
  for (size_t i = 0; i < on_page; ++i) {
    absl::StatusOr<SessionMeta> meta = Peek(members[i].second);
    if (meta.ok() && meta->principal == principal) page.sessions.push_back(*std::move(meta));
  }
  if (members.size() > page_size) {
    page.next_page_token =
        EncodePageToken(PageCursor{members[on_page - 1].first, members[on_page - 1].second});
  }
  return page;
}

absl::StatusOr<size_t> MemoryStore::RevokeSessions(absl::string_view principal,
                                                   absl::Span<const std::string> except_ids) {
  size_t revoked = 0;
  for (const std::string& id : index_.Ids(principal)) {
    if (std::find(except_ids.begin(), except_ids.end(), id) != except_ids.end()) continue;
    if (EndIfOwned(id, principal, GoneReason::kRevoked)) ++revoked;
  }
  return revoked;
}

absl::StatusOr<size_t> MemoryStore::SweepExpired() {
  size_t expired = 0;
  std::vector<std::unique_ptr<MemorySession>> reclaimed;
  std::vector<MemorySession*> due;
  for (auto& shard : shards_) {
    const absl::Time now = clock_->Now();
    {
      absl::MutexLock lock(&shard->mu);
      // The wheel hands out what is due; ending a session files a stub, which must wait until the
      // wheel is done.
      shard->wheel.Advance(
          now,
          [](const ExpiryWheel::Item* item) {
            return static_cast<const MemorySession*>(item)->deadline();
          },
          [&](ExpiryWheel::Item* item) { due.push_back(static_cast<MemorySession*>(item)); });
      for (MemorySession* node : due) {
        if (node->stub()) {
          reclaimed.push_back(Unlink(*shard, node));
          continue;
        }
        ++expired;
        const GoneDetails gone{ExpiryReason(node->deadline(), node->absolute_expires_at()),
                               node->deadline()};
        reclaimed.push_back(End(*shard, node, gone, "", now));
      }
    }
    // Freeing is most of the work; it happens after the shard is unlocked.
    due.clear();
    reclaimed.clear();
  }
  return expired;
}

StoreStats MemoryStore::Stats() const {
  StoreStats stats;
  stats.live_sessions = live_sessions_.load(std::memory_order_relaxed);
  stats.approximate_bytes = used_bytes_.load(std::memory_order_relaxed);
  stats.principal_index_entries = index_.size();
  return stats;
}

}  // namespace

size_t DefaultMaxMemoryBytes() { return AvailableMemoryBytes() / 2; }

std::unique_ptr<Store> NewMemoryStore(const MemoryStoreOptions& options) {
  return std::make_unique<MemoryStore>(options);
}

}  // namespace sessiond::storage
