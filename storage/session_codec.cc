#include "storage/session_codec.h"

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
}

StoredSession MakeStub(std::string key, std::string successor, uint64_t version,
                       std::string request_id, absl::Time now, const SessionLimits& limits) {
  const absl::Time until = TruncateToMillis(now + limits.idempotency_window);
  StoredSession stub{SessionMeta{std::move(key), "", version, TruncateToMillis(now), until, until,
                                 absl::Trunc(limits.idempotency_window, absl::Milliseconds(1))},
                     SessionState::Stub(version, std::move(request_id), now, limits)};
  stub.stub = true;
  stub.successor = std::move(successor);
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
  record.set_entries(session.state.packed_entries());
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
  return StoredSession{std::move(meta), *std::move(state),
                       absl::FromUnixMillis(record.indexed_deadline_ms()), record.stub(),
                       std::move(*record.mutable_successor())};
}

}  // namespace sessiond::storage
