#include "storage/session_codec.h"

#include <utility>
#include <variant>
#include <vector>

#include "storage/session_record.pb.h"

namespace sessiond::storage {
namespace {

struct ValueEncoder {
  ValueRecord* out;
  void operator()(const std::string& text) const { out->set_string_value(text); }
  void operator()(const Bytes& bytes) const { out->set_bytes_value(bytes.data); }
  void operator()(int64_t number) const { out->set_int64_value(number); }
  void operator()(double number) const { out->set_double_value(number); }
  void operator()(bool flag) const { out->set_bool_value(flag); }
};

absl::StatusOr<Value> DecodeValue(const ValueRecord& record) {
  switch (record.kind_case()) {
    case ValueRecord::kStringValue:
      return Value(record.string_value());
    case ValueRecord::kBytesValue:
      return Value(Bytes{record.bytes_value()});
    case ValueRecord::kInt64Value:
      return Value(record.int64_value());
    case ValueRecord::kDoubleValue:
      return Value(record.double_value());
    case ValueRecord::kBoolValue:
      return Value(record.bool_value());
    case ValueRecord::KIND_NOT_SET:
      break;
  }
  return absl::DataLossError("a stored session value has no kind");
}

}  // namespace

absl::Time TruncateToMillis(absl::Time time) {
  return absl::FromUnixMillis(absl::ToUnixMillis(time));
}

std::string EncodeSession(const StoredSession& session) {
  SessionRecord record;
  const SessionMeta& meta = session.meta;
  record.set_principal(meta.principal);
  record.set_version(session.state.version());
  record.set_created_at_ms(absl::ToUnixMillis(meta.created_at));
  record.set_idle_expires_at_ms(absl::ToUnixMillis(meta.idle_expires_at));
  record.set_absolute_expires_at_ms(absl::ToUnixMillis(meta.absolute_expires_at));
  record.set_idle_timeout_ms(absl::ToInt64Milliseconds(meta.idle_timeout));
  for (const SessionState::StoredEntry& entry : session.state.entries()) {
    EntryRecord* out = record.add_entries();
    out->set_key(entry.key);
    std::visit(ValueEncoder{out->mutable_value()}, entry.value);
    out->set_version(entry.version);
  }
  for (const SessionState::Tombstone& tombstone : session.state.tombstones()) {
    TombstoneRecord* out = record.add_tombstones();
    out->set_key(tombstone.key);
    out->set_version(tombstone.version);
  }
  record.set_removed_floor(session.state.removed_floor());
  record.set_indexed_deadline_ms(absl::ToUnixMillis(session.indexed_deadline));
  return record.SerializeAsString();
}

absl::StatusOr<StoredSession> DecodeSession(absl::string_view id, absl::string_view bytes) {
  SessionRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("a stored session does not decode");
  }
  std::vector<SessionState::StoredEntry> entries;
  entries.reserve(record.entries_size());
  for (EntryRecord& entry : *record.mutable_entries()) {
    absl::StatusOr<Value> value = DecodeValue(entry.value());
    if (!value.ok()) return value.status();
    entries.push_back({std::move(*entry.mutable_key()), *std::move(value), entry.version()});
  }
  std::vector<SessionState::Tombstone> tombstones;
  tombstones.reserve(record.tombstones_size());
  for (TombstoneRecord& tombstone : *record.mutable_tombstones()) {
    tombstones.push_back({std::move(*tombstone.mutable_key()), tombstone.version()});
  }
  absl::StatusOr<SessionState> state = SessionState::Restore(
      record.version(), std::move(entries), std::move(tombstones), record.removed_floor());
  if (!state.ok()) return absl::DataLossError(state.status().message());
  SessionMeta meta{std::string(id),
                   std::move(*record.mutable_principal()),
                   record.version(),
                   absl::FromUnixMillis(record.created_at_ms()),
                   absl::FromUnixMillis(record.idle_expires_at_ms()),
                   absl::FromUnixMillis(record.absolute_expires_at_ms()),
                   absl::Milliseconds(record.idle_timeout_ms())};
  return StoredSession{std::move(meta), *std::move(state),
                       absl::FromUnixMillis(record.indexed_deadline_ms())};
}

}  // namespace sessiond::storage
