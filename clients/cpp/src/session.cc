#include "sessiond/session.h"

#include <cstdint>
#include <limits>
#include <random>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/strings/escaping.h"
#include "absl/time/clock.h"

namespace sessiond {
namespace {

// A fresh idempotency key: 128 bits from the OS's random source, base64url (22 characters).
std::string NewRequestId() {
  std::random_device random;
  std::string bits;
  for (int i = 0; i < 4; ++i) {
    const uint32_t word = random();
    bits.append(reinterpret_cast<const char*>(&word), sizeof(word));
  }
  return absl::WebSafeBase64Escape(bits);
}

// Whether a failed call may have been lost rather than refused: its retry may succeed.
bool ReplyMayBeLost(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsCancelled(status);
}

}  // namespace

absl::StatusOr<Session> Session::Create(const Client& client, v1::CreateSessionRequest request,
                                        const CallOptions& call) {
  absl::StatusOr<v1::CreateSessionResponse> created = client.CreateSession(request, call);
  if (!created.ok()) return created.status();
  v1::GetResponse loaded;
  loaded.mutable_session()->Swap(created->mutable_session());
  loaded.mutable_entries()->swap(*request.mutable_entries());
  return Session(client, std::move(loaded));
}

Session::Session(const Client& client, std::string id) : client_(&client), id_(std::move(id)) {}

Session::Session(const Client& client, v1::GetResponse loaded)
    : client_(&client), id_(loaded.session().id()) {
  Adopt(std::move(loaded));
}

absl::Status Session::Load(const CallOptions& call) {
  if (!load_status_.has_value()) {
    v1::GetRequest request;
    request.set_id(id_);
    absl::StatusOr<v1::GetResponse> loaded = client_->Get(request, call);
    if (loaded.ok()) {
      Adopt(*std::move(loaded));
    } else {
      load_status_ = loaded.status();
    }
  }
  return *load_status_;
}

absl::Status Session::Reload(const CallOptions& call) {
  load_status_.reset();
  read_version_.reset();
  entries_.clear();
  cleared_ = false;
  changes_.clear();
  request_id_.clear();
  conflicting_keys_.clear();
  return Load(call);
}

void Session::Adopt(v1::GetResponse loaded) {
  info_.Swap(loaded.mutable_session());
  read_version_ = info_.version();
  entries_.clear();
  for (auto& [key, value] : *loaded.mutable_entries()) entries_[key] = std::move(value);
  load_status_ = absl::OkStatus();
}

std::vector<std::string> Session::Keys() {
  if (!Load().ok()) return {};
  absl::btree_set<std::string> keys;
  if (!cleared_) {
    for (const auto& [key, value] : entries_) keys.insert(key);
  }
  for (const auto& [key, value] : changes_) {
    if (value.has_value()) {
      keys.insert(key);
    } else {
      keys.erase(key);
    }
  }
  return {keys.begin(), keys.end()};
}

const v1::Value* Session::Find(absl::string_view key, v1::Value::KindCase kind) {
  if (!Load().ok()) return nullptr;
  const v1::Value* value = nullptr;
  if (const auto change = changes_.find(key); change != changes_.end()) {
    if (change->second.has_value()) value = &*change->second;
  } else if (!cleared_) {
    if (const auto entry = entries_.find(key); entry != entries_.end()) value = &entry->second;
  }
  return value != nullptr && value->kind_case() == kind ? value : nullptr;
}

std::optional<std::string> Session::GetString(absl::string_view key) {
  const v1::Value* value = Find(key, v1::Value::kStringValue);
  if (value == nullptr) return std::nullopt;
  return value->string_value();
}

std::optional<std::string> Session::GetBytes(absl::string_view key) {
  const v1::Value* value = Find(key, v1::Value::kBytesValue);
  if (value == nullptr) return std::nullopt;
  return value->bytes_value();
}

std::optional<std::string> Session::GetJson(absl::string_view key) {
  const v1::Value* value = Find(key, v1::Value::kJsonValue);
  if (value == nullptr) return std::nullopt;
  return value->json_value();
}

std::optional<int32_t> Session::GetInt32(absl::string_view key) {
  const std::optional<int64_t> value = GetInt64(key);
  if (!value.has_value() || *value < std::numeric_limits<int32_t>::min() ||
      *value > std::numeric_limits<int32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<int32_t>(*value);
}

std::optional<int64_t> Session::GetInt64(absl::string_view key) {
  const v1::Value* value = Find(key, v1::Value::kInt64Value);
  if (value == nullptr) return std::nullopt;
  return value->int64_value();
}

std::optional<double> Session::GetDouble(absl::string_view key) {
  const v1::Value* value = Find(key, v1::Value::kDoubleValue);
  if (value == nullptr) return std::nullopt;
  return value->double_value();
}

std::optional<bool> Session::GetBool(absl::string_view key) {
  const v1::Value* value = Find(key, v1::Value::kBoolValue);
  if (value == nullptr) return std::nullopt;
  return value->bool_value();
}

void Session::SetString(absl::string_view key, absl::string_view value) {
  v1::Value typed;
  typed.set_string_value(std::string(value));
  Record(key, std::move(typed));
}

void Session::SetBytes(absl::string_view key, absl::string_view value) {
  v1::Value typed;
  typed.set_bytes_value(std::string(value));
  Record(key, std::move(typed));
}

void Session::SetJson(absl::string_view key, absl::string_view json_text) {
  v1::Value typed;
  typed.set_json_value(std::string(json_text));
  Record(key, std::move(typed));
}

void Session::SetInt32(absl::string_view key, int32_t value) { SetInt64(key, value); }

void Session::SetInt64(absl::string_view key, int64_t value) {
  v1::Value typed;
  typed.set_int64_value(value);
  Record(key, std::move(typed));
}

void Session::SetDouble(absl::string_view key, double value) {
  v1::Value typed;
  typed.set_double_value(value);
  Record(key, std::move(typed));
}

void Session::SetBool(absl::string_view key, bool value) {
  v1::Value typed;
  typed.set_bool_value(value);
  Record(key, std::move(typed));
}

void Session::Remove(absl::string_view key) { Record(key, std::nullopt); }

void Session::Clear() {
  cleared_ = true;
  changes_.clear();
  request_id_.clear();
}

void Session::Record(absl::string_view key, std::optional<v1::Value> value) {
  request_id_.clear();
  if (!value.has_value() && cleared_) {
    changes_.erase(key);
  } else {
    changes_.insert_or_assign(std::string(key), std::move(value));
  }
}

v1::CommitRequest Session::PendingCommit() const {
  v1::CommitRequest request;
  request.set_id(id_);
  request.set_request_id(request_id_);
  if (read_version_.has_value()) request.set_read_version(*read_version_);
  if (cleared_) request.add_ops()->mutable_clear();
  for (const auto& [key, value] : changes_) {
    v1::Operation* op = request.add_ops();
    if (value.has_value()) {
      op->mutable_set()->set_key(key);
      *op->mutable_set()->mutable_value() = *value;
    } else {
      op->mutable_remove()->set_key(key);
    }
  }
  return request;
}

absl::Status Session::Commit(const CallOptions& call) {
  if (!HasPendingChanges()) return absl::OkStatus();
  if (load_status_.has_value() && !load_status_->ok()) return *load_status_;
  conflicting_keys_.clear();
  if (request_id_.empty()) request_id_ = NewRequestId();
  const v1::CommitRequest request = PendingCommit();
  absl::StatusOr<v1::CommitResponse> committed = client_->Commit(request, call);
  absl::Duration backoff = client_->options().retry_backoff;
  for (int attempt = 1;
       attempt < client_->options().commit_attempts && ReplyMayBeLost(committed.status()) &&
       absl::Now() + backoff < call.deadline.value_or(absl::InfiniteFuture());
       ++attempt, backoff *= 2) {
    absl::SleepFor(backoff);
    committed = client_->Commit(request, call);
  }
  if (!committed.ok()) {
    if (std::optional<v1::ConflictDetails> conflict = GetConflictDetails(committed.status())) {
      conflicting_keys_.assign(conflict->conflicting_keys().begin(),
                               conflict->conflicting_keys().end());
    }
    return committed.status();
  }
  ApplyCommitted(committed->session());
  return absl::OkStatus();
}

bool Session::PendingChangesChangeEntries() const {
  if (cleared_ && !entries_.empty()) return true;
  for (const auto& [key, value] : changes_) {
    if (value.has_value() || entries_.contains(key)) return true;
  }
  return false;
}

void Session::ApplyCommitted(const v1::SessionInfo& committed) {
  if (IsLoaded()) {
    // The commit carried read_version and had no conflict, so the keys it wrote were as loaded; the
    // version tells whether anyone else changed other keys since the load.
    const uint64_t expected = *read_version_ + (PendingChangesChangeEntries() ? 1 : 0);
    if (committed.version() == expected) {
      if (cleared_) entries_.clear();
      for (auto& [key, value] : changes_) {
        if (value.has_value()) {
          entries_.insert_or_assign(key, *std::move(value));
        } else {
          entries_.erase(key);
        }
      }
      read_version_ = expected;
    } else {
      load_status_.reset();
      entries_.clear();
    }
  }
  info_ = committed;
  cleared_ = false;
  changes_.clear();
  request_id_.clear();
}

}  // namespace sessiond
