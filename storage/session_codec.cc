#include "storage/session_codec.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "storage/session_record.pb.h"

namespace sessiond::storage {
absl::Time TruncateToMillis(absl::Time time) {
  return absl::FromUnixMillis(absl::ToUnixMillis(time));
}

void RenewStored(SessionMeta& meta, absl::Time now) {
  meta.idle_expires_at =
      TruncateToMillis(IdleDeadline(now, meta.idle_timeout, meta.absolute_expires_at));
  meta.last_access_at = TruncateToMillis(now);
}

StoredSession MakeStub(std::string key, std::string successor, uint64_t version,
                       std::string request_id, absl::Time now, const SessionLimits& limits) {
  return MakeStubUntil(std::move(key), std::move(successor), version, std::move(request_id),
                       GoneDetails(), now, now + limits.idempotency_window, limits);
}

StoredSession MakeStubUntil(std::string key, std::string successor, uint64_t version,
                            std::string request_id, GoneDetails gone, absl::Time now,
                            absl::Time until, const SessionLimits& limits) {
  now = TruncateToMillis(now);
  until = TruncateToMillis(until);
  StoredSession stub{SessionMeta{std::move(key), "", version, now, until, until, until - now, now},
                     SessionState::Stub(version, std::move(request_id), now, limits)};
  stub.stub = true;
  stub.successor = std::move(successor);
  stub.gone = gone;
  return stub;
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
  const absl::string_view entries = session.state.packed_entries();
  record.set_entries(entries.data(), entries.size());
  for (const SessionState::Tombstone& tombstone : session.state.tombstones()) {
    TombstoneRecord* out = record.add_tombstones();
    out->set_key(tombstone.key);
    out->set_version(tombstone.version);
  }
  record.set_removed_floor(session.state.removed_floor());
  record.set_indexed_deadline_ms(absl::ToUnixMillis(session.indexed_deadline));
  for (const SessionState::AppliedRequest& request : session.state.requests()) {
    AppliedRequestRecord* out = record.add_requests();
    out->set_request_id(request.request_id);
    out->set_version(request.version);
    out->set_expires_at_ms(absl::ToUnixMillis(request.expires_at));
  }
  record.set_stub(session.stub);
  record.set_successor(session.successor);
  for (const auto& [key, value] : meta.labels) {
    LabelRecord* label = record.add_labels();
    label->set_key(key);
    label->set_value(value);
  }
  record.set_last_access_at_ms(absl::ToUnixMillis(meta.last_access_at));
  record.set_gone_reason(static_cast<int32_t>(session.gone.reason));
  record.set_ended_at_ms(absl::ToUnixMillis(session.gone.ended_at));
  return record.SerializeAsString();
}

absl::StatusOr<StoredSession> DecodeSession(absl::string_view id, absl::string_view bytes) {
  SessionRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("a stored session does not decode");
  }
  std::vector<SessionState::Tombstone> tombstones;
  tombstones.reserve(record.tombstones_size());
  for (TombstoneRecord& tombstone : *record.mutable_tombstones()) {
    tombstones.push_back({std::move(*tombstone.mutable_key()), tombstone.version()});
  }
  std::vector<SessionState::AppliedRequest> requests;
  requests.reserve(record.requests_size());
  for (AppliedRequestRecord& request : *record.mutable_requests()) {
    requests.push_back({std::move(*request.mutable_request_id()), request.version(),
                        absl::FromUnixMillis(request.expires_at_ms())});
  }
  absl::StatusOr<SessionState> state =
      SessionState::Restore(record.version(), std::move(*record.mutable_entries()),
                            std::move(tombstones), record.removed_floor(), std::move(requests));
  if (!state.ok()) return state.status();
  SessionMeta meta{std::string(id),
                   std::move(*record.mutable_principal()),
                   record.version(),
                   absl::FromUnixMillis(record.created_at_ms()),
                   absl::FromUnixMillis(record.idle_expires_at_ms()),
                   absl::FromUnixMillis(record.absolute_expires_at_ms()),
                   absl::Milliseconds(record.idle_timeout_ms())};
  for (LabelRecord& label : *record.mutable_labels()) {
    meta.labels.emplace(std::move(*label.mutable_key()), std::move(*label.mutable_value()));
  }
  // Records written before last_access_at was kept: the renewal that set idle_expires_at, unless
  // the absolute expiry capped it (then it is unknown; created_at is the safe answer).
  meta.last_access_at =
      record.last_access_at_ms() != 0
          ? absl::FromUnixMillis(record.last_access_at_ms())
          : std::max(meta.created_at, meta.idle_expires_at < meta.absolute_expires_at
                                          ? meta.idle_expires_at - meta.idle_timeout
                                          : meta.created_at);
  GoneDetails gone;
  if (record.gone_reason() > 0 && record.gone_reason() <= static_cast<int>(GoneReason::kRotated)) {
    gone = {static_cast<GoneReason>(record.gone_reason()),
            absl::FromUnixMillis(record.ended_at_ms())};
  }
  return StoredSession{std::move(meta),
                       *std::move(state),
                       absl::FromUnixMillis(record.indexed_deadline_ms()),
                       record.stub(),
                       std::move(*record.mutable_successor()),
                       gone};
}

std::string EncodeEvent(const SessionEvent& event) {
  EventRecord record;
  record.set_kind(static_cast<int32_t>(event.kind));
  record.set_id(event.id);
  record.set_new_id(event.new_id);
  record.set_principal(event.principal);
  record.set_version(event.version);
  for (const std::string& key : event.changed_keys) record.add_changed_keys(key);
  record.set_cleared(event.cleared);
  record.set_reason(static_cast<int32_t>(event.reason));
  record.set_at_ms(absl::ToUnixMillis(event.at));
  return record.SerializeAsString();
}

absl::StatusOr<SessionEvent> DecodeEvent(uint64_t sequence, absl::string_view bytes) {
  EventRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      record.kind() < static_cast<int>(SessionEvent::Kind::kCreated) ||
      record.kind() > static_cast<int>(SessionEvent::Kind::kEvicted) || record.reason() < 0 ||
      record.reason() > static_cast<int>(GoneReason::kRotated)) {
    return absl::DataLossError("a stored event does not decode");
  }
  SessionEvent event;
  event.sequence = sequence;
  event.kind = static_cast<SessionEvent::Kind>(record.kind());
  event.id = std::move(*record.mutable_id());
  event.new_id = std::move(*record.mutable_new_id());
  event.principal = std::move(*record.mutable_principal());
  event.version = record.version();
  for (std::string& key : *record.mutable_changed_keys()) {
    event.changed_keys.push_back(std::move(key));
  }
  event.cleared = record.cleared();
  event.reason = static_cast<GoneReason>(record.reason());
  event.at = absl::FromUnixMillis(record.at_ms());
  return event;
}

}  // namespace sessiond::storage
