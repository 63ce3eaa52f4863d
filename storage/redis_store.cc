#include "storage/redis_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "storage/reachability.h"
#include "storage/redis_scripts.h"
#include "storage/session_state.h"

namespace sessiond::storage {
namespace {

constexpr int kRotateAttempts = 5;
// How long a rotation holds a session (changes to it wait): longer than a rotation's three round
// trips take, short enough that a replica dying mid-rotation delays writers only that long.
constexpr absl::Duration kRotationLease = absl::Seconds(2);

// The three keys of a session (redis_scripts.h), sharing the hash tag {id}.
struct SessionKeys {
  std::string main;
  std::string tombstones;
  std::string requests;
};

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

// The metadata an "OK" reply carries in elements 1..6.
absl::StatusOr<SessionMeta> ParseMeta(const RedisReply& reply, absl::string_view id) {
  uint64_t numbers[5];
  for (size_t i = 0; i < 5; ++i) {
    absl::StatusOr<uint64_t> number = NumberAt(reply, i + 1);
    if (!number.ok()) return number.status();
    numbers[i] = *number;
  }
  absl::StatusOr<const RedisReply*> principal = Element(reply, 6);
  if (!principal.ok()) return principal.status();
  SessionMeta meta;
  meta.id = std::string(id);
  meta.version = numbers[0];
  meta.created_at = absl::FromUnixMillis(static_cast<int64_t>(numbers[1]));
  meta.idle_expires_at = absl::FromUnixMillis(static_cast<int64_t>(numbers[2]));
  meta.absolute_expires_at = absl::FromUnixMillis(static_cast<int64_t>(numbers[3]));
  meta.idle_timeout = absl::Milliseconds(static_cast<int64_t>(numbers[4]));
  meta.principal = (*principal)->str;
  return meta;
}

// The status of a reply whose outcome is not "OK": the Store's error for it. `if_version` and
// `read_version` are the call's conditions, for the messages.
absl::Status FailureOf(const RedisReply& reply, std::optional<uint64_t> if_version,
                       std::optional<uint64_t> read_version, const SessionLimits& limits) {
  const absl::string_view outcome = OutcomeOf(reply);
  if (outcome == "NOT_FOUND") return SessionNotFoundError();
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
    return CheckSessionLimits(sizes[0], sizes[1], sizes[2], sizes[3], limits);
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

std::string OptionalNumber(std::optional<uint64_t> number) {
  return number.has_value() ? absl::StrCat(*number) : std::string();
}

class RedisStore final : public Store {
 public:
  RedisStore(std::unique_ptr<RedisClient> client, const RedisStoreOptions& options)
      : client_(std::move(client)),
        prefix_(options.key_prefix),
        clock_(options.clock != nullptr ? options.clock : RealClock()),
        limits_(options.limits),
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
  // TODO(issue 13): the principal index, gone reasons and events on this backend.
  absl::StatusOr<SessionPage> ListSessions(absl::string_view, size_t, absl::string_view) override {
    return absl::UnimplementedError("ListSessions is not implemented on this backend yet");
  }
  absl::StatusOr<size_t> RevokeSessions(absl::string_view, absl::Span<const std::string>) override {
    return absl::UnimplementedError("RevokeSessions is not implemented on this backend yet");
  }
  EventLog& Events() override { return events_; }
  absl::StatusOr<size_t> SweepExpired() override { return 0; }
  StoreStats Stats() const override;
  bool MayBlock() const override { return true; }
  bool AcceptsWrites() const override { return reachability_.reachable(); }

 private:
  SessionKeys KeysOf(absl::string_view id) const {
    std::string main = absl::StrCat(prefix_, ":{", id, "}");
    return {main, absl::StrCat(main, ":t"), absl::StrCat(main, ":r")};
  }

  // Runs `script` on `keys` with ARGV = now (ms), then `args`; on NOSCRIPT sends the source
  // (which also caches it). A Redis error reply becomes its status (RedisErrorStatus). `write`:
  // WAIT for replicas if configured.
  absl::StatusOr<RedisReply> Eval(const RedisScript& script, const SessionKeys& keys,
                                  absl::Time now, const std::vector<std::string>& args, bool write);
  // Eval with the clock's time, again (after 1 ms, doubling to 64 ms) while the script answers
  // MOVING: a rotation holds the session for a few round trips. UNAVAILABLE if it still does
  // after the rotation lease.
  absl::StatusOr<RedisReply> EvalUnlessMoving(const RedisScript& script, const SessionKeys& keys,
                                              const std::vector<std::string>& args);
  // The live session `id` as it is, without renewing it: a retry's answer.
  absl::StatusOr<SessionMeta> Peek(absl::string_view id);
  // One rotation attempt: the three steps, or an error; nullopt if the old session changed
  // between the steps (the copy is gone again).
  absl::StatusOr<std::optional<SessionMeta>> TryRotate(absl::string_view id,
                                                       const std::string& new_id,
                                                       std::optional<uint64_t> if_version,
                                                       absl::string_view request_id);

  std::unique_ptr<RedisClient> client_;
  const std::string prefix_;
  Clock* const clock_;
  const SessionLimits limits_;
  EventLog events_{limits_.event_retention};
  // PINGs every primary each probe_interval; declared last, so it stops first.
  Reachability reachability_;
};

absl::StatusOr<RedisReply> RedisStore::Eval(const RedisScript& script, const SessionKeys& keys,
                                            absl::Time now, const std::vector<std::string>& args,
                                            bool write) {
  const std::string now_ms = absl::StrCat(absl::ToUnixMillis(now));
  std::vector<absl::string_view> command = {"EVALSHA",       script.sha1,   "3",   keys.main,
                                            keys.tombstones, keys.requests, now_ms};
  command.insert(command.end(), args.begin(), args.end());
  absl::StatusOr<RedisReply> reply = client_->Run(keys.main, command, write);
  if (reply.ok() && reply->IsErrorStartingWith("NOSCRIPT")) {
    command[0] = "EVAL";
    command[1] = script.body;
    reply = client_->Run(keys.main, command, write);
  }
  reachability_.Track(reply.status());
  if (reply.ok() && reply->IsError()) return RedisErrorStatus(*reply);
  return reply;
}

absl::StatusOr<RedisReply> RedisStore::EvalUnlessMoving(const RedisScript& script,
                                                        const SessionKeys& keys,
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
  std::vector<std::string> args = {
      absl::StrCat(Millis(session.idle_timeout)), absl::StrCat(Millis(session.absolute_timeout)),
      session.principal, absl::StrCat(state->key_count()), absl::StrCat(state->data_bytes())};
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
  absl::StatusOr<RedisReply> reply = Eval(RedisCreateScript(), KeysOf(session.id), now, args, true);
  absl::StatusOr<SessionMeta> meta = !reply.ok() ? reply.status()
                                     : OutcomeOf(*reply) == "OK"
                                         ? ParseMeta(*reply, session.id)
                                         : FailureOf(*reply, {}, {}, limits_);
  if (!meta.ok() && !claim.empty()) {
    // Not created: a retry must run afresh. Best effort; the claim expires with the window anyway.
    (void)Eval(RedisReleaseClaimScript(), {claim, claim, claim}, now, {session.id}, false);
  }
  return meta;
}

absl::StatusOr<SessionMeta> RedisStore::Get(absl::string_view id,
                                            absl::Span<const absl::string_view> keys,
                                            Renewal renewal, EntryVisitor visit) {
  std::vector<std::string> args = {renewal == Renewal::kRenew ? "get" : "peek"};
  for (absl::string_view key : keys) args.emplace_back(key);
  absl::StatusOr<RedisReply> reply =
      Eval(RedisGetScript(), KeysOf(id), clock_->Now(), args, renewal == Renewal::kRenew);
  if (!reply.ok()) return reply.status();
  if (OutcomeOf(*reply) != "OK") return FailureOf(*reply, {}, {}, limits_);
  absl::StatusOr<SessionMeta> meta = ParseMeta(*reply, id);
  if (!meta.ok()) return meta.status();
  // Entries come in hash order, a key twice if it was asked twice: visit them sorted, once each.
  std::vector<std::pair<absl::string_view, ValueView>> entries;
  for (size_t i = 7; i + 1 < reply->elements.size(); i += 2) {
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
  std::vector<std::string> args = {absl::StrCat(Millis(limits_.idempotency_window)),
                                   absl::StrCat(limits_.max_keys),
                                   absl::StrCat(limits_.max_session_bytes),
                                   absl::StrCat(limits_.max_request_ids),
                                   OptionalNumber(conditions.if_version),
                                   OptionalNumber(conditions.read_version),
                                   conditions.request_id};
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
    return FailureOf(*reply, conditions.if_version, conditions.read_version, limits_);
  }
  return ParseMeta(*reply, id);
}

absl::StatusOr<SessionMeta> RedisStore::Touch(absl::string_view id) {
  absl::StatusOr<RedisReply> reply =
      Eval(RedisGetScript(), KeysOf(id), clock_->Now(), {"touch"}, true);
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
  if (bind_principal.has_value()) {
    return absl::UnimplementedError(
        "binding a principal at rotation is not implemented on this backend yet");
  }
  for (int attempt = 0; attempt < kRotateAttempts; ++attempt) {
    absl::StatusOr<std::optional<SessionMeta>> rotated =
        TryRotate(id, new_id, if_version, request_id);
    if (!rotated.ok()) return rotated.status();
    if (rotated->has_value()) return **rotated;
  }
  return absl::UnavailableError(absl::StrCat("the session changed during each of ", kRotateAttempts,
                                             " rotation attempts; retry"));
}

absl::StatusOr<std::optional<SessionMeta>> RedisStore::TryRotate(absl::string_view id,
                                                                 const std::string& new_id,
                                                                 std::optional<uint64_t> if_version,
                                                                 absl::string_view request_id) {
  const SessionKeys old_keys = KeysOf(id);
  const SessionKeys new_keys = KeysOf(new_id);
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
  std::vector<std::string> copy = {absl::StrCat(main.size()), absl::StrCat(tombstones.size())};
  for (const auto* part : {&main, &tombstones, &requests}) {
    for (const RedisReply& field : *part) copy.push_back(field.str);
  }
  std::vector<std::string> end = {version, std::string(request_id), new_id,
                                  absl::StrCat(Millis(limits_.idempotency_window)), "commit"};
  absl::StatusOr<RedisReply> placed =
      Eval(RedisRotatePlaceScript(), new_keys, clock_->Now(), copy, true);
  absl::StatusOr<SessionMeta> meta =
      !placed.ok()                 ? placed.status()
      : OutcomeOf(*placed) == "OK" ? ParseMeta(*placed, new_id)
      : OutcomeOf(*placed) == "ALREADY_EXISTS"
          ? absl::AlreadyExistsError("a session with the new id exists")
          : FailureOf(*placed, {}, {}, limits_);
  if (!meta.ok()) {
    // No copy: give the lease back so that writers need not wait for it to run out.
    end.back() = "abort";
    (void)Eval(RedisRotateEndScript(), old_keys, clock_->Now(), end, false);
    return meta.status();
  }

  absl::StatusOr<RedisReply> ended =
      Eval(RedisRotateEndScript(), old_keys, clock_->Now(), end, true);
  if (ended.ok() && OutcomeOf(*ended) == "OK") return std::optional<SessionMeta>(*std::move(meta));
  // The old session changed or ended after step 1, or step 3 failed: the copy must not live on.
  const std::vector<absl::string_view> discard = {"DEL", new_keys.main, new_keys.tombstones,
                                                  new_keys.requests};
  absl::StatusOr<RedisReply> discarded = client_->Run(new_keys.main, discard, true);
  if (!ended.ok()) return ended.status();
  if (!discarded.ok()) return discarded.status();
  return std::optional<SessionMeta>();
}

StoreStats RedisStore::Stats() const {
  StoreStats stats;
  const std::vector<absl::string_view> dbsize = {"DBSIZE"};
  if (absl::StatusOr<std::vector<RedisReply>> sizes = client_->RunOnEveryPrimary(dbsize);
      sizes.ok()) {
    for (const RedisReply& size : *sizes) stats.live_sessions += static_cast<size_t>(size.integer);
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
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Connect(options.redis);
  if (!client.ok()) return client.status();
  return std::make_unique<RedisStore>(*std::move(client), options);
}

}  // namespace sessiond::storage
