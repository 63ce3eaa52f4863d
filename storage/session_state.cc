#include "storage/session_state.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "storage/conflict.h"

namespace sessiond::storage {
namespace {

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

bool ReadVarint(absl::string_view& in, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    *value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool ReadBytes(absl::string_view& in, absl::string_view* bytes) {
  uint64_t length;
  if (!ReadVarint(in, &length) || length > in.size()) return false;
  *bytes = in.substr(0, length);
  in.remove_prefix(length);
  return true;
}

// The payload size each fixed-size kind must have.
bool PayloadFits(ValueKind kind, size_t size) {
  switch (kind) {
    case ValueKind::kString:
    case ValueKind::kBytes:
      return true;
    case ValueKind::kInt64:
    case ValueKind::kDouble:
      return size == 8;
    case ValueKind::kBool:
      return size == 1;
  }
  return false;
}

void AppendEntry(absl::string_view key, const Value& value, uint64_t version, std::string* out) {
  out->push_back(static_cast<char>(KindOf(value)));
  AppendVarint(key.size(), out);
  out->append(key.data(), key.size());
  AppendVarint(ValueSize(value), out);
  AppendPayload(value, out);
  AppendVarint(version, out);
}

// RESOURCE_EXHAUSTED if `count` keys or `bytes` would exceed `limits` and the batch grows them
// (a session already over a lowered limit may still shrink).
absl::Status CheckLimits(size_t count, size_t old_count, size_t bytes, size_t old_bytes,
                         const SessionLimits& limits) {
  if (count > limits.max_keys && count > old_count) {
    return absl::ResourceExhaustedError(absl::StrCat("the session would hold ", count,
                                                     " keys; the limit is ", limits.max_keys,
                                                     " (--max_keys)"));
  }
  if (bytes > limits.max_session_bytes && bytes > old_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the session would hold ", bytes, " bytes of keys and values; the limit is ",
                     limits.max_session_bytes, " (--max_session_bytes)"));
  }
  return absl::OkStatus();
}

// Parses the packed entry at the front of `in` and advances `in`; false if it is malformed.
bool ParsePackedEntry(absl::string_view& in, absl::string_view* key, ValueView* value,
                      uint64_t* version, absl::string_view* encoded) {
  const absl::string_view start = in;
  if (in.empty() || static_cast<uint8_t>(in.front()) > static_cast<uint8_t>(ValueKind::kBool)) {
    return false;
  }
  const auto kind = static_cast<ValueKind>(in.front());
  in.remove_prefix(1);
  absl::string_view payload;
  if (!ReadBytes(in, key) || !ReadBytes(in, &payload) || !PayloadFits(kind, payload.size()) ||
      !ReadVarint(in, version)) {
    return false;
  }
  *value = ValueView(kind, payload);
  *encoded = start.substr(0, start.size() - in.size());
  return true;
}

}  // namespace

template <typename Fn>
void SessionState::ForEachEntry(Fn visit) const {
  absl::string_view rest(packed_);
  EntryRef entry{{}, ValueView(ValueKind::kBool, {}), 0, {}};
  // The buffer was validated when built or restored, so parsing cannot fail here.
  while (ParsePackedEntry(rest, &entry.key, &entry.value, &entry.version, &entry.encoded)) {
    visit(entry);
  }
}

absl::StatusOr<SessionState> SessionState::Create(std::vector<Entry> entries,
                                                  const SessionLimits& limits) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.key < b.key; });
  SessionState state;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && entries[i + 1].key == entries[i].key) continue;  // later wins
    AppendEntry(entries[i].key, entries[i].value, state.version_, &state.packed_);
    ++state.key_count_;
    state.data_bytes_ += entries[i].key.size() + ValueSize(entries[i].value);
  }
  state.packed_.shrink_to_fit();
  if (absl::Status status = CheckLimits(state.key_count_, 0, state.data_bytes_, 0, limits);
      !status.ok()) {
    return status;
  }
  return state;
}

absl::StatusOr<SessionState> SessionState::Restore(uint64_t version, std::string packed_entries,
                                                   std::vector<Tombstone> tombstones,
                                                   uint64_t removed_floor) {
  SessionState state;
  state.version_ = version;
  state.removed_floor_ = removed_floor;
  state.tombstones_ = std::move(tombstones);
  absl::string_view rest(packed_entries);
  absl::string_view key, previous, encoded;
  ValueView value(ValueKind::kBool, {});
  uint64_t entry_version;
  while (!rest.empty()) {
    if (!ParsePackedEntry(rest, &key, &value, &entry_version, &encoded) ||
        (state.key_count_ > 0 && !(previous < key))) {
      return absl::DataLossError("stored session entries are malformed or out of order");
    }
    previous = key;
    ++state.key_count_;
    state.data_bytes_ += key.size() + value.data().size();
  }
  state.packed_ = std::move(packed_entries);
  return state;
}

size_t SessionState::ApproximateMemory() const {
  size_t bytes =
      sizeof(SessionState) + packed_.capacity() + tombstones_.capacity() * sizeof(Tombstone);
  for (const Tombstone& tombstone : tombstones_) bytes += tombstone.key.capacity();
  return bytes;
}

std::optional<SessionState::EntryRef> SessionState::Find(absl::string_view key) const {
  std::optional<EntryRef> found;
  absl::string_view rest(packed_);
  EntryRef entry{{}, ValueView(ValueKind::kBool, {}), 0, {}};
  while (ParsePackedEntry(rest, &entry.key, &entry.value, &entry.version, &entry.encoded)) {
    if (entry.key >= key) {
      if (entry.key == key) found = entry;
      break;
    }
  }
  return found;
}

void SessionState::Visit(absl::Span<const absl::string_view> keys, EntryVisitor visit) const {
  if (keys.empty()) {
    ForEachEntry([&](const EntryRef& entry) { visit(entry.key, entry.value); });
    return;
  }
  for (absl::string_view key : keys) {
    if (std::optional<EntryRef> entry = Find(key)) visit(entry->key, entry->value);
  }
}

uint64_t SessionState::LastWrite(absl::string_view key) const {
  if (std::optional<EntryRef> entry = Find(key)) return entry->version;
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
      ForEachEntry([&](const EntryRef& entry) {
        if (entry.version > read_version) keys.emplace_back(entry.key);
      });
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
    if (cleared) return std::nullopt;
    std::optional<EntryRef> entry = Find(key);
    return entry.has_value() ? std::optional(entry->value.data().size()) : std::nullopt;
  };
  Plan plan{key_count_, data_bytes_, false};
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
          CheckLimits(plan.key_count, key_count_, plan.data_bytes, data_bytes_, limits);
      !status.ok()) {
    return status;
  }
  return plan;
}

void SessionState::Commit(std::vector<Mutation> mutations, const Plan& plan) {
  if (!plan.changes) return;
  const uint64_t new_version = version_ + 1;
  // The final effect of the batch on each key it touches (null: removed), in key order.
  absl::btree_map<absl::string_view, const Value*> changes;
  bool cleared = false;
  for (const Mutation& mutation : mutations) {
    switch (mutation.kind) {
      case Mutation::Kind::kSet:
        changes[mutation.key] = &mutation.value;
        break;
      case Mutation::Kind::kRemove:
        changes[mutation.key] = nullptr;
        break;
      case Mutation::Kind::kClear:
        changes.clear();
        cleared = true;
        break;
    }
  }

  // Merge the stored entries (unless cleared) with the changes, both sorted by key.
  std::string merged;
  merged.reserve(packed_.size() + plan.data_bytes + 8 * changes.size());
  auto change = changes.begin();
  auto emit_changes_before = [&](const absl::string_view* key) {
    for (; change != changes.end() && (key == nullptr || change->first < *key); ++change) {
      if (change->second != nullptr)
        AppendEntry(change->first, *change->second, new_version, &merged);
    }
  };
  if (!cleared) {
    ForEachEntry([&](const EntryRef& entry) {
      emit_changes_before(&entry.key);
      if (change != changes.end() && change->first == entry.key) {
        if (change->second != nullptr) {
          AppendEntry(change->first, *change->second, new_version, &merged);
        } else {
          AddTombstone(std::string(entry.key), new_version);
        }
        ++change;
      } else {
        merged.append(entry.encoded.data(), entry.encoded.size());
      }
    });
  }
  emit_changes_before(nullptr);

  if (cleared) {
    tombstones_.clear();
    removed_floor_ = new_version;
  }
  for (const auto& [key, value] : changes) {
    if (value != nullptr) DropTombstone(key);
  }
  merged.shrink_to_fit();
  packed_ = std::move(merged);
  key_count_ = plan.key_count;
  data_bytes_ = plan.data_bytes;
  version_ = new_version;
}

void SessionState::AddTombstone(std::string key, uint64_t version) {
  tombstones_.push_back({std::move(key), version});
  if (tombstones_.size() > kMaxTombstones) {
    removed_floor_ = std::max(removed_floor_, tombstones_.front().version);
    tombstones_.erase(tombstones_.begin());
  }
}

void SessionState::DropTombstone(absl::string_view key) {
  auto it = std::find_if(tombstones_.begin(), tombstones_.end(),
                         [key](const Tombstone& tombstone) { return tombstone.key == key; });
  if (it != tombstones_.end()) tombstones_.erase(it);
}

}  // namespace sessiond::storage
