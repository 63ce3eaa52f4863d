// Session: one sessiond session as a web request uses it, mirroring ASP.NET Core's ISession.
//
// A Session loads lazily: the first read (a getter, Keys, IsAvailable or Load) fetches every entry
// with one Get rpc and remembers the version it read. Setters, Remove and Clear never call the
// server: they record the change locally, and reads see it at once. Commit sends every pending
// change in one Commit rpc carrying that version as `read_version`, so the server rejects it with
// ABORTED if another writer changed one of the keys it writes in the meantime, while writes to
// different keys by concurrent requests both succeed. The usual request is:
//
//   sessiond::Session session(client, id_from_cookie);
//   std::optional<int32_t> visits = session.GetInt32("visits");  // loads
//   session.SetInt32("visits", visits.value_or(0) + 1);           // local
//   absl::Status status = session.Commit();                        // one rpc
//   if (absl::IsAborted(status)) { session.Reload(); /* redo the request's logic */ }
//
// Values are typed (string, bytes, int64, double, bool, JSON; see sessiond.v1.Value). A getter
// returns nullopt when the key is absent, when its value has another type (GetInt64 on a string,
// GetDouble on an int64: there is no conversion), when GetInt32's int64 value is out of int32
// range, and when the session cannot be loaded (Load tells why). SetInt32 stores an int64, as every
// client does.
//
// A Session belongs to one request: it is not thread-safe, and the Client it was given must
// outlive it. It is movable, not copyable.
#ifndef SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_SESSION_H_
#define SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_SESSION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sessiond/client.h"
#include "sessiond/v1/session.pb.h"

namespace sessiond {

class Session {
 public:
  // Creates a session on the server with `request` (initial entries, principal, timeouts) and
  // returns it loaded at version 1 with those entries and nothing pending. Errors are those of
  // Client::CreateSession.
  static absl::StatusOr<Session> Create(const Client& client, v1::CreateSessionRequest request = {},
                                        const CallOptions& call = {});

  // The session `id` (for example from a cookie), not loaded yet.
  Session(const Client& client, std::string id);

  // The session `loaded` describes, loaded at loaded.session().version with nothing pending.
  // `loaded` must hold every entry (a Get that listed no keys), for example one the caller made
  // itself.
  Session(const Client& client, v1::GetResponse loaded);

  Session(Session&&) = default;
  Session& operator=(Session&&) = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The session id.
  const std::string& Id() const { return id_; }

  // The version and expiry times as of the last rpc that returned them (Get, CreateSession or
  // Commit); default values before any.
  const v1::SessionInfo& Info() const { return info_; }

  // Loads the session if it was not loaded yet and returns whether that succeeded.
  bool IsAvailable() { return Load().ok(); }

  // Loads the session with one Get for all keys, unless it is loaded already; keeps pending
  // changes. The outcome is remembered: after a failure, Load returns the same error without
  // calling the server until Reload. NOT_FOUND: the session is unknown, expired or deleted; other
  // errors as Client::Get.
  absl::Status Load(const CallOptions& call = {});

  // Discards pending changes and the loaded state and loads again: what to do after Commit returned
  // ABORTED, before redoing the request's logic on fresh values. Returns what Load returns.
  absl::Status Reload(const CallOptions& call = {});

  // The keys the session holds, pending changes included, in sorted order; empty if it cannot be
  // loaded. Loads the session first if needed.
  std::vector<std::string> Keys();

  // The value of `key`, pending changes included; nullopt if the key is absent, holds another type,
  // or the session cannot be loaded (see above). Loads the session first if needed.
  std::optional<std::string> GetString(absl::string_view key);
  std::optional<std::string> GetBytes(absl::string_view key);
  // The text of a JSON document (a json_value), unparsed: parse it with the JSON library of your
  // choice. A string that happens to hold JSON is a string, not a document (nullopt here).
  std::optional<std::string> GetJson(absl::string_view key);
  // Also nullopt if the stored int64 is outside int32's range.
  std::optional<int32_t> GetInt32(absl::string_view key);
  std::optional<int64_t> GetInt64(absl::string_view key);
  std::optional<double> GetDouble(absl::string_view key);
  std::optional<bool> GetBool(absl::string_view key);

  // Record, without calling the server, that `key` is to hold `value` (replacing any value of any
  // type). Keys and sizes are checked by the server at Commit (INVALID_ARGUMENT,
  // RESOURCE_EXHAUSTED).
  void SetString(absl::string_view key, absl::string_view value);
  void SetBytes(absl::string_view key, absl::string_view value);
  // `json_text` must be a JSON document serialized by the caller; the server does not parse it.
  void SetJson(absl::string_view key, absl::string_view json_text);
  void SetInt32(absl::string_view key, int32_t value);
  void SetInt64(absl::string_view key, int64_t value);
  void SetDouble(absl::string_view key, double value);
  void SetBool(absl::string_view key, bool value);

  // Records, without calling the server, that `key` is to be removed; absent keys are ignored.
  void Remove(absl::string_view key);

  // Records, without calling the server, that every entry is to be removed.
  void Clear();

  // Whether a Set, Remove or Clear was recorded since the last load or successful Commit.
  bool HasPendingChanges() const { return cleared_ || !changes_.empty(); }

  // The request Commit sends for the pending changes: a clear first if one was recorded, then the
  // last set or remove of each key in key order. `read_version` is the version of the last load (or
  // of the last Commit if nobody else wrote in between), absent if the session was never loaded:
  // writes that follow no read are blind, and the last writer wins. `request_id` is the
  // idempotency key of these changes: empty until Commit first sends them, then kept until they
  // are committed or changed.
  v1::CommitRequest PendingCommit() const;

  // Sends the pending changes in one Commit rpc; OK without calling the server when nothing is
  // pending. A commit whose reply is lost (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED) is sent
  // again, up to ClientOptions::commit_attempts times in all, after a doubling pause
  // (ClientOptions::retry_backoff), each with its own deadline (call.deadline if set, else now +
  // ClientOptions::timeout) and the same request_id, so the server applies it at most once. The
  // request_id stays with the pending changes until they change, so calling Commit again after it
  // failed that way is just as safe, within the server's idempotency window (10 minutes by
  // default). On success the changes become the session's state and Info() is the server's answer.
  // If others changed the session since it was loaded, the next read loads it again; until then
  // Commit keeps sending the old read_version, so nothing read before is overwritten blindly (a
  // later commit of the same keys may then be ABORTED). On failure the changes stay pending and the
  // error is returned: ABORTED when a key this commit writes changed after read_version
  // (ConflictingKeys() names them); NOT_FOUND, INVALID_ARGUMENT, RESOURCE_EXHAUSTED as
  // Client::Commit; or the error a failed Load left. After UNAVAILABLE, DEADLINE_EXCEEDED or
  // CANCELLED the commit may have been applied: commit again to find out.
  absl::Status Commit(const CallOptions& call = {});

  // The keys the server reported as changed by others when the last Commit failed with ABORTED
  // (empty for a whole-session if_version conflict); empty after any other outcome and after
  // Reload.
  const std::vector<std::string>& ConflictingKeys() const { return conflicting_keys_; }

 private:
  bool IsLoaded() const { return load_status_.has_value() && load_status_->ok(); }
  // Takes `loaded` as the session's state.
  void Adopt(v1::GetResponse loaded);
  // The value `key` has with pending changes applied if it holds a value of type `kind`, else null.
  // Loads the session first if needed; null if that fails.
  const v1::Value* Find(absl::string_view key, v1::Value::KindCase kind);
  // Records a set (`value`) or a removal (nullopt) of `key`.
  void Record(absl::string_view key, std::optional<v1::Value> value);
  // Whether the server's entries change when the pending changes apply to the loaded entries,
  // which is exactly when a commit with no conflict bumps the version.
  bool PendingChangesChangeEntries() const;
  // Makes the pending changes the loaded state after a successful Commit answered `committed`.
  void ApplyCommitted(const v1::SessionInfo& committed);

  const Client* client_;
  std::string id_;
  v1::SessionInfo info_;
  // Unset until a load is attempted, then its outcome; reset when entries_ is found out of date.
  std::optional<absl::Status> load_status_;
  // What Commit sends as read_version: the version the entries the caller may have read were
  // loaded at. Unset if the session was never loaded. Equal to info_.version() while IsLoaded().
  std::optional<uint64_t> read_version_;
  // The entries at info_.version() as loaded; empty unless IsLoaded().
  absl::btree_map<std::string, v1::Value> entries_;
  // Pending: whether a Clear was recorded, and each key's last set (a value) or removal (nullopt)
  // since. Removals recorded after a Clear are dropped, since the clear removes the key anyway.
  bool cleared_ = false;
  absl::btree_map<std::string, std::optional<v1::Value>> changes_;
  // The idempotency key of the pending changes; empty until Commit sends them, cleared when they
  // change or are committed.
  std::string request_id_;
  std::vector<std::string> conflicting_keys_;
};

}  // namespace sessiond

#endif  // SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_SESSION_H_
