#include "storage/session_state.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

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

// The most bytes a varint of a uint64_t takes.
constexpr size_t kMaxVarintLength = 10;

size_t VarintLength(uint64_t value) {
  size_t length = 1;
  for (; value >= 0x80; value >>= 7) ++length;
  return length;
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

void AppendEntry(absl::string_view key, const Value& value, uint64_t version, std::string* out) {
  out->push_back(static_cast<char>(KindOf(value)));
  AppendVarint(key.size(), out);
  out->append(key.data(), key.size());
  AppendVarint(ValueSize(value), out);
  AppendPayload(value, out);
  AppendVarint(version, out);
}

// Parses the packed entry at the front of `in` and advances `in`; false if it is malformed.
bool ParsePackedEntry(absl::string_view& in, absl::string_view* key, ValueView* value,
                      uint64_t* version, absl::string_view* encoded) {
  const absl::string_view start = in;
  if (in.empty() || static_cast<uint8_t>(in.front()) > static_cast<uint8_t>(kLastValueKind)) {
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

// A buffer holding `entries` (of `key_count` keys and `data_bytes` key and value bytes) after their
// header (SessionState::packed_), or null if there are none.
std::unique_ptr<char[]> PackedBuffer(absl::string_view entries, size_t key_count,
                                     size_t data_bytes) {
  if (key_count == 0) return nullptr;
  std::string header;
  AppendVarint(entries.size(), &header);
  AppendVarint(key_count, &header);
  AppendVarint(data_bytes, &header);
  auto buffer = std::make_unique_for_overwrite<char[]>(header.size() + entries.size());
  std::memcpy(buffer.get(), header.data(), header.size());
  std::memcpy(buffer.get() + header.size(), entries.data(), entries.size());
  return buffer;
}

// `keys` sorted, without repeats.
std::vector<absl::string_view> SortedUnique(std::vector<absl::string_view> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// The keys `mutations` set or remove, sorted, without repeats.
std::vector<absl::string_view> WrittenKeys(absl::Span<const Mutation> mutations) {
  std::vector<absl::string_view> keys;
  keys.reserve(mutations.size());
  for (const Mutation& mutation : mutations) {
    if (mutation.kind != Mutation::Kind::kClear) keys.push_back(mutation.key);
  }
  return SortedUnique(std::move(keys));
}

bool KeyLess(const SessionState::Tombstone& tombstone, absl::string_view key) {
  return tombstone.key < key;
}

}  // namespace

template <typename Fn>
void SessionState::ForEachEntry(Fn visit) const {
  absl::string_view rest = packed_entries();
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
  std::string packed;
  size_t key_count = 0;
  size_t data_bytes = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && entries[i + 1].key == entries[i].key) continue;  // later wins
    AppendEntry(entries[i].key, entries[i].value, state.version_, &packed);
    ++key_count;
    data_bytes += entries[i].key.size() + ValueSize(entries[i].value);
  }
  state.packed_ = PackedBuffer(packed, key_count, data_bytes);
  if (absl::Status status = CheckSessionLimits(key_count, 0, data_bytes, 0, limits); !status.ok()) {
    return status;
  }
  return state;
}

SessionState::Header SessionState::ReadHeader() const {
  if (packed_ == nullptr) return Header();
  // Written by PackedBuffer, so reading cannot fail nor pass the header's end.
  absl::string_view buffer(packed_.get(), 3 * kMaxVarintLength);
  uint64_t length = 0, key_count = 0, data_bytes = 0;
  ReadVarint(buffer, &length);
  ReadVarint(buffer, &key_count);
  ReadVarint(buffer, &data_bytes);
  return Header{key_count, data_bytes, absl::string_view(buffer.data(), length)};
}

absl::string_view SessionState::packed_entries() const { return ReadHeader().entries; }

std::string CreateStubKey(absl::string_view request_id) {
  return absl::StrCat("\x01create/", request_id);
}

absl::Status CheckSessionLimits(size_t count, size_t old_count, size_t bytes, size_t old_bytes,
                                const SessionLimits& limits, const Conditions* call) {
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
  if (call != nullptr && call->max_session_bytes != 0 && bytes > call->max_session_bytes &&
      bytes > old_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the session would hold ", bytes, " bytes of keys and values; the limit is ",
                     call->max_session_bytes, " (", call->max_session_bytes_name, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SessionState> SessionState::Restore(uint64_t version,
                                                   absl::string_view packed_entries,
                                                   std::vector<Tombstone> tombstones,
                                                   uint64_t removed_floor,
                                                   std::vector<AppliedRequest> requests) {
  SessionState state;
  state.version_ = version;
  if (!requests.empty() || removed_floor != 0 || !tombstones.empty()) {
    History& history = state.MutableHistory();
    history.requests = std::move(requests);
    history.removed_floor = removed_floor;
    // One tombstone per key: of several (a corrupt record) the newest is kept, which reports the
    // most conflicts, and the order, hence the re-encoded record, does not depend on the input's.
    std::sort(tombstones.begin(), tombstones.end(), [](const Tombstone& a, const Tombstone& b) {
      return a.key != b.key ? a.key < b.key : a.version > b.version;
    });
    tombstones.erase(
        std::unique(tombstones.begin(), tombstones.end(),
                    [](const Tombstone& a, const Tombstone& b) { return a.key == b.key; }),
        tombstones.end());
    history.tombstones = std::move(tombstones);
  }
  absl::string_view rest(packed_entries);
  size_t key_count = 0;
  size_t data_bytes = 0;
  absl::string_view key, previous, encoded;
  ValueView value(ValueKind::kBool, {});
  uint64_t entry_version;
  while (!rest.empty()) {
    if (!ParsePackedEntry(rest, &key, &value, &entry_version, &encoded) ||
        (key_count > 0 && !(previous < key))) {
      return absl::DataLossError("stored session entries are malformed or out of order");
    }
    previous = key;
    ++key_count;
    data_bytes += key.size() + value.data().size();
  }
  state.packed_ = PackedBuffer(packed_entries, key_count, data_bytes);
  return state;
}

absl::Status PrincipalCapError(const SessionLimits& limits) {
  return absl::ResourceExhaustedError(
      absl::StrCat("principal: already has ", limits.max_sessions_per_principal,
                   " live sessions; the limit is ", limits.max_sessions_per_principal,
                   " (--max_sessions_per_principal); policy reject_new: end one first"));
}

SessionState SessionState::Stub(uint64_t version, std::string request_id, absl::Time now,
                                const SessionLimits& limits) {
  SessionState state;
  state.version_ = version;
  if (!request_id.empty()) state.RecordRequest(std::move(request_id), now, limits);
  return state;
}

const std::vector<SessionState::Tombstone>& SessionState::tombstones() const {
  static const auto* const kNone = new std::vector<Tombstone>();
  return history_ != nullptr ? history_->tombstones : *kNone;
}

const std::vector<SessionState::AppliedRequest>& SessionState::requests() const {
  static const auto* const kNone = new std::vector<AppliedRequest>();
  return history_ != nullptr ? history_->requests : *kNone;
}

SessionState::History& SessionState::MutableHistory() {
  if (history_ == nullptr) history_ = std::make_unique<History>();
  return *history_;
}

size_t SessionState::ApproximateMemory() const {
  const Header header = ReadHeader();
  size_t bytes = sizeof(SessionState);
  if (packed_ != nullptr) {
    bytes += VarintLength(header.entries.size()) + VarintLength(header.key_count) +
             VarintLength(header.data_bytes) + header.entries.size();
  }
  if (history_ == nullptr) return bytes;
  bytes += sizeof(History) + history_->tombstones.capacity() * sizeof(Tombstone) +
           history_->requests.capacity() * sizeof(AppliedRequest);
  for (const Tombstone& tombstone : history_->tombstones) bytes += tombstone.key.capacity();
  for (const AppliedRequest& request : history_->requests) bytes += request.request_id.capacity();
  return bytes;
}

std::optional<uint64_t> SessionState::FindRequest(absl::string_view request_id,
                                                  absl::Time now) const {
  if (request_id.empty()) return std::nullopt;
  for (const AppliedRequest& request : requests()) {
    if (request.request_id == request_id && now < request.expires_at) return request.version;
  }
  return std::nullopt;
}

void SessionState::RecordRequest(std::string request_id, absl::Time now,
                                 const SessionLimits& limits) {
  std::vector<AppliedRequest>& requests = MutableHistory().requests;
  std::erase_if(requests, [&](const AppliedRequest& request) {
    return request.expires_at <= now || request.request_id == request_id;
  });
  const size_t keep = std::max<size_t>(limits.max_request_ids, 1) - 1;
  if (requests.size() > keep) requests.erase(requests.begin(), requests.end() - keep);
  requests.push_back({std::move(request_id), version_, now + limits.idempotency_window});
}

std::vector<SessionState::EntryRef> SessionState::FindAll(
    absl::Span<const absl::string_view> sorted_keys) const {
  std::vector<EntryRef> found;
  auto key = sorted_keys.begin();
  absl::string_view rest = packed_entries();
  EntryRef entry{{}, ValueView(ValueKind::kBool, {}), 0, {}};
  while (key != sorted_keys.end() &&
         ParsePackedEntry(rest, &entry.key, &entry.value, &entry.version, &entry.encoded)) {
    key = std::lower_bound(key, sorted_keys.end(), entry.key);
    if (key != sorted_keys.end() && *key == entry.key) found.push_back(entry);
  }
  return found;
}

const SessionState::Tombstone* SessionState::FindTombstone(absl::string_view key) const {
  const std::vector<Tombstone>& tombstones = this->tombstones();
  auto it = std::lower_bound(tombstones.begin(), tombstones.end(), key, KeyLess);
  return it != tombstones.end() && it->key == key ? &*it : nullptr;
}

void SessionState::Visit(absl::Span<const absl::string_view> keys, EntryVisitor visit) const {
  if (keys.empty()) {
    ForEachEntry([&](const EntryRef& entry) { visit(entry.key, entry.value); });
    return;
  }
  const std::vector<absl::string_view> sorted = SortedUnique({keys.begin(), keys.end()});
  for (const EntryRef& entry : FindAll(sorted)) visit(entry.key, entry.value);
}

std::vector<std::string> SessionState::ConflictingKeys(absl::Span<const Mutation> mutations,
                                                       absl::Span<const absl::string_view> written,
                                                       absl::Span<const EntryRef> written_entries,
                                                       uint64_t read_version) const {
  std::vector<std::string> keys;
  const bool clears = std::any_of(mutations.begin(), mutations.end(), [](const Mutation& m) {
    return m.kind == Mutation::Kind::kClear;
  });
  if (clears) {
    // A clear writes every key: each one whose change after the read is known conflicts.
    ForEachEntry([&](const EntryRef& entry) {
      if (entry.version > read_version) keys.emplace_back(entry.key);
    });
    for (const Tombstone& tombstone : tombstones()) {
      if (tombstone.version > read_version) keys.push_back(tombstone.key);
    }
  }
  // Each written key was last written by its entry, else its tombstone, else at or before
  // removed_floor().
  auto entry = written_entries.begin();
  for (absl::string_view key : written) {
    uint64_t last_write = removed_floor();
    if (entry != written_entries.end() && entry->key == key) {
      last_write = (entry++)->version;
    } else if (const Tombstone* tombstone = FindTombstone(key)) {
      last_write = tombstone->version;
    }
    if (last_write > read_version) keys.emplace_back(key);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

absl::Status IfVersionConflictError(uint64_t version, uint64_t if_version) {
  return ConflictError(
      absl::StrCat("the session is at version ", version, ", not if_version ", if_version),
      Conflict{version, {}});
}

absl::Status ReadVersionAheadError(uint64_t version, uint64_t read_version) {
  return absl::FailedPreconditionError(
      absl::StrCat("read_version: ", read_version, " is ahead of the session, which is at version ",
                   version, "; send the version a Get returned"));
}

absl::Status ReadVersionConflictError(uint64_t version, uint64_t read_version,
                                      std::vector<std::string> keys) {
  const std::string message =
      absl::StrCat(keys.size(), " key(s) this commit writes changed after read_version ",
                   read_version, "; the session is at version ", version);
  return ConflictError(message, Conflict{version, std::move(keys)});
}

absl::Status SessionState::CheckIfVersion(std::optional<uint64_t> if_version) const {
  if (!if_version.has_value() || *if_version == version_) return absl::OkStatus();
  return IfVersionConflictError(version_, *if_version);
}

absl::StatusOr<SessionState::Plan> SessionState::Check(absl::Span<const Mutation> mutations,
                                                       const Conditions& conditions,
                                                       const SessionLimits& limits) const {
  if (absl::Status status = CheckIfVersion(conditions.if_version); !status.ok()) return status;
  // The keys the batch sets or removes, and their stored entries, found in one pass.
  const std::vector<absl::string_view> written = WrittenKeys(mutations);
  const std::vector<EntryRef> written_entries = FindAll(written);
  if (conditions.read_version.has_value()) {
    const uint64_t read_version = *conditions.read_version;
    if (read_version > version_) return ReadVersionAheadError(version_, read_version);
    std::vector<std::string> keys =
        ConflictingKeys(mutations, written, written_entries, read_version);
    if (!keys.empty()) return ReadVersionConflictError(version_, read_version, std::move(keys));
  }

  // Simulate the batch on sizes only: `stored` holds the sizes of the stored entries the batch
  // writes, `overlay` the keys the batch has touched so far (null: removed), and `cleared` hides
  // every stored entry after a clear.
  absl::flat_hash_map<absl::string_view, size_t> stored;
  for (const EntryRef& entry : written_entries) {
    stored.emplace(entry.key, entry.value.data().size());
  }
  absl::flat_hash_map<absl::string_view, const Value*> overlay;
  bool cleared = false;
  auto current_size = [&](absl::string_view key) -> std::optional<size_t> {
    if (auto it = overlay.find(key); it != overlay.end()) {
      return it->second != nullptr ? std::optional(ValueSize(*it->second)) : std::nullopt;
    }
    if (cleared) return std::nullopt;
    auto it = stored.find(key);
    return it != stored.end() ? std::optional(it->second) : std::nullopt;
  };
  const Header header = ReadHeader();
  Plan plan{header.key_count, header.data_bytes, false};
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
  if (absl::Status status = CheckSessionLimits(plan.key_count, header.key_count, plan.data_bytes,
                                               header.data_bytes, limits, &conditions);
      !status.ok()) {
    return status;
  }
  return plan;
}

void SessionState::Commit(std::vector<Mutation> mutations, const Plan& plan,
                          const SessionLimits& limits) {
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

  // Merge the stored entries with the changes, both sorted by key; a stored entry the batch
  // removes (or a clear does, unless the batch sets it again) becomes a tombstone.
  std::string merged;
  merged.reserve(packed_entries().size() + plan.data_bytes + 8 * changes.size());
  std::vector<Tombstone> removed;
  auto change = changes.begin();
  auto emit_changes_before = [&](const absl::string_view* key) {
    for (; change != changes.end() && (key == nullptr || change->first < *key); ++change) {
      if (change->second != nullptr) {
        AppendEntry(change->first, *change->second, new_version, &merged);
      }
    }
  };
  ForEachEntry([&](const EntryRef& entry) {
    emit_changes_before(&entry.key);
    const bool touched = change != changes.end() && change->first == entry.key;
    if (touched && change->second != nullptr) {
      AppendEntry(change->first, *change->second, new_version, &merged);
    } else if (touched || cleared) {
      removed.push_back({std::string(entry.key), new_version});
    } else {
      merged.append(entry.encoded.data(), entry.encoded.size());
    }
    if (touched) ++change;
  });
  emit_changes_before(nullptr);

  UpdateTombstones(changes, std::move(removed), std::max<size_t>(limits.max_keys, 1));
  packed_ = PackedBuffer(merged, plan.key_count, plan.data_bytes);
  version_ = new_version;
}

void SessionState::UpdateTombstones(const absl::btree_map<absl::string_view, const Value*>& changes,
                                    std::vector<Tombstone> removed, size_t max_tombstones) {
  if (history_ == nullptr && removed.empty()) return;
  History& history = MutableHistory();
  std::vector<Tombstone>& tombstones = history.tombstones;
  // A key the batch sets has an entry again. (A key in `removed` had an entry, so no tombstone.)
  std::erase_if(tombstones, [&](const Tombstone& tombstone) {
    const auto change = changes.find(tombstone.key);
    return change != changes.end() && change->second != nullptr;
  });
  const size_t old_size = tombstones.size();
  std::move(removed.begin(), removed.end(), std::back_inserter(tombstones));
  auto by_key = [](const Tombstone& a, const Tombstone& b) { return a.key < b.key; };
  std::inplace_merge(tombstones.begin(), tombstones.begin() + old_size, tombstones.end(), by_key);
  if (tombstones.size() <= max_tombstones) return;
  // Forget the oldest removals; the newest of them becomes the floor.
  const size_t excess = tombstones.size() - max_tombstones;
  std::stable_sort(tombstones.begin(), tombstones.end(),
                   [](const Tombstone& a, const Tombstone& b) { return a.version < b.version; });
  history.removed_floor = std::max(history.removed_floor, tombstones[excess - 1].version);
  tombstones.erase(tombstones.begin(), tombstones.begin() + excess);
  std::sort(tombstones.begin(), tombstones.end(), by_key);
}

}  // namespace sessiond::storage
