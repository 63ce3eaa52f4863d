// NearCache: one Client's process-local cache of whole sessions (GetResponse of a Get for all
// keys), an LRU bounded in bytes, served only under a lease from the WatchInvalidations stream.
//
// Keyed by IdHash (the hash the server's Invalidation carries); each entry keeps its id too, and a
// lookup compares it. The rules (docs/clients-cpp.md, "Near cache"):
// - Lookup answers only while a lease is current (steady time < the lease's end) and the entry's
//   idle and absolute expiry are in the future by the wall clock.
// - A fill (the answer of a Get rpc for all keys) is registered before its rpc is sent (BeginFill)
//   and inserted by EndFill only if the stream had granted a lease before, no break happened since,
//   no invalidation newer than the answer and no ending arrived for its hash meanwhile, and no
//   write of this client on that session overlapped it.
// - A write of this client drops the entry before it is sent (BeginWrite), remembering it, and
//   keeps fills of that session from filling until it ended (EndWrite). A successful Set, Remove,
//   Clear or Commit writes through when that is provably exact: the remembered copy at version v
//   with the write's operations applied, if the write made version v + 1, or the copy as it was if
//   it left v, and no ending, break or invalidation newer than the result came meanwhile. Any other
//   outcome leaves the session dropped. Once a write returned version r, nothing older than r
//   fills from a fill or write still in flight, and no insert replaces a newer cached version.
// - Apply drops what an Invalidation makes stale; Reset (the stream broke) drops everything and
//   forgets the lease.
//
// Time is passed in by the caller (steady time for the lease, wall time for expiry), so tests need
// no sleeps. Thread-safe.
#ifndef SESSIOND_CLIENTS_CPP_SRC_NEAR_CACHE_H_
#define SESSIOND_CLIENTS_CPP_SRC_NEAR_CACHE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "sessiond/client.h"
#include "sessiond/v1/session.pb.h"

namespace sessiond::internal {

// The first 8 bytes of SHA-256(id), big-endian: the key of Invalidation.id_hash.
uint64_t IdHash(absl::string_view id);

class NearCache {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // What an entry costs beyond its serialized GetResponse and id, in bytes.
  static constexpr size_t kEntryOverhead = 128;

  // A cache of at most `max_bytes` bytes (entries' serialized sizes plus kEntryOverhead each).
  explicit NearCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  NearCache(const NearCache&) = delete;
  NearCache& operator=(const NearCache&) = delete;

  // A hit: the session `request` asks for (only the listed keys that exist, all when none are
  // listed), and whether its idle timer should be renewed now (a Touch sent by the caller, which
  // then calls RenewalDone). nullopt: a miss (counted), go to the server.
  struct Hit {
    v1::GetResponse response;
    bool renew = false;
  };
  std::optional<Hit> Lookup(const v1::GetRequest& request, SteadyTime steady_now,
                            absl::Time wall_now);

  // A fill in flight, from BeginFill to EndFill.
  struct Fill {
    uint64_t hash = 0;
    // The stream generation at BeginFill; 0: the fill may not fill (no lease was granted yet).
    uint64_t generation = 0;
    // The hash's mark count at BeginFill.
    uint64_t marks = 0;
  };
  // Registers a fill of session `id` whose Get rpc is about to be sent.
  Fill BeginFill(absl::string_view id);
  // Unregisters `fill`; inserts `answer` (the Get's response, nullptr if it failed) if the rules
  // above allow it.
  void EndFill(const Fill& fill, const v1::GetResponse* answer);

  // A write in flight, from BeginWrite to EndWrite.
  struct Write {
    uint64_t hash = 0;
    // The stream generation and the hash's ending count at BeginWrite.
    uint64_t generation = 0;
    uint64_t endings = 0;
    // The cached copy the write goes over, if there was one.
    std::optional<v1::GetResponse> base;
  };
  // Drops session `id` before a write of it is sent (remembering the cached copy), and keeps
  // overlapping fills from filling.
  Write BeginWrite(absl::string_view id);
  // The write BeginWrite announced has returned `written` (its SessionInfo; nullptr if it failed
  // or is not written through) after applying `operations` in order: caches the result if the
  // rules above prove it exact, else leaves the session dropped.
  void EndWrite(const Write& write, const v1::SessionInfo* written,
                absl::Span<const v1::Operation> operations);

  // A renewal of session `id` (a Touch after a hit with Hit::renew) ended with `result`: the
  // entry's SessionInfo is updated from it, or the entry dropped on NOT_FOUND.
  void RenewalDone(absl::string_view id, const absl::StatusOr<v1::TouchResponse>& result);

  // Applies one invalidation of the stream: an ending drops the entry, a change drops it if the
  // cached version is older; both spoil the hash's fills in flight.
  void Apply(const v1::Invalidation& invalidation);

  // The stream granted a lease running until `until` (never moves it backwards).
  void GrantLease(SteadyTime until);

  // The stream broke: drops every entry, forgets the lease, and refuses the fills in flight.
  void Reset();

  // Hits, misses, entries and bytes now, and whether a lease is current at `steady_now`.
  NearCacheStats Stats(SteadyTime steady_now) const;

 private:
  struct Entry {
    std::string id;
    uint64_t hash;
    v1::GetResponse response;
    size_t bytes;
    bool renewing = false;
  };
  using Lru = std::list<Entry>;  // most recently used first

  // Fills and writes in flight on one hash, and how often they were spoiled.
  struct InFlight {
    int fills = 0;
    int writes = 0;
    // Bumped by every ending, write start and write end on the hash.
    uint64_t marks = 0;
    // Bumped by every ending on the hash.
    uint64_t endings = 0;
    // The highest version an invalidation announced, or a write returned, while something was in
    // flight.
    uint64_t max_version = 0;
  };

  // The entry of `id`, or nullptr.
  Entry* Find(uint64_t hash, absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Drop(uint64_t hash) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Caches `response` unless a newer version of its session is cached; evicts to the bound.
  void Insert(uint64_t hash, const v1::GetResponse& response) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Removes `hash`'s InFlight once nothing is in flight on it.
  void Release(uint64_t hash) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const size_t max_bytes_;
  mutable absl::Mutex mutex_;
  Lru lru_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<uint64_t, Lru::iterator> index_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<uint64_t, InFlight> in_flight_ ABSL_GUARDED_BY(mutex_);
  size_t bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  // Bumped by every Reset; the generation whose stream granted a lease, or 0.
  uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 1;
  uint64_t granted_generation_ ABSL_GUARDED_BY(mutex_) = 0;
  std::optional<SteadyTime> lease_until_ ABSL_GUARDED_BY(mutex_);
  uint64_t hits_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(mutex_) = 0;
};

// The operations a Set, Remove, Clear or Commit applies, in order.
std::vector<v1::Operation> OperationsOf(const v1::SetRequest& request);
std::vector<v1::Operation> OperationsOf(const v1::RemoveRequest& request);
std::vector<v1::Operation> OperationsOf(const v1::ClearRequest& request);
std::vector<v1::Operation> OperationsOf(const v1::CommitRequest& request);

// Brackets one write of session `id` by this client with BeginWrite and EndWrite; does nothing
// without a cache. Unless Succeeded was called, the session stays dropped.
class ScopedWrite {
 public:
  ScopedWrite(NearCache* cache, absl::string_view id) : cache_(cache) {
    if (cache_ != nullptr) write_ = cache_->BeginWrite(id);
  }
  ~ScopedWrite() {
    if (cache_ != nullptr) cache_->EndWrite(write_, nullptr, {});
  }
  ScopedWrite(const ScopedWrite&) = delete;
  ScopedWrite& operator=(const ScopedWrite&) = delete;

  // The write `request` (a Set, Remove, Clear or Commit) returned `written`: written through if
  // the rules allow it. Call at most once.
  template <typename Request>
  void Succeeded(const Request& request, const v1::SessionInfo& written) {
    if (cache_ == nullptr) return;
    cache_->EndWrite(write_, &written, OperationsOf(request));
    cache_ = nullptr;
  }

 private:
  NearCache* cache_;
  NearCache::Write write_;
};

}  // namespace sessiond::internal

#endif  // SESSIOND_CLIENTS_CPP_SRC_NEAR_CACHE_H_
