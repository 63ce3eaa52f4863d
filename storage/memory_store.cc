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
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "storage/conflict.h"
#include "storage/expiry_wheel.h"
#include "storage/lock_pair.h"
#include "storage/memory_limit.h"
#include "storage/session_state.h"
#include "storage/shard_index.h"

namespace sessiond::storage {
namespace {

// One session. The wheel's deadline is the session's idle_expires_at.
struct SessionNode : ExpiryWheel::Item {
  SessionNode(std::string id_in, SessionState state_in)
      : id(std::move(id_in)), state(std::move(state_in)) {}

  std::string id;
  std::string principal;
  absl::Time created_at;
  absl::Time absolute_expires_at;
  absl::Duration idle_timeout;
  SessionState state;
  // What this node adds to the store's memory estimate.
  size_t accounted_bytes = 0;
  // A stub (SessionState::Stub) stands for the idempotency window in place of a session that a
  // Delete or Rotate with a request_id ended, or under CreateStubKey for a Create; never live.
  bool stub = false;
  // For a stub: the id of the session the request left (rotated to, or created); empty after a
  // Delete.
  std::string successor;
};

size_t NodeMemory(const SessionNode& node) {
  // The map slot (key view + pointer) and the node, plus what the strings and state hold.
  return sizeof(absl::string_view) + sizeof(void*) + sizeof(SessionNode) + node.id.size() +
         node.principal.size() + node.state.ApproximateMemory();
}

SessionMeta MetaOf(const SessionNode& node) {
  return SessionMeta{node.id,       node.principal,           node.state.version(), node.created_at,
                     node.deadline, node.absolute_expires_at, node.idle_timeout};
}

void Renew(SessionNode& node, absl::Time now) {
  node.deadline = IdleDeadline(now, node.idle_timeout, node.absolute_expires_at);
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
                                     absl::string_view request_id) override;
  absl::StatusOr<size_t> SweepExpired() override;
  StoreStats Stats() const override;
  bool MayBlock() const override { return false; }
  bool AcceptsWrites() const override { return true; }

 private:
  struct alignas(64) Shard {
    explicit Shard(absl::Time start) : wheel(start) {}
    absl::Mutex mu;
    // Keys view the node's own id, so an id is stored once.
    absl::flat_hash_map<absl::string_view, std::unique_ptr<SessionNode>> sessions
        ABSL_GUARDED_BY(mu);
    ExpiryWheel wheel ABSL_GUARDED_BY(mu);
  };

  Shard& ShardFor(absl::string_view id) const {
    return *shards_[ShardIndex(absl::HashOf(id), shard_bits_)];
  }
  // The unexpired node under `id`, session or stub, or null; an expired one found on the way is
  // reclaimed.
  SessionNode* FindNode(Shard& shard, absl::string_view id, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // The live session `id`, or null.
  SessionNode* FindLive(Shard& shard, absl::string_view id, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
    SessionNode* node = FindNode(shard, id, now);
    return node != nullptr && !node->stub ? node : nullptr;
  }
  // Files a stub under `key` (not in use) holding `state` until the idempotency window ends.
  void InsertStub(Shard& shard, std::string key, std::string successor, SessionState state,
                  absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // The live session `id` as it is, without renewing it: a retry's answer. NOT_FOUND if none.
  absl::StatusOr<SessionMeta> Peek(absl::string_view id);
  // Removes `node` from `shard` and hands it back, so a caller may free it after unlocking.
  std::unique_ptr<SessionNode> Unlink(Shard& shard, SessionNode* node)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  void Erase(Shard& shard, SessionNode* node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
    Unlink(shard, node);
  }
  // Rotates under both locks. For a retry of `request_id` it sets `*replay_id` to the id the first
  // attempt gave the session instead, and returns an unspecified meta.
  absl::StatusOr<SessionMeta> RotateLocked(Shard& from, Shard& to, absl::string_view id,
                                           std::string new_id, std::optional<uint64_t> if_version,
                                           absl::string_view request_id, absl::Time now,
                                           std::string* replay_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(from.mu, to.mu);
  // Takes `bytes` more of the memory budget; RESOURCE_EXHAUSTED if that would pass the cap.
  absl::Status Reserve(size_t bytes);
  // Re-estimates `node`'s memory after a change and adjusts the total.
  void Reaccount(SessionNode& node);

  Clock* const clock_;
  const SessionLimits limits_;
  const size_t max_memory_bytes_;
  int shard_bits_ = 0;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<size_t> used_bytes_{0};
  std::atomic<size_t> live_sessions_{0};
};

MemoryStore::MemoryStore(const MemoryStoreOptions& options)
    : clock_(options.clock != nullptr ? options.clock : RealClock()),
      limits_(options.limits),
      max_memory_bytes_(options.max_memory_bytes) {
  size_t count = options.shards;
  if (count == 0) count = std::max<size_t>(16, 4 * std::thread::hardware_concurrency());
  count = std::bit_ceil(count);
  shard_bits_ = std::countr_zero(count);
  const absl::Time now = clock_->Now();
  shards_.reserve(count);
  for (size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>(now));
}

absl::Status MemoryStore::Reserve(size_t bytes) {
  const size_t before = used_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  if (max_memory_bytes_ != 0 && before + bytes > max_memory_bytes_) {
    used_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(
        absl::StrCat("the store is full: its sessions take ", before, " bytes; the limit is ",
                     max_memory_bytes_, " (--max_memory_bytes); retry later or raise it"));
  }
  return absl::OkStatus();
}

void MemoryStore::Reaccount(SessionNode& node) {
  const size_t now_bytes = NodeMemory(node);
  if (now_bytes >= node.accounted_bytes) {
    used_bytes_.fetch_add(now_bytes - node.accounted_bytes, std::memory_order_relaxed);
  } else {
    used_bytes_.fetch_sub(node.accounted_bytes - now_bytes, std::memory_order_relaxed);
  }
  node.accounted_bytes = now_bytes;
}

SessionNode* MemoryStore::FindNode(Shard& shard, absl::string_view id, absl::Time now) {
  auto it = shard.sessions.find(id);
  if (it == shard.sessions.end()) return nullptr;
  SessionNode* node = it->second.get();
  if (node->deadline <= now) {
    Erase(shard, node);
    return nullptr;
  }
  return node;
}

void MemoryStore::InsertStub(Shard& shard, std::string key, std::string successor,
                             SessionState state, absl::Time now) {
  auto node = std::make_unique<SessionNode>(std::move(key), std::move(state));
  node->stub = true;
  node->successor = std::move(successor);
  node->created_at = now;
  node->absolute_expires_at = now + limits_.idempotency_window;
  node->idle_timeout = limits_.idempotency_window;
  Renew(*node, now);
  // Small and bounded by the window: taken even past the cap, so a retry's answer never fails.
  node->accounted_bytes = NodeMemory(*node);
  used_bytes_.fetch_add(node->accounted_bytes, std::memory_order_relaxed);
  SessionNode* raw = node.get();
  shard.sessions.emplace(raw->id, std::move(node));
  shard.wheel.Insert(raw);
}

absl::StatusOr<SessionMeta> MemoryStore::Peek(absl::string_view id) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  SessionNode* node = FindLive(shard, id, clock_->Now());
  if (node == nullptr) return SessionNotFoundError();
  return MetaOf(*node);
}

std::unique_ptr<SessionNode> MemoryStore::Unlink(Shard& shard, SessionNode* node) {
  shard.wheel.Remove(node);
  used_bytes_.fetch_sub(node->accounted_bytes, std::memory_order_relaxed);
  if (!node->stub) live_sessions_.fetch_sub(1, std::memory_order_relaxed);
  return std::move(shard.sessions.extract(shard.sessions.find(node->id)).mapped());
}

absl::StatusOr<SessionMeta> MemoryStore::Create(NewSession session) {
  absl::StatusOr<SessionState> state = SessionState::Create(std::move(session.entries), limits_);
  if (!state.ok()) return state.status();
  const absl::Time now = clock_->Now();
  auto node = std::make_unique<SessionNode>(std::move(session.id), *std::move(state));
  node->principal = std::move(session.principal);
  node->created_at = now;
  node->absolute_expires_at = now + session.absolute_timeout;
  node->idle_timeout = session.idle_timeout;
  Renew(*node, now);
  node->accounted_bytes = NodeMemory(*node);
  if (absl::Status status = Reserve(node->accounted_bytes); !status.ok()) return status;

  Shard& shard = ShardFor(node->id);
  // A Create with a request_id files a stub under CreateStubKey in the same critical section, so
  // concurrent attempts of one request create one session.
  const std::string stub_key =
      session.request_id.empty() ? node->id : CreateStubKey(session.request_id);
  Shard& stub_shard = ShardFor(stub_key);
  std::string replay_id;
  SessionMeta meta;
  {
    LockPair lock(&shard.mu, &stub_shard.mu);
    SessionNode* stub = session.request_id.empty() ? nullptr : FindNode(stub_shard, stub_key, now);
    if (stub != nullptr) {
      replay_id = stub->successor;
    } else if (FindNode(shard, node->id, now) != nullptr) {
      used_bytes_.fetch_sub(node->accounted_bytes, std::memory_order_relaxed);
      return absl::AlreadyExistsError("a session with this id exists");
    } else {
      SessionNode* raw = node.get();
      shard.sessions.emplace(raw->id, std::move(node));
      shard.wheel.Insert(raw);
      live_sessions_.fetch_add(1, std::memory_order_relaxed);
      meta = MetaOf(*raw);
      if (!session.request_id.empty()) {
        InsertStub(stub_shard, stub_key, raw->id,
                   SessionState::Stub(meta.version, std::move(session.request_id), now, limits_),
                   now);
      }
    }
  }
  if (replay_id.empty()) return meta;
  used_bytes_.fetch_sub(node->accounted_bytes, std::memory_order_relaxed);
  return Peek(replay_id);
}

absl::StatusOr<SessionMeta> MemoryStore::Get(absl::string_view id,
                                             absl::Span<const absl::string_view> keys,
                                             Renewal renewal, EntryVisitor visit) {
  const absl::Time now = clock_->Now();
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  SessionNode* node = FindLive(shard, id, now);
  if (node == nullptr) return SessionNotFoundError();
  if (renewal == Renewal::kRenew) Renew(*node, now);
  node->state.Visit(keys, visit);
  return MetaOf(*node);
}

absl::StatusOr<SessionMeta> MemoryStore::Apply(absl::string_view id,
                                               std::vector<Mutation> mutations,
                                               const Conditions& conditions) {
  const absl::Time now = clock_->Now();
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  SessionNode* node = FindLive(shard, id, now);
  if (node == nullptr) return SessionNotFoundError();
  if (std::optional<uint64_t> version = node->state.FindRequest(conditions.request_id, now)) {
    SessionMeta meta = MetaOf(*node);
    meta.version = *version;
    return meta;
  }
  absl::StatusOr<SessionState::Plan> plan = node->state.Check(mutations, conditions, limits_);
  if (!plan.ok()) return plan.status();
  if (plan->data_bytes > node->state.data_bytes()) {
    // Reserve the growth before writing, so a full store rejects it without a partial write
    // (with about a dozen bytes of lengths, kind and version per new key).
    const size_t growth = plan->data_bytes - node->state.data_bytes() +
                          (plan->key_count > node->state.key_count()
                               ? (plan->key_count - node->state.key_count()) * 12
                               : 0);
    if (absl::Status status = Reserve(growth); !status.ok()) return status;
    node->accounted_bytes += growth;
  }
  node->state.Commit(std::move(mutations), *plan, limits_);
  if (!conditions.request_id.empty()) {
    node->state.RecordRequest(conditions.request_id, now, limits_);
  }
  Reaccount(*node);
  Renew(*node, now);
  return MetaOf(*node);
}

absl::StatusOr<SessionMeta> MemoryStore::Touch(absl::string_view id) {
  const absl::Time now = clock_->Now();
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  SessionNode* node = FindLive(shard, id, now);
  if (node == nullptr) return SessionNotFoundError();
  Renew(*node, now);
  return MetaOf(*node);
}

absl::StatusOr<bool> MemoryStore::Delete(absl::string_view id, std::optional<uint64_t> if_version,
                                         absl::string_view request_id) {
  const absl::Time now = clock_->Now();
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  SessionNode* node = FindNode(shard, id, now);
  if (node == nullptr) return false;
  if (node->stub) return node->state.FindRequest(request_id, now).has_value();
  if (absl::Status status = node->state.CheckIfVersion(if_version); !status.ok()) return status;
  const uint64_t version = node->state.version();
  Erase(shard, node);
  if (!request_id.empty()) {
    InsertStub(shard, std::string(id), "",
               SessionState::Stub(version, std::string(request_id), now, limits_), now);
  }
  return true;
}

absl::StatusOr<SessionMeta> MemoryStore::Rotate(absl::string_view id, std::string new_id,
                                                std::optional<uint64_t> if_version,
                                                absl::string_view request_id) {
  const absl::Time now = clock_->Now();
  Shard& from = ShardFor(id);
  Shard& to = ShardFor(new_id);
  std::string replay_id;
  absl::StatusOr<SessionMeta> meta;
  {
    LockPair lock(&from.mu, &to.mu);
    meta = RotateLocked(from, to, id, std::move(new_id), if_version, request_id, now, &replay_id);
  }
  if (replay_id.empty()) return meta;
  return Peek(replay_id);
}

absl::StatusOr<SessionMeta> MemoryStore::RotateLocked(Shard& from, Shard& to, absl::string_view id,
                                                      std::string new_id,
                                                      std::optional<uint64_t> if_version,
                                                      absl::string_view request_id, absl::Time now,
                                                      std::string* replay_id) {
  SessionNode* node = FindNode(from, id, now);
  if (node == nullptr) return SessionNotFoundError();
  if (node->stub) {
    if (!node->successor.empty() && node->state.FindRequest(request_id, now).has_value()) {
      *replay_id = node->successor;
    }
    return SessionNotFoundError();
  }
  if (absl::Status status = node->state.CheckIfVersion(if_version); !status.ok()) return status;
  if (FindNode(to, new_id, now) != nullptr) {
    return absl::AlreadyExistsError("a session with the new id exists");
  }
  from.wheel.Remove(node);
  std::unique_ptr<SessionNode> owned = std::move(from.sessions.extract(node->id).mapped());
  owned->id = std::move(new_id);
  owned->state.BumpVersion();
  Renew(*owned, now);
  to.wheel.Insert(node);
  to.sessions.emplace(node->id, std::move(owned));
  if (!request_id.empty()) {
    InsertStub(from, std::string(id), node->id,
               SessionState::Stub(node->state.version(), std::string(request_id), now, limits_),
               now);
  }
  return MetaOf(*node);
}

absl::StatusOr<size_t> MemoryStore::SweepExpired() {
  size_t expired = 0;
  std::vector<std::unique_ptr<SessionNode>> reclaimed;
  for (auto& shard : shards_) {
    const absl::Time now = clock_->Now();
    {
      absl::MutexLock lock(&shard->mu);
      shard->wheel.Advance(now, [&](ExpiryWheel::Item* item) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        reclaimed.push_back(Unlink(*shard, static_cast<SessionNode*>(item)));
      });
    }
    // Freeing is most of the work; it happens after the shard is unlocked.
    expired += reclaimed.size();
    reclaimed.clear();
  }
  return expired;
}

StoreStats MemoryStore::Stats() const {
  return StoreStats{live_sessions_.load(std::memory_order_relaxed),
                    used_bytes_.load(std::memory_order_relaxed)};
}

}  // namespace

size_t DefaultMaxMemoryBytes() { return AvailableMemoryBytes() / 2; }

std::unique_ptr<Store> NewMemoryStore(const MemoryStoreOptions& options) {
  return std::make_unique<MemoryStore>(options);
}

}  // namespace sessiond::storage
