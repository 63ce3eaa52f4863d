#include "storage/redis_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "storage/live_cap.h"
#include "storage/page_token.h"
#include "storage/reachability.h"
#include "storage/redis_event_tail.h"
#include "storage/redis_journal.h"
#include "storage/redis_scripts.h"
#include "storage/session_event.h"
#include "storage/session_gone.h"
#include "storage/session_state.h"

namespace sessiond::storage {
namespace {

constexpr int kRotateAttempts = 5;
// How long a rotation holds a session (changes to it wait): longer than a rotation's three round
// trips take, short enough that a replica dying mid-rotation delays writers only that long.
constexpr absl::Duration kRotationLease = absl::Seconds(2);

// Sessions a sweep script ends, and sessions a revocation script ends, per round trip.
constexpr int kSweepBatch = 256;
constexpr int kRevokeBatch = 500;
// How long keys outlive their session's deadline at least: the sweep ends sessions, Redis's TTL
// only reclaims what no sweep reached.
constexpr absl::Duration kMinTtlSlack = absl::Minutes(1);

// Cluster: index entries a revocation reads per round trip; journal slots each sweep moves
// (redis_journal.h: all 16384 every 64 sweeps).
constexpr int kClusterRevokeBatch = 100;
constexpr int kJournalScan = 256;
// Cluster: how long room reserved under a principal cap waits for its session, and how often a
// Create tries to make room while other logins of the principal take it.
constexpr absl::Duration kReservationLease = absl::Seconds(10);
constexpr int kAdmitAttempts = 100;

int64_t Millis(absl::Duration duration) { return absl::ToInt64Milliseconds(duration); }

// The status for a Redis error reply: what a caller can do about it, with Redis's own words.
absl::Status RedisErrorStatus(const RedisReply& reply) {
  if (reply.IsErrorStartingWith("OOM")) {
    return absl::ResourceExhaustedError(
        absl::StrCat("Redis is at its maxmemory and refuses writes: ", reply.str));
  }
  for (absl::string_view transient :
       {"READONLY", "MASTERDOWN", "BUSY", "LOADING", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS"}) {
    if (reply.IsErrorStartingWith(transient)) {
      return absl::UnavailableError(absl::StrCat("Redis cannot serve this now: ", reply.str));
    }
  }
  for (absl::string_view refused : {"NOAUTH", "WRONGPASS", "NOPERM"}) {
    if (reply.IsErrorStartingWith(refused)) {
      return absl::UnavailableError(absl::StrCat(
          "Redis refuses sessiond's credentials (--redis_user, --redis_password): ", reply.str));
    }
  }
  return absl::InternalError(absl::StrCat("Redis failed a sessiond script: ", reply.str));
}

// The outcome word a script's reply starts with ("OK", "NOT_FOUND", ...).
absl::string_view OutcomeOf(const RedisReply& reply) {
  if (reply.type != RedisReply::Type::kArray || reply.elements.empty()) return "";
  return reply.elements[0].str;
}

absl::StatusOr<uint64_t> ParseNumber(const RedisReply& reply) {
  uint64_t number;
  if (!absl::SimpleAtoi(reply.str, &number)) {
    return absl::DataLossError(absl::StrCat("Redis holds a malformed number: \"", reply.str, "\""));
  }
  return number;
}

// The element `index` of a script's reply, or INTERNAL if the reply is too short.
absl::StatusOr<const RedisReply*> Element(const RedisReply& reply, size_t index) {
  if (reply.type != RedisReply::Type::kArray || index >= reply.elements.size()) {
    return absl::InternalError("a sessiond script returned a reply of an unexpected shape");
  }
  return &reply.elements[index];
}

absl::StatusOr<uint64_t> NumberAt(const RedisReply& reply, size_t index) {
  absl::StatusOr<const RedisReply*> element = Element(reply, index);
  if (!element.ok()) return element.status();
  return ParseNumber(**element);
}

// The elements of an "OK" reply's metadata (redis_scripts.h), from `first` on: version,
// created, idle deadline, absolute expiry, idle timeout, principal, last access, labels.
constexpr size_t kMetaElements = 8;

absl::StatusOr<SessionMeta> ParseMeta(const RedisReply& reply, absl::string_view id,
                                      size_t first = 1) {
  uint64_t numbers[5];
  for (size_t i = 0; i < 5; ++i) {
    absl::StatusOr<uint64_t> number = NumberAt(reply, first + i);
    if (!number.ok()) return number.status();
    numbers[i] = *number;
  }
  absl::StatusOr<const RedisReply*> principal = Element(reply, first + 5);
  if (!principal.ok()) return principal.status();
  absl::StatusOr<uint64_t> last_access = NumberAt(reply, first + 6);
  if (!last_access.ok()) return last_access.status();
  absl::StatusOr<const RedisReply*> labels = Element(reply, first + 7);
  if (!labels.ok()) return labels.status();
  absl::StatusOr<std::vector<std::string>> label_list = RedisDecodeList((*labels)->str);
  if (!label_list.ok()) return label_list.status();
  SessionMeta meta;
  meta.id = std::string(id);
  meta.version = numbers[0];
  meta.created_at = absl::FromUnixMillis(static_cast<int64_t>(numbers[1]));
  meta.idle_expires_at = absl::FromUnixMillis(static_cast<int64_t>(numbers[2]));
  meta.absolute_expires_at = absl::FromUnixMillis(static_cast<int64_t>(numbers[3]));
  meta.idle_timeout = absl::Milliseconds(static_cast<int64_t>(numbers[4]));
  meta.principal = (*principal)->str;
  meta.last_access_at = absl::FromUnixMillis(static_cast<int64_t>(*last_access));
  for (size_t i = 0; i + 1 < label_list->size(); i += 2) {
    meta.labels.emplace((*label_list)[i], (*label_list)[i + 1]);
  }
  return meta;
}

std::string EncodeLabels(const Labels& labels) {
  std::vector<std::string> flat;
  for (const auto& [key, value] : labels) {
    flat.push_back(key);
    flat.push_back(value);
  }
  return RedisEncodeList(flat);
}

// The index member (redis_scripts.h) of a page cursor: "<created ms, 15 digits>:<id>".
constexpr size_t kIndexIdOffset = 16;
std::string IndexMember(const PageCursor& cursor) {
  return absl::StrFormat("%015d:%s", absl::ToUnixMillis(cursor.created_at), cursor.id);
}

// The status of a reply whose outcome is not "OK": the Store's error for it. `if_version` and
// `read_version` are the call's conditions, for the messages; `call` (Apply's conditions, if any)
// its own byte cap.
absl::Status FailureOf(const RedisReply& reply, std::optional<uint64_t> if_version,
                       std::optional<uint64_t> read_version, const SessionLimits& limits,
                       const Conditions* call = nullptr) {
  const absl::string_view outcome = OutcomeOf(reply);
  if (outcome == "NOT_FOUND") {
    if (reply.elements.size() < 3) return SessionNotFoundError();
    absl::StatusOr<uint64_t> reason = NumberAt(reply, 1);
    if (!reason.ok()) return reason.status();
    absl::StatusOr<uint64_t> ended = NumberAt(reply, 2);
    if (!ended.ok()) return ended.status();
    if (*reason == 0 || *reason > static_cast<uint64_t>(GoneReason::kRotated)) {
      return SessionNotFoundError();
    }
    return SessionGoneError(GoneDetails{static_cast<GoneReason>(*reason),
                                        absl::FromUnixMillis(static_cast<int64_t>(*ended))});
  }
  if (outcome == "PRINCIPAL_CAP") {
    return PrincipalCapError(limits);
  }
  if (outcome == "ALREADY_EXISTS") return absl::AlreadyExistsError("a session with this id exists");
  if (outcome == "ABORTED" || outcome == "FAILED_PRECONDITION") {
    absl::StatusOr<uint64_t> version = NumberAt(reply, 1);
    if (!version.ok()) return version.status();
    if (outcome == "FAILED_PRECONDITION") {
      return ReadVersionAheadError(*version, read_version.value_or(0));
    }
    if (reply.elements.size() == 2) return IfVersionConflictError(*version, if_version.value_or(0));
    std::vector<std::string> keys;
    for (size_t i = 2; i < reply.elements.size(); ++i) keys.push_back(reply.elements[i].str);
    std::sort(keys.begin(), keys.end());
    return ReadVersionConflictError(*version, read_version.value_or(0), std::move(keys));
  }
  if (outcome == "LIMIT") {
    uint64_t sizes[4];
    for (size_t i = 0; i < 4; ++i) {
      absl::StatusOr<uint64_t> size = NumberAt(reply, i + 1);
      if (!size.ok()) return size.status();
      sizes[i] = *size;
    }
    return CheckSessionLimits(sizes[0], sizes[1], sizes[2], sizes[3], limits, call);
  }
  return absl::InternalError(
      absl::StrCat("a sessiond script answered an unknown outcome \"", outcome, "\""));
}

// A stored entry value: "<version> <kind byte><payload>"; the view points into `stored`.
absl::StatusOr<ValueView> ParseEntryValue(absl::string_view stored) {
  const size_t space = stored.find(' ');
  if (space == absl::string_view::npos || space + 1 >= stored.size() ||
      static_cast<uint8_t>(stored[space + 1]) > static_cast<uint8_t>(kLastValueKind)) {
    return absl::DataLossError("Redis holds a malformed session entry");
  }
  const auto kind = static_cast<ValueKind>(stored[space + 1]);
  const absl::string_view payload = stored.substr(space + 2);
  if (!PayloadFits(kind, payload.size())) {
    return absl::DataLossError("Redis holds a session entry of the wrong size for its type");
  }
  return ValueView(kind, payload);
}

// "<kind byte><payload>" of `value`.
std::string KindAndPayload(const Value& value) {
  std::string out(1, static_cast<char>(KindOf(value)));
  AppendPayload(value, &out);
  return out;
}

// The value of `field` in a flat field/value list (a session's main hash), or "".
std::string FieldOf(const std::vector<RedisReply>& fields, absl::string_view field) {
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == field) return fields[i + 1].str;
  }
  return "";
}

// OK if the store can count `cap` for session `id`: its scripts count per tenant, the ids' text
// up to their first '~' (tenant_store.h), which must be the cap's prefix.
absl::Status CheckCountable(const LiveCap& cap, absl::string_view id) {
  const size_t tilde = cap.id_prefix.find('~');
  if (tilde + 1 != cap.id_prefix.size() || !absl::StartsWith(id, cap.id_prefix)) {
    return absl::InternalError(
        absl::StrCat("the redis store counts live sessions per tenant id prefix \"<tenant>~\"; ",
                     cap.name, " came with another prefix"));
  }
  return absl::OkStatus();
}

// The status of a Create the tenant's live cap refused ({'LIVE_CAP', live sessions}).
absl::Status LiveCapFailure(const RedisReply& reply, const LiveCap& cap) {
  absl::StatusOr<uint64_t> live = NumberAt(reply, 1);
  if (!live.ok()) return live.status();
  return LiveCapExceeded(cap, *live);
}

std::string OptionalNumber(std::optional<uint64_t> number) {
  return number.has_value() ? absl::StrCat(*number) : std::string();
}

class RedisStore final : public Store {
 public:
  RedisStore(std::unique_ptr<RedisClient> client, const RedisStoreOptions& options, bool cluster,
             std::unique_ptr<RedisEventTail> tail)
      : client_(std::move(client)),
        prefix_(options.key_prefix),
        shared_(options.key_prefix, cluster),
        cluster_(cluster),
        clock_(options.clock != nullptr ? options.clock : RealClock()),
        limits_(options.limits),
        config_(absl::StrCat(
            " ", Millis(limits_.gone_retention), " ", std::max<size_t>(limits_.event_retention, 1),
            " ", Millis(std::max(limits_.gone_retention, kMinTtlSlack)), " ",
            limits_.record_touches ? "1" : "0", " ", limits_.max_sessions_per_principal, " ",
            limits_.principal_cap_policy == PrincipalCapPolicy::kEvictOldest ? "evict" : "reject")),
        tail_(std::move(tail)),
        journal_(cluster
                     ? std::make_unique<RedisJournal>(
                           client_.get(), prefix_, shared_,
                           [this](const RedisScript& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args) {
                             return Eval(script, keys, clock_->Now(), args, true);
                           })
                     : nullptr),
        reachability_(options.unhealthy_after, options.probe_interval, [this] {
          const std::vector<absl::string_view> ping = {"PING"};
          return client_->RunOnEveryPrimary(ping).status();
        }) {}

  absl::StatusOr<SessionMeta> Create(NewSession session) override;
  absl::StatusOr<SessionMeta> Get(absl::string_view id, absl::Span<const absl::string_view> keys,
                                  Renewal renewal, EntryVisitor visit) override;
  absl::StatusOr<SessionMeta> Apply(absl::string_view id, std::vector<Mutation> mutations,
                                    const Conditions& conditions) override;
  absl::StatusOr<SessionMeta> Touch(absl::string_view id) override;
  absl::StatusOr<bool> Delete(absl::string_view id, std::optional<uint64_t> if_version,
                              absl::string_view request_id) override;
  absl::StatusOr<SessionMeta> Rotate(absl::string_view id, std::string new_id,
                                     std::optional<uint64_t> if_version,
                                     absl::string_view request_id,
                                     const std::optional<std::string>& bind_principal) override;
  absl::StatusOr<SessionPage> ListSessions(absl::string_view principal, size_t page_size,
                                           absl::string_view page_token) override;
  absl::StatusOr<size_t> RevokeSessions(absl::string_view principal,
                                        absl::Span<const std::string> except_ids) override;
  EventLog& Events() override { return tail_->log(); }
  absl::StatusOr<size_t> SweepExpired() override;
  StoreStats Stats() const override;
  bool MayBlock() const override { return true; }
  bool AcceptsWrites() const override { return reachability_.reachable(); }
  // Standalone, the Create script counts the tenant's live sessions (redis_scripts.h); in a
  // cluster, a reservation in the shared slot before the create does (redis_journal.h).
  bool CapsLiveSessions() const override { return true; }

 private:
  // A script's KEYS: the session's three keys (sharing the hash tag {id}), then, standalone, the
  // shared keys; in a cluster, the journal of the session's slot.
  std::vector<std::string> KeysOf(absl::string_view id) const {
    std::string main = absl::StrCat(prefix_, ":{", id, "}");
    std::vector<std::string> keys = {main, absl::StrCat(main, ":t"), absl::StrCat(main, ":r")};
    if (cluster_) {
      keys.push_back(journal_->KeyOf(RedisKeySlot(main)));
    } else {
      keys.insert(keys.end(),
                  {shared_.deadlines, shared_.sequence, shared_.events, shared_.indexed});
    }
    return keys;
  }
  // The KEYS of a standalone script on many sessions: the shared keys where the session's would
  // be (unused), then the shared keys.
  std::vector<std::string> SharedKeysOnly() const {
    return {shared_.deadlines, shared_.deadlines, shared_.deadlines, shared_.deadlines,
            shared_.sequence,  shared_.events,    shared_.indexed};
  }

  // Runs `script` on `keys` (routed by the first) with ARGV = the config at `now`
  // (redis_scripts.h), then `args`; on NOSCRIPT sends the source (which also caches it). A Redis
  // error reply becomes its status (RedisErrorStatus). `write`: WAIT for replicas if configured.
  // Returns the script's reply without the event sequence in front (this replica's log gets the
  // event from the stream a moment later). In a cluster, a script that appended to its slot's
  // journal has it moved first (RedisJournal::Move; a failed move is retried later).
  absl::StatusOr<RedisReply> Eval(const RedisScript& script, const std::vector<std::string>& keys,
                                  absl::Time now, const std::vector<std::string>& args, bool write);
  // Eval with the clock's time, again (after 1 ms, doubling to 64 ms) while the script answers
  // MOVING: a rotation holds the session for a few round trips. UNAVAILABLE if it still does
  // after the rotation lease.
  absl::StatusOr<RedisReply> EvalUnlessMoving(const RedisScript& script,
                                              const std::vector<std::string>& keys,
                                              const std::vector<std::string>& args);
  // The live session `id` as it is, without renewing it: a retry's answer.
  absl::StatusOr<SessionMeta> Peek(absl::string_view id);
  // One rotation attempt: the three steps, or an error; nullopt if the old session changed
  // between the steps (the copy is gone again).
  absl::StatusOr<std::optional<SessionMeta>> TryRotate(absl::string_view id,
                                                       const std::string& new_id,
                                                       std::optional<uint64_t> if_version,
                                                       absl::string_view request_id,
                                                       const std::string& bind);
  // Runs `script` (sweep or revoke: it answers {'OK', sessions ended, '1' if more may remain})
  // with `args` until nothing remains; returns how many sessions it ended.
  absl::StatusOr<size_t> RunInBatches(const RedisScript& script,
                                      const std::vector<std::string>& args);
  // Whether the principal cap applies to sessions of `principal`.
  bool Capped(absl::string_view principal) const {
    return limits_.max_sessions_per_principal > 0 && !principal.empty();
  }
  // Cluster (redis_journal.h): what must come before `session`'s create script, so that the
  // session is counted and listed from the moment it can be live: a place under its tenant's live
  // cap (first: it evicts nothing), room under its principal's cap (Admit), and its deadline
  // entry at `deadline_ms` (in the tenant's reservation script when no principal cap comes in
  // between: one round trip for both). RESOURCE_EXHAUSTED (LiveCapExceeded) if the tenant's cap
  // refuses; Admit's errors. On failure, gives back what it reserved.
  absl::Status PrepareClusterCreate(const NewSession& session, int64_t deadline_ms);
  // Cluster: gives back `session`'s reservations under its caps (it was not created). Best effort.
  void ReleaseReservations(const NewSession& session);
  // Cluster (redis_journal.h): reserves room for session `id` under `principal`'s cap, ending
  // the least recently used sessions first with policy evict_oldest. RESOURCE_EXHAUSTED
  // (PrincipalCapError) if the cap refuses; UNAVAILABLE if the principal's sessions kept changing
  // for kAdmitAttempts.
  absl::Status Admit(absl::string_view principal, absl::string_view id);
  // Cluster: what a principal's index entry names, read from its session (Peek).
  struct IndexEntry {
    // The session, if it is live and the principal's.
    std::optional<SessionMeta> live;
    // Whether the entry was dropped: its session is not live, and its removal may never come
    // (keys gone by TTL) or is yet to be moved. A session that was rotated keeps its entry: the
    // rotation's move replaces it with the new id's, and until then it holds the principal's room.
    bool dropped = false;
  };
  absl::StatusOr<IndexEntry> CheckIndexEntry(absl::string_view principal,
                                             const std::string& member);
  // Cluster (redis_journal.h): puts `id` in the deadline set at `deadline_ms` (Unix ms), unless
  // it is there later already.
  absl::Status AddDeadline(absl::string_view id, int64_t deadline_ms);
  // Cluster: the members of `principal`'s index after `after` ('' for the newest) in the list
  // order, at most `count`.
  absl::StatusOr<std::vector<std::string>> IndexPage(absl::string_view principal,
                                                     const std::string& after, size_t count);
  absl::StatusOr<SessionPage> ClusterListSessions(absl::string_view principal, size_t page_size,
                                                  const std::string& after);
  absl::StatusOr<size_t> ClusterRevokeSessions(absl::string_view principal,
                                               absl::Span<const std::string> except_ids);
  absl::StatusOr<size_t> ClusterSweepExpired();
  // Cluster: revokes session `id` of `principal` and, if it was rotated, what it became (its
  // index entry may still be on its way: the rotation's move adds it), unless kept in
  // `except_ids`; returns how many sessions it ended.
  absl::StatusOr<size_t> RevokeFollowingRotations(absl::string_view principal, std::string id,
                                                  absl::Span<const std::string> except_ids);

  std::unique_ptr<RedisClient> client_;
  const std::string prefix_;
  const RedisSharedKeys shared_;
  const bool cluster_;
  Clock* const clock_;
  const SessionLimits limits_;
  // ARGV[1] after the clock's time.
  const std::string config_;
  const std::unique_ptr<RedisEventTail> tail_;
  // Cluster only.
  const std::unique_ptr<RedisJournal> journal_;
  // PINGs every primary each probe_interval; declared last, so it stops first.
  Reachability reachability_;
};

absl::StatusOr<RedisReply> RedisStore::Eval(const RedisScript& script,
                                            const std::vector<std::string>& keys, absl::Time now,
                                            const std::vector<std::string>& args, bool write) {
  const std::string config = absl::StrCat(absl::ToUnixMillis(now), config_);
  const std::string key_count = absl::StrCat(keys.size());
  std::vector<absl::string_view> command = {"EVALSHA", script.sha1, key_count};
  command.insert(command.end(), keys.begin(), keys.end());
  command.push_back(config);
  command.insert(command.end(), args.begin(), args.end());
  absl::StatusOr<RedisReply> reply = client_->Run(keys.front(), command, write);
  if (reply.ok() && reply->IsErrorStartingWith("NOSCRIPT")) {
    command[0] = "EVAL";
    command[1] = script.body;
    reply = client_->Run(keys.front(), command, write);
  }
  reachability_.Track(reply.status());
  if (!reply.ok()) return reply;
  if (reply->IsError()) return RedisErrorStatus(*reply);
  if (reply->type != RedisReply::Type::kArray || reply->elements.empty()) {
    return absl::InternalError("a sessiond script returned a reply of an unexpected shape");
  }
  if (journal_ != nullptr && reply->elements[0].str == "1") {
    (void)journal_->Move(RedisKeySlot(keys.front()));
  }
  reply->elements.erase(reply->elements.begin());
  return reply;
}

absl::StatusOr<RedisReply> RedisStore::EvalUnlessMoving(const RedisScript& script,
                                                        const std::vector<std::string>& keys,
                                                        const std::vector<std::string>& args) {
  const absl::Time give_up = absl::Now() + kRotationLease + absl::Milliseconds(100);
  absl::Duration pause = absl::Milliseconds(1);
  while (true) {
    absl::StatusOr<RedisReply> reply = Eval(script, keys, clock_->Now(), args, true);
    if (!reply.ok() || OutcomeOf(*reply) != "MOVING") return reply;
    if (absl::Now() + pause > give_up) {
      return absl::UnavailableError("the session is being rotated to a new id; retry");
    }
    absl::SleepFor(pause);
    pause = std::min(2 * pause, absl::Milliseconds(64));
  }
}

absl::StatusOr<SessionMeta> RedisStore::Peek(absl::string_view id) {
  absl::StatusOr<RedisReply> reply =
      Eval(RedisGetScript(), KeysOf(id), clock_->Now(), {"meta"}, false);
  if (!reply.ok()) return reply.status();
  if (OutcomeOf(*reply) != "OK") return FailureOf(*reply, {}, {}, limits_);
  return ParseMeta(*reply, id);
}

absl::StatusOr<SessionMeta> RedisStore::Create(NewSession session) {
  absl::StatusOr<SessionState> state = SessionState::Create(std::move(session.entries), limits_);
  if (!state.ok()) return state.status();
  const absl::Time now = clock_->Now();
  // The script counts the tenant's live cap standalone; in a cluster, the reservation does
  // (PrepareClusterCreate).
  std::vector<std::string> args = {absl::StrCat(Millis(session.idle_timeout)),
                                   absl::StrCat(Millis(session.absolute_timeout)),
                                   session.principal,
                                   absl::StrCat(state->key_count()),
                                   absl::StrCat(state->data_bytes()),
                                   EncodeLabels(session.labels),
                                   absl::StrCat(cluster_ ? 0 : session.live_cap.max)};
  if (session.live_cap.max != 0) {
    if (absl::Status counted = CheckCountable(session.live_cap, session.id); !counted.ok()) {
      return counted;
    }
  }
  state->Visit({}, [&](absl::string_view key, ValueView value) {
    args.push_back(absl::StrCat("=", key));
    args.push_back(absl::StrCat("1 ", KindAndPayload(value.ToValue())));
  });

  std::string claim;
  if (!session.request_id.empty()) {
    // Claim the request_id first, so that a retry finds the session this attempt creates.
    claim = absl::StrCat(prefix_, ":c:{", session.request_id, "}");
    const std::string window = absl::StrCat(Millis(limits_.idempotency_window));
    const std::vector<absl::string_view> set = {"SET", claim, session.id, "NX", "PX", window};
    absl::StatusOr<RedisReply> claimed = client_->Run(claim, set, true);
    reachability_.Track(claimed.status());
    if (!claimed.ok()) return claimed.status();
    if (claimed->IsError()) return RedisErrorStatus(*claimed);
    if (claimed->type == RedisReply::Type::kNil) {
      const std::vector<absl::string_view> get = {"GET", claim};
      absl::StatusOr<RedisReply> first = client_->Run(claim, get);
      if (!first.ok()) return first.status();
      if (first->type != RedisReply::Type::kString) return SessionNotFoundError();
      return Peek(first->str);
    }
  }
  absl::Status ready = absl::OkStatus();
  if (cluster_) {
    ready = PrepareClusterCreate(
        session, absl::ToUnixMillis(now) +
                     std::min(Millis(session.idle_timeout), Millis(session.absolute_timeout)));
  }
  absl::StatusOr<RedisReply> reply =
      ready.ok() ? Eval(RedisCreateScript(), KeysOf(session.id), now, args, true) : ready;
  absl::StatusOr<SessionMeta> meta = !reply.ok()                 ? reply.status()
                                     : OutcomeOf(*reply) == "OK" ? ParseMeta(*reply, session.id)
                                     : OutcomeOf(*reply) == "LIVE_CAP"
                                         ? LiveCapFailure(*reply, session.live_cap)
                                         : FailureOf(*reply, {}, {}, limits_);
  if (!meta.ok() && cluster_ && ready.ok()) ReleaseReservations(session);
  if (!meta.ok() && !claim.empty()) {
    // Not created: a retry must run afresh. Best effort; the claim expires with the window anyway.
    (void)Eval(RedisReleaseClaimScript(), {claim}, now, {session.id}, false);
  }
  return meta;
}

absl::StatusOr<SessionMeta> RedisStore::Get(absl::string_view id,
                                            absl::Span<const absl::string_view> keys,
                                            Renewal renewal, EntryVisitor visit) {
  std::vector<std::string> args = {renewal == Renewal::kRenew ? "get" : "peek"};
  for (absl::string_view key : keys) args.emplace_back(key);
  // A renewal is not WAITed for: losing one in a failover only brings the expiry forward.
  absl::StatusOr<RedisReply> reply = Eval(RedisGetScript(), KeysOf(id), clock_->Now(), args, false);
  if (!reply.ok()) return reply.status();
  if (OutcomeOf(*reply) != "OK") return FailureOf(*reply, {}, {}, limits_);
  absl::StatusOr<SessionMeta> meta = ParseMeta(*reply, id);
  if (!meta.ok()) return meta.status();
  // Entries come in hash order, a key twice if it was asked twice: visit them sorted, once each.
  std::vector<std::pair<absl::string_view, ValueView>> entries;
  for (size_t i = 1 + kMetaElements; i + 1 < reply->elements.size(); i += 2) {
    absl::StatusOr<ValueView> value = ParseEntryValue(reply->elements[i + 1].str);
    if (!value.ok()) return value.status();
    entries.emplace_back(absl::string_view(reply->elements[i].str).substr(1), *value);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                entries.end());
  for (const auto& [key, value] : entries) visit(key, value);
  return meta;
}

absl::StatusOr<SessionMeta> RedisStore::Apply(absl::string_view id, std::vector<Mutation> mutations,
                                              const Conditions& conditions) {
  // The keys the updated event names, if the batch changes anything.
  const SessionEvent updated = UpdatedEvent(SessionMeta(), mutations);
  // The script checks the tighter of the store's limit and the call's own cap.
  const size_t max_bytes = conditions.max_session_bytes == 0
                               ? limits_.max_session_bytes
                               : std::min(limits_.max_session_bytes, conditions.max_session_bytes);
  std::vector<std::string> args = {absl::StrCat(Millis(limits_.idempotency_window)),
                                   absl::StrCat(limits_.max_keys),
                                   absl::StrCat(max_bytes),
                                   absl::StrCat(limits_.max_request_ids),
                                   OptionalNumber(conditions.if_version),
                                   OptionalNumber(conditions.read_version),
                                   conditions.request_id,
                                   RedisEncodeList(updated.changed_keys),
                                   updated.cleared ? "1" : "0"};
  args.reserve(args.size() + 3 * mutations.size());
  for (Mutation& mutation : mutations) {
    switch (mutation.kind) {
      case Mutation::Kind::kSet:
        args.push_back("s");
        args.push_back(std::move(mutation.key));
        args.push_back(KindAndPayload(mutation.value));
        break;
      case Mutation::Kind::kRemove:
        args.push_back("r");
        args.push_back(std::move(mutation.key));
        args.push_back("");
        break;
      case Mutation::Kind::kClear:
        args.insert(args.end(), {"c", "", ""});
        break;
    }
  }
  absl::StatusOr<RedisReply> reply = EvalUnlessMoving(RedisApplyScript(), KeysOf(id), args);
  if (!reply.ok()) return reply.status();
  if (OutcomeOf(*reply) != "OK") {
    return FailureOf(*reply, conditions.if_version, conditions.read_version, limits_, &conditions);
  }
  return ParseMeta(*reply, id);
}

absl::StatusOr<SessionMeta> RedisStore::Touch(absl::string_view id) {
  // Not WAITed for, like a renewing Get.
  absl::StatusOr<RedisReply> reply =
      Eval(RedisGetScript(), KeysOf(id), clock_->Now(), {"touch"}, false);
  if (!reply.ok()) return reply.status();
  if (OutcomeOf(*reply) != "OK") return FailureOf(*reply, {}, {}, limits_);
  return ParseMeta(*reply, id);
}

absl::StatusOr<bool> RedisStore::Delete(absl::string_view id, std::optional<uint64_t> if_version,
                                        absl::string_view request_id) {
  absl::StatusOr<RedisReply> reply =
      EvalUnlessMoving(RedisDeleteScript(), KeysOf(id),
                       {OptionalNumber(if_version), std::string(request_id),
                        absl::StrCat(Millis(limits_.idempotency_window))});
  if (!reply.ok()) return reply.status();
  if (OutcomeOf(*reply) != "OK") return FailureOf(*reply, if_version, {}, limits_);
  absl::StatusOr<uint64_t> deleted = NumberAt(*reply, 1);
  if (!deleted.ok()) return deleted.status();
  return *deleted == 1;
}

absl::StatusOr<SessionMeta> RedisStore::Rotate(absl::string_view id, std::string new_id,
                                               std::optional<uint64_t> if_version,
                                               absl::string_view request_id,
                                               const std::optional<std::string>& bind_principal) {
  // The scripts' form of bind_principal: '=' before the principal, '' to keep it.
  const std::string bind = bind_principal.has_value() ? absl::StrCat("=", *bind_principal) : "";
  for (int attempt = 0; attempt < kRotateAttempts; ++attempt) {
    absl::StatusOr<std::optional<SessionMeta>> rotated =
        TryRotate(id, new_id, if_version, request_id, bind);
    if (!rotated.ok()) return rotated.status();
    if (rotated->has_value()) return **rotated;
  }
  return absl::UnavailableError(absl::StrCat("the session changed during each of ", kRotateAttempts,
                                             " rotation attempts; retry"));
}

absl::StatusOr<std::optional<SessionMeta>> RedisStore::TryRotate(absl::string_view id,
                                                                 const std::string& new_id,
                                                                 std::optional<uint64_t> if_version,
                                                                 absl::string_view request_id,
                                                                 const std::string& bind) {
  const std::vector<std::string> old_keys = KeysOf(id);
  const std::vector<std::string> new_keys = KeysOf(new_id);
  absl::StatusOr<RedisReply> begun =
      EvalUnlessMoving(RedisRotateBeginScript(), old_keys,
                       {OptionalNumber(if_version), std::string(request_id), new_id,
                        absl::StrCat(Millis(kRotationLease))});
  if (!begun.ok()) return begun.status();
  if (OutcomeOf(*begun) == "REPLAY") {
    absl::StatusOr<const RedisReply*> successor = Element(*begun, 1);
    if (!successor.ok()) return successor.status();
    return Peek((*successor)->str);
  }
  if (OutcomeOf(*begun) != "OK") return FailureOf(*begun, if_version, {}, limits_);
  if (begun->elements.size() != 5) {
    return absl::InternalError("rotate_begin returned a reply of an unexpected shape");
  }
  const std::string& version = begun->elements[1].str;
  const std::vector<RedisReply>& main = begun->elements[2].elements;
  const std::vector<RedisReply>& tombstones = begun->elements[3].elements;
  const std::vector<RedisReply>& requests = begun->elements[4].elements;
  std::vector<std::string> copy = {bind, absl::StrCat(main.size()),
                                   absl::StrCat(tombstones.size())};
  for (const auto* part : {&main, &tombstones, &requests}) {
    for (const RedisReply& field : *part) copy.push_back(field.str);
  }
  std::vector<std::string> end = {version,  std::string(request_id),
                                  new_id,   absl::StrCat(Millis(limits_.idempotency_window)),
                                  "commit", bind};
  // In a cluster, binding another principal first reserves room under its cap (redis_journal.h),
  // given back unless the rotation commits.
  std::string reserved;
  bool committed = false;
  absl::Cleanup release = [&] {
    if (!committed && !reserved.empty()) journal_->Release(reserved, new_id);
  };
  if (cluster_ && bind.size() > 1 && Capped(bind.substr(1)) &&
      bind.substr(1) != FieldOf(main, "#p")) {
    if (absl::Status admitted = Admit(bind.substr(1), new_id); !admitted.ok()) {
      end[4] = "abort";
      (void)Eval(RedisRotateEndScript(), old_keys, clock_->Now(), end, false);
      return admitted;
    }
    reserved = bind.substr(1);
  }
  absl::StatusOr<RedisReply> placed =
      Eval(RedisRotatePlaceScript(), new_keys, clock_->Now(), copy, true);
  absl::StatusOr<SessionMeta> meta =
      !placed.ok()                 ? placed.status()
      : OutcomeOf(*placed) == "OK" ? ParseMeta(*placed, new_id)
      : OutcomeOf(*placed) == "ALREADY_EXISTS"
          ? absl::AlreadyExistsError("a session with the new id exists")
          : FailureOf(*placed, {}, {}, limits_);
  const std::vector<absl::string_view> discard = {"DEL", new_keys[0], new_keys[1], new_keys[2]};
  if (meta.ok() && cluster_) {
    // The copy goes in the deadline set before it can be the session (redis_journal.h).
    if (absl::Status listed = AddDeadline(new_id, absl::ToUnixMillis(meta->idle_expires_at));
        !listed.ok()) {
      (void)client_->Run(new_keys[0], discard, true);
      meta = listed;
    }
  }
  if (!meta.ok()) {
    // No copy: give the lease back so that writers need not wait for it to run out.
    end[4] = "abort";
    (void)Eval(RedisRotateEndScript(), old_keys, clock_->Now(), end, false);
    return meta.status();
  }

  absl::StatusOr<RedisReply> ended =
      Eval(RedisRotateEndScript(), old_keys, clock_->Now(), end, true);
  if (ended.ok() && OutcomeOf(*ended) == "OK") {
    committed = true;
    return std::optional<SessionMeta>(*std::move(meta));
  }
  // The old session changed or ended after step 1, the principal cap refused the binding, or
  // step 3 failed: the copy must not live on.
  absl::StatusOr<RedisReply> discarded = client_->Run(new_keys[0], discard, true);
  if (!ended.ok()) return ended.status();
  if (OutcomeOf(*ended) == "PRINCIPAL_CAP") return FailureOf(*ended, {}, {}, limits_);
  if (!discarded.ok()) return discarded.status();
  return std::optional<SessionMeta>();
}

absl::StatusOr<SessionPage> RedisStore::ListSessions(absl::string_view principal, size_t page_size,
                                                     absl::string_view page_token) {
  std::string after;
  if (!page_token.empty()) {
    absl::StatusOr<PageCursor> cursor = DecodePageToken(page_token);
    if (!cursor.ok()) return cursor.status();
    after = IndexMember(*cursor);
  }
  if (cluster_) return ClusterListSessions(principal, page_size, after);
  // One more than asked, to know whether another page follows.
  absl::StatusOr<RedisReply> reply =
      Eval(RedisListScript(), SharedKeysOnly(), clock_->Now(),
           {std::string(principal), after, absl::StrCat(page_size + 1)}, false);
  if (!reply.ok()) return reply.status();
  if (OutcomeOf(*reply) != "OK") return FailureOf(*reply, {}, {}, limits_);
  SessionPage page;
  constexpr size_t kStride = 1 + kMetaElements;
  for (size_t first = 1; first + kStride <= reply->elements.size(); first += kStride) {
    absl::StatusOr<SessionMeta> meta = ParseMeta(*reply, reply->elements[first].str, first + 1);
    if (!meta.ok()) return meta.status();
    if (page.sessions.size() == page_size) {
      const SessionMeta& last = page.sessions.back();
      page.next_page_token = EncodePageToken(PageCursor{last.created_at, last.id});
      break;
    }
    page.sessions.push_back(*std::move(meta));
  }
  return page;
}

absl::StatusOr<size_t> RedisStore::RevokeSessions(absl::string_view principal,
                                                  absl::Span<const std::string> except_ids) {
  if (cluster_) return ClusterRevokeSessions(principal, except_ids);
  std::vector<std::string> args = {std::string(principal), absl::StrCat(kRevokeBatch)};
  args.insert(args.end(), except_ids.begin(), except_ids.end());
  return RunInBatches(RedisRevokeScript(), args);
}

absl::StatusOr<size_t> RedisStore::SweepExpired() {
  if (cluster_) return ClusterSweepExpired();
  return RunInBatches(RedisSweepScript(), {absl::StrCat(kSweepBatch)});
}

absl::StatusOr<size_t> RedisStore::RunInBatches(const RedisScript& script,
                                                const std::vector<std::string>& args) {
  size_t ended = 0;
  while (true) {
    absl::StatusOr<RedisReply> reply = Eval(script, SharedKeysOnly(), clock_->Now(), args, true);
    if (!reply.ok()) return reply.status();
    if (OutcomeOf(*reply) != "OK") return FailureOf(*reply, {}, {}, limits_);
    absl::StatusOr<uint64_t> batch = NumberAt(*reply, 1);
    if (!batch.ok()) return batch.status();
    absl::StatusOr<uint64_t> more = NumberAt(*reply, 2);
    if (!more.ok()) return more.status();
    ended += *batch;
    if (*more == 0) return ended;
  }
}

absl::Status RedisStore::PrepareClusterCreate(const NewSession& session, int64_t deadline_ms) {
  const bool principal_capped = Capped(session.principal);
  std::optional<int64_t> deadline = deadline_ms;
  if (session.live_cap.max != 0) {
    // Without a principal cap in between, one script reserves the place and lists the deadline.
    absl::StatusOr<std::optional<size_t>> full =
        journal_->ReserveLive(session.live_cap.id_prefix, session.live_cap.max, session.id,
                              kReservationLease, principal_capped ? std::nullopt : deadline);
    if (!full.ok()) return full.status();
    if (full->has_value()) return LiveCapExceeded(session.live_cap, **full);
    if (!principal_capped) deadline.reset();
  }
  absl::Status ready = principal_capped ? Admit(session.principal, session.id) : absl::OkStatus();
  if (ready.ok() && deadline.has_value()) ready = AddDeadline(session.id, *deadline);
  if (!ready.ok()) ReleaseReservations(session);
  return ready;
}

void RedisStore::ReleaseReservations(const NewSession& session) {
  if (Capped(session.principal)) journal_->Release(session.principal, session.id);
  if (session.live_cap.max != 0) journal_->ReleaseLive(session.live_cap.id_prefix, session.id);
}

absl::Status RedisStore::Admit(absl::string_view principal, absl::string_view id) {
  absl::Duration pause = absl::Milliseconds(1);
  for (int attempt = 0; attempt < kAdmitAttempts; ++attempt) {
    absl::StatusOr<std::optional<std::vector<std::string>>> full =
        journal_->Reserve(principal, id, kReservationLease);
    if (!full.ok()) return full.status();
    if (!full->has_value()) return absl::OkStatus();
    // Full: a member that is not live frees its room; else the least recently used may go.
    std::optional<SessionMeta> victim;
    bool freed = false;
    for (const std::string& member : **full) {
      absl::StatusOr<IndexEntry> entry = CheckIndexEntry(principal, member);
      if (!entry.ok()) return entry.status();
      freed = freed || entry->dropped;
      const std::optional<SessionMeta>& meta = entry->live;
      if (meta.has_value() &&
          (!victim.has_value() || meta->last_access_at < victim->last_access_at ||
           (meta->last_access_at == victim->last_access_at && meta->id < victim->id))) {
        victim = meta;
      }
    }
    if (freed) continue;
    if (limits_.principal_cap_policy != PrincipalCapPolicy::kEvictOldest) {
      return PrincipalCapError(limits_);
    }
    if (!victim.has_value()) {
      // The room is held by reservations of sessions being created: wait for them.
      absl::SleepFor(pause);
      pause = std::min(2 * pause, absl::Milliseconds(16));
      continue;
    }
    absl::StatusOr<RedisReply> evicted =
        Eval(RedisEndOfPrincipalScript(), KeysOf(victim->id), clock_->Now(),
             {std::string(principal), absl::StrCat(static_cast<int>(GoneReason::kEvicted))}, true);
    if (!evicted.ok()) return evicted.status();
  }
  return absl::UnavailableError(absl::StrCat("the principal's sessions changed during each of ",
                                             kAdmitAttempts, " attempts to make room; retry"));
}

absl::StatusOr<RedisStore::IndexEntry> RedisStore::CheckIndexEntry(absl::string_view principal,
                                                                   const std::string& member) {
  absl::StatusOr<SessionMeta> meta = Peek(member.substr(kIndexIdOffset));
  if (meta.ok() && meta->principal == principal) return IndexEntry{*std::move(meta), false};
  if (!meta.ok() && !absl::IsNotFound(meta.status())) return meta.status();
  const std::optional<GoneDetails> gone = GoneDetailsOf(meta.status());
  if (gone.has_value() && gone->reason == GoneReason::kRotated) return IndexEntry{};
  absl::Status dropped = journal_->DropIndexEntry(principal, member);
  if (!dropped.ok()) return dropped;
  return IndexEntry{std::nullopt, true};
}

absl::Status RedisStore::AddDeadline(absl::string_view id, int64_t deadline_ms) {
  const std::string score = absl::StrCat(deadline_ms);
  const std::vector<absl::string_view> add = {"ZADD", shared_.deadlines, "GT", score, id};
  absl::StatusOr<RedisReply> added = client_->Run(shared_.deadlines, add, true);
  reachability_.Track(added.status());
  if (!added.ok()) return added.status();
  return added->IsError() ? RedisErrorStatus(*added) : absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RedisStore::IndexPage(absl::string_view principal,
                                                               const std::string& after,
                                                               size_t count) {
  const std::string index = shared_.IndexOf(principal);
  const std::string from = after.empty() ? "+" : absl::StrCat("(", after);
  const std::string limit = absl::StrCat(count);
  const std::vector<absl::string_view> range = {"ZRANGE", index,   from, "-",  "BYLEX",
                                                "REV",    "LIMIT", "0",  limit};
  absl::StatusOr<RedisReply> page = client_->Run(index, range);
  reachability_.Track(page.status());
  if (!page.ok()) return page.status();
  if (page->IsError()) return RedisErrorStatus(*page);
  std::vector<std::string> members;
  for (RedisReply& member : page->elements) members.push_back(std::move(member.str));
  return members;
}

absl::StatusOr<SessionPage> RedisStore::ClusterListSessions(absl::string_view principal,
                                                            size_t page_size,
                                                            const std::string& after) {
  SessionPage page;
  std::string from = after;
  while (true) {
    // One more than asked, to know whether another page follows.
    const size_t wanted = page_size + 1 - page.sessions.size();
    absl::StatusOr<std::vector<std::string>> members = IndexPage(principal, from, wanted);
    if (!members.ok()) return members.status();
    for (const std::string& member : *members) {
      absl::StatusOr<IndexEntry> entry = CheckIndexEntry(principal, member);
      if (!entry.ok()) return entry.status();
      if (!entry->live.has_value()) continue;
      if (page.sessions.size() == page_size) {
        const SessionMeta& last = page.sessions.back();
        page.next_page_token = EncodePageToken(PageCursor{last.created_at, last.id});
        return page;
      }
      page.sessions.push_back(*std::move(entry->live));
    }
    if (members->size() < wanted) return page;
    from = members->back();
  }
}

absl::StatusOr<size_t> RedisStore::ClusterRevokeSessions(absl::string_view principal,
                                                         absl::Span<const std::string> except_ids) {
  const std::string index = shared_.IndexOf(principal);
  size_t revoked = 0;
  size_t kept = 0;
  while (true) {
    const std::string first = absl::StrCat(kept);
    const std::string last = absl::StrCat(kept + kClusterRevokeBatch - 1);
    const std::vector<absl::string_view> range = {"ZRANGE", index, first, last};
    absl::StatusOr<RedisReply> batch = client_->Run(index, range);
    reachability_.Track(batch.status());
    if (!batch.ok()) return batch.status();
    if (batch->IsError()) return RedisErrorStatus(*batch);
    if (batch->elements.empty()) return revoked;
    for (const RedisReply& member : batch->elements) {
      const std::string id = member.str.substr(kIndexIdOffset);
      if (std::find(except_ids.begin(), except_ids.end(), id) != except_ids.end()) {
        ++kept;
        continue;
      }
      absl::StatusOr<size_t> ended = RevokeFollowingRotations(principal, id, except_ids);
      if (!ended.ok()) return ended.status();
      revoked += *ended;
      // Ended: its move dropped the entry, unless the move failed; not live: a stale entry.
      if (absl::Status dropped = journal_->DropIndexEntry(principal, member.str); !dropped.ok()) {
        return dropped;
      }
    }
  }
}

absl::StatusOr<size_t> RedisStore::RevokeFollowingRotations(
    absl::string_view principal, std::string id, absl::Span<const std::string> except_ids) {
  size_t revoked = 0;
  for (int hop = 0; hop < kRotateAttempts && !id.empty(); ++hop) {
    if (hop > 0 && std::find(except_ids.begin(), except_ids.end(), id) != except_ids.end()) break;
    absl::StatusOr<RedisReply> reply =
        Eval(RedisEndOfPrincipalScript(), KeysOf(id), clock_->Now(),
             {std::string(principal), absl::StrCat(static_cast<int>(GoneReason::kRevoked))}, true);
    if (!reply.ok()) return reply.status();
    absl::StatusOr<uint64_t> ended = NumberAt(*reply, 1);
    if (!ended.ok()) return ended.status();
    revoked += *ended;
    id = reply->elements.size() > 2 ? reply->elements[2].str : "";
  }
  return revoked;
}

absl::StatusOr<size_t> RedisStore::ClusterSweepExpired() {
  journal_->MoveLeftovers(kJournalScan);
  size_t ended = 0;
  while (true) {
    const absl::Time now = clock_->Now();
    const std::string until = absl::StrCat(absl::ToUnixMillis(now));
    const std::string batch = absl::StrCat(kSweepBatch);
    const std::vector<absl::string_view> due = {"ZRANGEBYSCORE", shared_.deadlines, "-inf", until,
                                                "WITHSCORES",    "LIMIT",           "0",    batch};
    absl::StatusOr<RedisReply> entries = client_->Run(shared_.deadlines, due);
    reachability_.Track(entries.status());
    if (!entries.ok()) return entries.status();
    if (entries->IsError()) return RedisErrorStatus(*entries);
    for (size_t i = 0; i + 1 < entries->elements.size(); i += 2) {
      const std::string& id = entries->elements[i].str;
      const std::string& score = entries->elements[i + 1].str;
      absl::StatusOr<RedisReply> swept = Eval(RedisSweepOneScript(), KeysOf(id), now, {}, true);
      if (!swept.ok()) return swept.status();
      const absl::string_view outcome = OutcomeOf(*swept);
      absl::Status status;
      if (outcome == "ENDED") {
        ++ended;
      } else if (outcome == "LIVE" && swept->elements.size() == 2) {
        const std::vector<absl::string_view> later = {"ZADD", shared_.deadlines,      "XX",
                                                      "GT",   swept->elements[1].str, id};
        status = client_->Run(shared_.deadlines, later, true).status();
      } else {
        status = journal_->DropDeadline(id, score);
      }
      if (!status.ok()) return status;
    }
    if (entries->elements.size() < 2 * static_cast<size_t>(kSweepBatch)) return ended;
  }
}

StoreStats RedisStore::Stats() const {
  StoreStats stats;
  const std::vector<absl::string_view> sessions = {"ZCARD", shared_.deadlines};
  if (absl::StatusOr<RedisReply> count = client_->Run(shared_.deadlines, sessions); count.ok()) {
    stats.live_sessions = static_cast<size_t>(count->integer);
  }
  const std::vector<absl::string_view> indexed = {"GET", shared_.indexed};
  if (absl::StatusOr<RedisReply> count = client_->Run(shared_.indexed, indexed); count.ok()) {
    size_t entries = 0;
    if (absl::SimpleAtoi(count->str, &entries)) stats.principal_index_entries = entries;
  }
  const std::vector<absl::string_view> memory = {"INFO", "memory"};
  if (absl::StatusOr<std::vector<RedisReply>> infos = client_->RunOnEveryPrimary(memory);
      infos.ok()) {
    for (const RedisReply& info : *infos) {
      for (absl::string_view line : absl::StrSplit(info.str, "\r\n")) {
        size_t bytes;
        if (absl::ConsumePrefix(&line, "used_memory:") && absl::SimpleAtoi(line, &bytes)) {
          stats.approximate_bytes += bytes;
        }
      }
    }
  }
  return stats;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenRedisStore(const RedisStoreOptions& options) {
  const bool cluster = options.redis.cluster || options.redis.addresses.size() > 1;
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Connect(options.redis);
  if (!client.ok()) return client.status();
  const RedisSharedKeys shared(options.key_prefix, cluster);
  absl::StatusOr<std::unique_ptr<RedisEventTail>> tail = RedisEventTail::Start(
      client->get(), shared.events, shared.sequence, options.limits.event_retention);
  if (!tail.ok()) return tail.status();
  return std::make_unique<RedisStore>(*std::move(client), options, cluster, *std::move(tail));
}

}  // namespace sessiond::storage
