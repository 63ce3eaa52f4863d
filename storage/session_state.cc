#include "storage/session_state.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "storage/conflict.h"

namespace sessiond::storage {
namespace {

bool KeyLess(const SessionState::StoredEntry& entry, absl::string_view key) {
  return entry.key < key;
}

// RESOURCE_EXHAUSTED if `count` keys or `bytes` would exceed `limits` and the batch grows them
// (a session already over a lowered limit may still shrink).
absl::Status CheckLimits(size_t count, size_t old_count, size_t bytes, size_t old_bytes,
                         const SessionLimits& limits) {
  if (count > limits.max_keys && count > old_count) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the session would hold ", count, " keys; the limit is max_keys=", limits.max_keys));
  }
  if (bytes > limits.max_session_bytes && bytes > old_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the session would hold ", bytes,
        " bytes of keys and values; the limit is max_session_bytes=", limits.max_session_bytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SessionState> SessionState::Create(std::vector<Entry> entries,
                                                  const SessionLimits& limits) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.key < b.key; });
  SessionState state;
  for (Entry& entry : entries) {
    if (!state.entries_.empty() && state.entries_.back().key == entry.key) {
      state.data_bytes_ -= entry.key.size() + ValueSize(state.entries_.back().value);
      state.entries_.pop_back();
    }
    state.data_bytes_ += entry.key.size() + ValueSize(entry.value);
    state.entries_.push_back({std::move(entry.key), std::move(entry.value), state.version_});
  }
  if (absl::Status status = CheckLimits(state.entries_.size(), 0, state.data_bytes_, 0, limits);
      !status.ok()) {
    return status;
  }
  return state;
}

absl::StatusOr<SessionState> SessionState::Restore(uint64_t version,
                                                   std::vector<StoredEntry> entries,
                                                   std::vector<Tombstone> tombstones,
                                                   uint64_t removed_floor) {
  SessionState state;
  state.version_ = version;
  state.removed_floor_ = removed_floor;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0 && !(entries[i - 1].key < entries[i].key)) {
      return absl::InvalidArgumentError("stored session entries are not sorted by unique key");
    }
    state.data_bytes_ += entries[i].key.size() + ValueSize(entries[i].value);
  }
  state.entries_ = std::move(entries);
  state.tombstones_ = std::move(tombstones);
  return state;
}

size_t SessionState::ApproximateMemory() const {
  return sizeof(SessionState) + entries_.size() * sizeof(StoredEntry) +
         tombstones_.size() * sizeof(Tombstone) + data_bytes_;
}

const SessionState::StoredEntry* SessionState::Find(absl::string_view key) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key, KeyLess);
  return it != entries_.end() && it->key == key ? &*it : nullptr;
}

void SessionState::Visit(absl::Span<const absl::string_view> keys, EntryVisitor visit) const {
  if (keys.empty()) {
    for (const StoredEntry& entry : entries_) visit(entry.key, entry.value);
    return;
  }
  for (absl::string_view key : keys) {
    if (const StoredEntry* entry = Find(key)) visit(entry->key, entry->value);
  }
}

uint64_t SessionState::LastWrite(absl::string_view key) const {
  if (const StoredEntry* entry = Find(key)) return entry->version;
  for (const Tombstone& tombstone : tombstones_) {
    if (tombstone.key == key) return tombstone.version;
  }
  return removed_floor_;
}

std::vector<std::string> SessionState::ConflictingKeys(absl::Span<const Mutation> mutations,
                                                       uint64_t read_version,
                                                       bool* floor_conflict) const {
  std::vector<std::string> keys;
  *floor_conflict = false;
  for (const Mutation& mutation : mutations) {
    if (mutation.kind == Mutation::Kind::kClear) {
      // A clear writes every key: each one changed after the read conflicts.
      for (const StoredEntry& entry : entries_) {
        if (entry.version > read_version) keys.push_back(entry.key);
      }
      for (const Tombstone& tombstone : tombstones_) {
        if (tombstone.version > read_version) keys.push_back(tombstone.key);
      }
      if (removed_floor_ > read_version) *floor_conflict = true;
    } else if (LastWrite(mutation.key) > read_version) {
      keys.push_back(mutation.key);
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

absl::Status SessionState::CheckIfVersion(std::optional<uint64_t> if_version) const {
  if (!if_version.has_value() || *if_version == version_) return absl::OkStatus();
  return ConflictError(
      absl::StrCat("the session is at version ", version_, ", not if_version ", *if_version),
      Conflict{version_, {}});
}

absl::StatusOr<SessionState::Plan> SessionState::Check(absl::Span<const Mutation> mutations,
                                                       const Conditions& conditions,
                                                       const SessionLimits& limits) const {
  if (absl::Status status = CheckIfVersion(conditions.if_version); !status.ok()) return status;
  if (conditions.read_version.has_value()) {
    bool floor_conflict = false;
    std::vector<std::string> keys =
        ConflictingKeys(mutations, *conditions.read_version, &floor_conflict);
    if (!keys.empty() || floor_conflict) {
      return ConflictError(
          absl::StrCat(keys.empty() ? size_t{1} : keys.size(),
                       " key(s) this commit writes changed after read_version ",
                       *conditions.read_version, "; the session is at version ", version_),
          Conflict{version_, std::move(keys)});
    }
  }

  // Simulate the batch on sizes only: `overlay` holds the keys the batch has touched so far
  // (null: removed), `cleared` hides every stored entry after a clear.
  absl::flat_hash_map<absl::string_view, const Value*> overlay;
  bool cleared = false;
  auto current_size = [&](absl::string_view key) -> std::optional<size_t> {
    if (auto it = overlay.find(key); it != overlay.end()) {
      return it->second != nullptr ? std::optional(ValueSize(*it->second)) : std::nullopt;
    }
    const StoredEntry* entry = cleared ? nullptr : Find(key);
    return entry != nullptr ? std::optional(ValueSize(entry->value)) : std::nullopt;
  };
  Plan plan{entries_.size(), data_bytes_, false};
  for (const Mutation& mutation : mutations) {
    switch (mutation.kind) {
      case Mutation::Kind::kSet:
        if (std::optional<size_t> old = current_size(mutation.key)) {
          plan.data_bytes -= mutation.key.size() + *old;
        } else {
          ++plan.key_count;
        }
        plan.data_bytes += mutation.key.size() + ValueSize(mutation.value);
        overlay[mutation.key] = &mutation.value;
        plan.changes = true;
        break;
      case Mutation::Kind::kRemove:
        if (std::optional<size_t> old = current_size(mutation.key)) {
          plan.data_bytes -= mutation.key.size() + *old;
          --plan.key_count;
          plan.changes = true;
        }
        overlay[mutation.key] = nullptr;
        break;
      case Mutation::Kind::kClear:
        plan.changes = plan.changes || plan.key_count > 0;
        plan.key_count = 0;
        plan.data_bytes = 0;
        overlay.clear();
        cleared = true;
        break;
    }
  }
  if (absl::Status status =
          CheckLimits(plan.key_count, entries_.size(), plan.data_bytes, data_bytes_, limits);
      !status.ok()) {
    return status;
  }
  return plan;
}

void SessionState::Commit(std::vector<Mutation> mutations, const Plan& plan) {
  if (!plan.changes) return;
  const uint64_t new_version = version_ + 1;
  for (Mutation& mutation : mutations) {
    switch (mutation.kind) {
      case Mutation::Kind::kSet:
        SetEntry(std::move(mutation.key), std::move(mutation.value), new_version);
        break;
      case Mutation::Kind::kRemove:
        RemoveEntry(mutation.key, new_version);
        break;
      case Mutation::Kind::kClear:
        ClearEntries(new_version);
        break;
    }
  }
  version_ = new_version;
}

void SessionState::SetEntry(std::string key, Value value, uint64_t version) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key, KeyLess);
  if (it != entries_.end() && it->key == key) {
    data_bytes_ = data_bytes_ - ValueSize(it->value) + ValueSize(value);
    it->value = std::move(value);
    it->version = version;
    return;
  }
  DropTombstone(key);
  data_bytes_ += key.size() + ValueSize(value);
  entries_.insert(it, StoredEntry{std::move(key), std::move(value), version});
}

void SessionState::RemoveEntry(absl::string_view key, uint64_t version) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key, KeyLess);
  if (it == entries_.end() || it->key != key) return;
  data_bytes_ -= it->key.size() + ValueSize(it->value);
  tombstones_.push_back({std::move(it->key), version});
  entries_.erase(it);
  if (tombstones_.size() > kMaxTombstones) {
    removed_floor_ = std::max(removed_floor_, tombstones_.front().version);
    tombstones_.erase(tombstones_.begin());
  }
}

void SessionState::ClearEntries(uint64_t version) {
  if (entries_.empty()) return;
  entries_.clear();
  tombstones_.clear();
  data_bytes_ = 0;
  removed_floor_ = version;
}

void SessionState::DropTombstone(absl::string_view key) {
  auto it = std::find_if(tombstones_.begin(), tombstones_.end(),
                         [key](const Tombstone& tombstone) { return tombstone.key == key; });
  if (it != tombstones_.end()) tombstones_.erase(it);
}

}  // namespace sessiond::storage
