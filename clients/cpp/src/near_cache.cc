#include "near_cache.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

namespace sessiond::internal {
namespace {

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

// Whether `info` says the session has expired by `wall_now`.
bool Expired(const v1::SessionInfo& info, absl::Time wall_now) {
  return (info.has_idle_expires_at() && ToTime(info.idle_expires_at()) <= wall_now) ||
         (info.has_absolute_expires_at() && ToTime(info.absolute_expires_at()) <= wall_now);
}

// Whether the session's idle timer, last renewed at info.last_access_at, is due for a renewal:
// an eighth of its idle timeout has passed.
bool RenewalDue(const v1::SessionInfo& info, absl::Time wall_now) {
  const absl::Duration idle =
      absl::Seconds(info.idle_timeout().seconds()) + absl::Nanoseconds(info.idle_timeout().nanos());
  return wall_now - ToTime(info.last_access_at()) >= idle / 8;
}

// Applies `operations` in order to a session's `entries`.
void ApplyOperations(absl::Span<const v1::Operation> operations,
                     google::protobuf::Map<std::string, v1::Value>& entries) {
  for (const v1::Operation& operation : operations) {
    switch (operation.op_case()) {
      case v1::Operation::kSet:
        entries[operation.set().key()] = operation.set().value();
        break;
      case v1::Operation::kRemove:
        entries.erase(operation.remove().key());
        break;
      case v1::Operation::kClear:
        entries.clear();
        break;
      case v1::Operation::OP_NOT_SET:
        break;
    }
  }
}

}  // namespace

std::vector<v1::Operation> OperationsOf(const v1::SetRequest& request) {
  std::vector<v1::Operation> operations(request.entries().size());
  auto operation = operations.begin();
  for (const auto& [key, value] : request.entries()) {
    operation->mutable_set()->set_key(key);
    *operation->mutable_set()->mutable_value() = value;
    ++operation;
  }
  return operations;
}

std::vector<v1::Operation> OperationsOf(const v1::RemoveRequest& request) {
  std::vector<v1::Operation> operations(request.keys().size());
  for (int i = 0; i < request.keys().size(); ++i) {
    operations[i].mutable_remove()->set_key(request.keys(i));
  }
  return operations;
}

std::vector<v1::Operation> OperationsOf(const v1::ClearRequest&) {
  std::vector<v1::Operation> operations(1);
  operations[0].mutable_clear();
  return operations;
}

std::vector<v1::Operation> OperationsOf(const v1::CommitRequest& request) {
  return {request.ops().begin(), request.ops().end()};
}

uint64_t IdHash(absl::string_view id) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(id.data(), id.size(), digest, &length, EVP_sha256(), nullptr);
  uint64_t hash = 0;
  for (int i = 0; i < 8; ++i) hash = (hash << 8) | digest[i];
  return hash;
}

std::optional<NearCache::Hit> NearCache::Lookup(const v1::GetRequest& request,
                                                SteadyTime steady_now, absl::Time wall_now) {
  const uint64_t hash = IdHash(request.id());
  absl::MutexLock lock(&mutex_);
  Entry* entry = Find(hash, request.id());
  if (entry == nullptr || !lease_until_.has_value() || steady_now >= *lease_until_ ||
      Expired(entry->response.session(), wall_now)) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, index_[hash]);
  Hit hit;
  if (request.keys().empty()) {
    hit.response = entry->response;
  } else {
    *hit.response.mutable_session() = entry->response.session();
    const auto& cached = entry->response.entries();
    for (const std::string& key : request.keys()) {
      if (auto found = cached.find(key); found != cached.end()) {
        (*hit.response.mutable_entries())[key] = found->second;
      }
    }
  }
  if (!request.no_renew() && !entry->renewing && RenewalDue(entry->response.session(), wall_now)) {
    entry->renewing = true;
    hit.renew = true;
  }
  return hit;
}

NearCache::Fill NearCache::BeginFill(absl::string_view id) {
  Fill fill;
  fill.hash = IdHash(id);
  absl::MutexLock lock(&mutex_);
  InFlight& in_flight = in_flight_[fill.hash];
  ++in_flight.fills;
  fill.marks = in_flight.marks;
  if (granted_generation_ == generation_) fill.generation = generation_;
  return fill;
}

void NearCache::EndFill(const Fill& fill, const v1::GetResponse* answer) {
  absl::MutexLock lock(&mutex_);
  InFlight& in_flight = in_flight_[fill.hash];
  --in_flight.fills;
  const bool fresh = answer != nullptr && fill.generation == generation_ &&
                     fill.marks == in_flight.marks && in_flight.writes == 0 &&
                     in_flight.max_version <= answer->session().version();
  Release(fill.hash);
  if (fresh) Insert(fill.hash, *answer);
}

NearCache::Write NearCache::BeginWrite(absl::string_view id) {
  Write write;
  write.hash = IdHash(id);
  absl::MutexLock lock(&mutex_);
  if (Entry* entry = Find(write.hash, id); entry != nullptr) write.base = entry->response;
  Drop(write.hash);
  InFlight& in_flight = in_flight_[write.hash];
  ++in_flight.writes;
  ++in_flight.marks;
  write.generation = generation_;
  write.endings = in_flight.endings;
  return write;
}

void NearCache::EndWrite(const Write& write, const v1::SessionInfo* written,
                         absl::Span<const v1::Operation> operations) {
  absl::MutexLock lock(&mutex_);
  InFlight& in_flight = in_flight_[write.hash];
  --in_flight.writes;
  ++in_flight.marks;
  const uint64_t base_version = write.base.has_value() ? write.base->session().version() : 0;
  const bool exact = written != nullptr && write.base.has_value() &&
                     write.generation == generation_ && write.endings == in_flight.endings &&
                     in_flight.max_version <= written->version() &&
                     (written->version() == base_version || written->version() == base_version + 1);
  // What is still in flight may not fill anything older than this write's result.
  if (written != nullptr) {
    in_flight.max_version = std::max(in_flight.max_version, written->version());
  }
  Release(write.hash);
  if (!exact) {
    Drop(write.hash);
    return;
  }
  v1::GetResponse result = *write.base;
  if (written->version() != base_version) ApplyOperations(operations, *result.mutable_entries());
  *result.mutable_session() = *written;
  Insert(write.hash, result);
}

void NearCache::RenewalDone(absl::string_view id, const absl::StatusOr<v1::TouchResponse>& result) {
  const uint64_t hash = IdHash(id);
  absl::MutexLock lock(&mutex_);
  Entry* entry = Find(hash, id);
  if (entry == nullptr) return;
  entry->renewing = false;
  if (absl::IsNotFound(result.status())) {
    Drop(hash);
  } else if (result.ok()) {
    v1::SessionInfo& info = *entry->response.mutable_session();
    *info.mutable_idle_expires_at() = result->session().idle_expires_at();
    *info.mutable_absolute_expires_at() = result->session().absolute_expires_at();
    *info.mutable_last_access_at() = result->session().last_access_at();
  }
}

void NearCache::Apply(const v1::Invalidation& invalidation) {
  absl::MutexLock lock(&mutex_);
  const uint64_t hash = invalidation.id_hash();
  if (auto found = index_.find(hash); found != index_.end()) {
    if (invalidation.gone() ||
        found->second->response.session().version() < invalidation.version()) {
      Drop(hash);
    }
  }
  if (auto found = in_flight_.find(hash); found != in_flight_.end()) {
    if (invalidation.gone()) {
      ++found->second.marks;
      ++found->second.endings;
    } else {
      found->second.max_version = std::max(found->second.max_version, invalidation.version());
    }
  }
}

void NearCache::GrantLease(SteadyTime until) {
  absl::MutexLock lock(&mutex_);
  granted_generation_ = generation_;
  if (!lease_until_.has_value() || *lease_until_ < until) lease_until_ = until;
}

void NearCache::Reset() {
  absl::MutexLock lock(&mutex_);
  lru_.clear();
  index_.clear();
  bytes_ = 0;
  lease_until_.reset();
  ++generation_;
  granted_generation_ = 0;
}

NearCacheStats NearCache::Stats(SteadyTime steady_now) const {
  absl::MutexLock lock(&mutex_);
  NearCacheStats stats;
  stats.hits = hits_;
  stats.misses = misses_;
  stats.entries = index_.size();
  stats.bytes = bytes_;
  stats.leased = lease_until_.has_value() && steady_now < *lease_until_;
  return stats;
}

NearCache::Entry* NearCache::Find(uint64_t hash, absl::string_view id) {
  auto found = index_.find(hash);
  if (found == index_.end() || found->second->id != id) return nullptr;
  return &*found->second;
}

void NearCache::Drop(uint64_t hash) {
  auto found = index_.find(hash);
  if (found == index_.end()) return;
  bytes_ -= found->second->bytes;
  lru_.erase(found->second);
  index_.erase(found);
}

void NearCache::Insert(uint64_t hash, const v1::GetResponse& response) {
  const std::string& id = response.session().id();
  if (auto found = index_.find(hash);
      found != index_.end() &&
      found->second->response.session().version() > response.session().version()) {
    return;
  }
  const size_t bytes = response.ByteSizeLong() + id.size() + kEntryOverhead;
  Drop(hash);
  if (bytes > max_bytes_) return;
  lru_.push_front(Entry{id, hash, response, bytes});
  index_[hash] = lru_.begin();
  bytes_ += bytes;
  while (bytes_ > max_bytes_) Drop(lru_.back().hash);
}

void NearCache::Release(uint64_t hash) {
  auto found = in_flight_.find(hash);
  if (found != in_flight_.end() && found->second.fills == 0 && found->second.writes == 0) {
    in_flight_.erase(found);
  }
}

}  // namespace sessiond::internal
