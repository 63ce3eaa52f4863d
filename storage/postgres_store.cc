#include "storage/postgres_store.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "storage/conflict.h"
#include "storage/connection_pool.h"
#include "storage/page_token.h"
#include "storage/postgres_connection.h"
#include "storage/postgres_event_tail.h"
#include "storage/postgres_live_cap.h"
#include "storage/postgres_row_write.h"
#include "storage/postgres_schema.h"
#include "storage/reachability.h"
#include "storage/session_codec.h"
#include "storage/session_event.h"
#include "storage/session_gone.h"
#include "storage/session_state.h"

namespace sessiond::storage {
namespace {

// Renewals are written once they move the stored deadline by this much (see the header).
constexpr absl::Duration kRenewalWriteWindow = absl::Seconds(1);
constexpr size_t kRenewalStripes = 64;
constexpr size_t kMaxPendingRenewalsPerStripe = 256;
// Rows a sweep ends per transaction, and transactions per SweepExpired call.
constexpr int kSweepBatch = 500;
constexpr int kSweepBatchesPerCall = 20;
// Sessions RevokeSessions ends per transaction.
constexpr int kRevokeBatch = 500;

// The columns every statement that reads sessions returns, in this order.
constexpr absl::string_view kColumns = "id, idle_expires_at, stub, record, last_access_at";

// The statements every connection prepares: name, SQL ("{t}" is the sessions table, "{p}" the
// table prefix, "{c}" kColumns).
constexpr std::pair<const char*, const char*> kStatements[] = {
    {"read", "SELECT {c} FROM {t} WHERE id = $1"},
    {"lock", "SELECT {c} FROM {t} WHERE id = $1 FOR UPDATE"},
    {"write", kPgWriteSql},
    {"renew",
     "UPDATE {t} SET idle_expires_at = greatest(idle_expires_at, $2), "
     "last_access_at = greatest(last_access_at, $3) WHERE id = $1 AND NOT stub"},
    // Rows due at $1 (sessions and stubs), locked; rows another sweeper holds are left to it.
    {"due",
     "SELECT {c} FROM {t} WHERE idle_expires_at <= $1 ORDER BY idle_expires_at LIMIT $2 "
     "FOR UPDATE SKIP LOCKED"},
    // A principal's sessions (the principal index), locked.
    {"members", "SELECT {c} FROM {t} WHERE principal = $1 ORDER BY id FOR UPDATE"},
    {"revoke",
     "SELECT {c} FROM {t} WHERE principal = $1 AND NOT (id = ANY($2::bytea[])) ORDER BY id "
     "LIMIT $3 FOR UPDATE"},
    // A page of a principal's sessions after the cursor ($2 created ms, $3 id), newest first.
    {"list",
     "SELECT {c} FROM {t} WHERE principal = $1 AND (created_at, id) < ($2::int8, $3::bytea) "
     "ORDER BY created_at DESC, id DESC LIMIT $4"},
    {"trim",
     "DELETE FROM {p}events WHERE sequence <= (SELECT last FROM {p}event_sequence) - $1::int8"},
    {"stats",
     "SELECT greatest(reltuples, 0)::bigint, pg_total_relation_size(oid), "
     "(SELECT count(*) FROM {t} WHERE principal IS NOT NULL) FROM pg_class "
     "WHERE oid = '{t}'::regclass"},
};

int64_t Millis(absl::Time time) { return absl::ToUnixMillis(time); }

bool IsRetryable(const absl::Status& status) {
  return absl::IsAborted(status) && !GetConflict(status).has_value();
}

// The spaces of advisory lock names: principals (their cap) and tenants' id prefixes (LiveCap).
constexpr char kPrincipalLocks = '\0';
constexpr char kLiveCapLocks = '\1';

// The advisory lock key of `name` in lock space `space` of the tables of `prefix`: FNV-1a (64
// bits) of the three, the same in every replica and build. Two names sharing a key only wait for
// each other.
int64_t LockKey(absl::string_view prefix, char space, absl::string_view name) {
  uint64_t hash = 14695981039346656037u;
  const auto mix = [&hash](absl::string_view bytes) {
    for (char byte : bytes) {
      hash ^= static_cast<uint8_t>(byte);
      hash *= 1099511628211u;
    }
  };
  mix(prefix);
  mix(absl::string_view(&space, 1));
  mix(name);
  return static_cast<int64_t>(hash);
}

// Whether `session` (a row as loaded) is a live session at `now`.
bool IsLive(const StoredSession& session, absl::Time now) {
  return !session.stub && session.meta.idle_expires_at > now;
}

// An idle-timer renewal held in memory and not written yet.
struct PendingRenewal {
  absl::Time written;      // the idle deadline the row holds
  absl::Time renewed;      // the idle deadline the session has
  absl::Time last_access;  // the session's last use
};

struct RenewalStripe {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, PendingRenewal> renewals ABSL_GUARDED_BY(mu);
};

class PostgresStore final : public Store {
 public:
  PostgresStore(const PostgresStoreOptions& options, std::unique_ptr<PgEventTail> tail);
  ~PostgresStore() override;

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
  bool CapsLiveSessions() const override { return true; }

 private:
  // What a call does on its leased connection, by the call's deadline.
  using Body = absl::FunctionRef<absl::Status(PgConnection&, absl::Time deadline)>;

  // A new connection to `target`, with statement_timeout set and the statements prepared.
  absl::StatusOr<std::unique_ptr<PgConnection>> Open(const PgTarget& target,
                                                     absl::Time deadline) const;
  // Runs `body` on a pooled connection, outside a transaction (single statements).
  absl::Status RunOnConnection(Body body) const;
  // RunOnConnection, with its outcome counted for health.
  absl::Status WithConnection(Body body) const;
  // Runs `body` in a transaction that first takes the advisory locks of `keys` (LockKey; sent
  // with BEGIN, in one round trip), and commits it, trying again from the start (within the call's
  // deadline, at most max_attempts_ times) if it fails with a retryable error. Once committed,
  // has this replica's event tail read the events it may have appended.
  absl::Status Transact(std::vector<int64_t> keys, Body body);

  RenewalStripe& StripeFor(absl::string_view id) {
    return stripes_[absl::HashOf(id) % kRenewalStripes];
  }
  // The session or stub in row `row` of `rows` (kColumns), with this replica's pending renewal
  // applied.
  absl::StatusOr<StoredSession> RowSession(const PgResult& rows, int row);
  // The row under `id` (locked with `lock`) as RowSession gives it, expired or not, or nullopt.
  absl::StatusOr<std::optional<StoredSession>> Load(PgConnection& connection, absl::string_view id,
                                                    bool lock, absl::Time deadline);
  // The NOT_FOUND for an id whose row at `now` is `row` (none, a stub, or an expired session):
  // SessionGoneError within the gone retention when the reason is known, else
  // SessionNotFoundError.
  absl::Status GoneStatus(const std::optional<StoredSession>& row, absl::Time now) const;
  // The live session `id`, or GoneStatus. Sets `*found_expired` if the row is a session that
  // expired and has not ended yet (the caller then ends it with EndIfExpired, after its own
  // transaction).
  absl::StatusOr<StoredSession> LoadLive(PgConnection& connection, absl::string_view id, bool lock,
                                         absl::Time now, absl::Time deadline, bool* found_expired);
  // Ends session `id` as expired (its event, its stub) if it still is an expired session that has
  // not ended, in a transaction of its own: a call found it so before the sweeper. Best effort: if
  // it fails, the sweeper ends it.
  void EndIfExpired(absl::string_view id);
  // The live session `id`, renewed at `now` with `renewal`: a Get's or a Touch's work.
  absl::StatusOr<StoredSession> Read(absl::string_view id, Renewal renewal);
  // A renewal that is an event (SessionLimits::record_touches): written at once with it.
  absl::StatusOr<StoredSession> RenewWithEvent(absl::string_view id);
  // The live session `id` as it is, without renewing it: a retry's answer.
  absl::StatusOr<SessionMeta> Peek(absl::string_view id);
  // Renews `session` at `now`: holds the renewal in memory or, once it moves the stored deadline
  // by kRenewalWriteWindow or more (or too many are held), writes it.
  absl::Status RenewAndMaybeWrite(PgConnection& connection, StoredSession& session, absl::Time now,
                                  absl::Time deadline);
  // Forgets the pending renewal of `id` (a write superseded it).
  void DropRenewal(absl::string_view id);
  // Writes every pending renewal (before a sweep, and on close).
  void FlushRenewals();
  // Runs "write" for `write` at `now`; its outcome (PgRowWrite::Outcome).
  absl::Status Write(PgConnection& connection, const PgRowWrite& write, absl::Time now,
                     absl::Time deadline);
  // Adds to `write` the end of the live `session` as `gone` at `now`: its event (a rotation's is
  // the caller's) and a stub under its id for the idempotency window of `request_id` (if any) and
  // the gone retention, whichever is longer, or the row's deletion if both are zero.
  void End(PgRowWrite& write, const StoredSession& session, GoneDetails gone, std::string successor,
           absl::string_view request_id, absl::Time now) const;
  // End for an expired `session`: expired idle or absolute, at its idle deadline.
  void EndExpired(PgRowWrite& write, const StoredSession& session, absl::Time now) const;
  // Adds to `write` what makes room for one more session of `principal` under the cap, whose
  // advisory lock the transaction holds: RESOURCE_EXHAUSTED under kRejectNew, else the ends of
  // its least recently used sessions (their ids in `evicted`).
  absl::Status MakeRoom(PgConnection& connection, const std::string& principal, absl::Time now,
                        absl::Time deadline, PgRowWrite& write, std::vector<std::string>& evicted);
  // Ends up to kRevokeBatch sessions of `principal` not in `except` (one transaction); adds how
  // many it revoked to `*revoked` and sets `*more` if there may be others.
  absl::Status RevokeBatch(const std::string& principal, const PgParam& except, size_t* revoked,
                           bool* more);
  // Ends up to kSweepBatch due rows at `now` (one transaction); adds the sessions it ended to
  // `*expired` and sets `*more` if the batch was full.
  absl::Status SweepBatch(absl::Time now, size_t* expired, bool* more);

  Clock* const clock_;
  const SessionLimits limits_;
  const absl::Duration timeout_;
  const int max_attempts_;
  const std::string prefix_;
  const std::string table_;
  const bool capped_;
  mutable ConnectionPool<PgConnection> pool_;
  std::array<RenewalStripe, kRenewalStripes> stripes_;
  const std::unique_ptr<PgEventTail> tail_;
  // Runs SELECT 1 each probe_interval; declared last, so it stops first.
  mutable Reachability reachability_;
};

PostgresStore::PostgresStore(const PostgresStoreOptions& options, std::unique_ptr<PgEventTail> tail)
    : clock_(options.clock != nullptr ? options.clock : RealClock()),
      limits_(options.limits),
      timeout_(options.timeout),
      max_attempts_(std::max(1, options.max_attempts)),
      prefix_(options.table_prefix),
      table_(SessionsTable(options.table_prefix)),
      capped_(options.limits.max_sessions_per_principal != 0),
      pool_(
          options.pool_size,
          [this, target = options.target](absl::Time deadline) { return Open(target, deadline); },
          "PostgreSQL", "--postgres_pool_size"),
      tail_(std::move(tail)),
      reachability_(options.unhealthy_after, options.probe_interval, [this] {
        return RunOnConnection([](PgConnection& connection, absl::Time deadline) {
          return connection.Run("SELECT 1", deadline).status();
        });
      }) {}

PostgresStore::~PostgresStore() { FlushRenewals(); }

absl::StatusOr<std::unique_ptr<PgConnection>> PostgresStore::Open(const PgTarget& target,
                                                                  absl::Time deadline) const {
  absl::StatusOr<std::unique_ptr<PgConnection>> connection =
      PgConnection::Connect(target, deadline);
  if (!connection.ok()) return connection;
  absl::StatusOr<PgResult> set =
      (*connection)
          ->Run(absl::StrCat("SET statement_timeout = ", absl::ToInt64Milliseconds(timeout_)),
                deadline);
  if (!set.ok()) return set.status();
  std::vector<std::pair<const char*, const char*>> statements(std::begin(kStatements),
                                                              std::end(kStatements));
  statements.insert(statements.end(), std::begin(kPgLiveCapStatements),
                    std::end(kPgLiveCapStatements));
  for (const auto& [name, sql] : statements) {
    if (absl::Status prepared =
            (*connection)
                ->Prepare(name,
                          absl::StrReplaceAll(
                              sql, {{"{c}", kColumns}, {"{t}", table_}, {"{p}", prefix_}}),
                          deadline);
        !prepared.ok()) {
      return prepared;
    }
  }
  return connection;
}

absl::Status PostgresStore::RunOnConnection(Body body) const {
  const absl::Time deadline = absl::Now() + timeout_;
  absl::StatusOr<ConnectionPool<PgConnection>::Lease> connection = pool_.Acquire(deadline);
  return connection.ok() ? body(**connection, deadline) : connection.status();
}

absl::Status PostgresStore::WithConnection(Body body) const {
  absl::Status status = RunOnConnection(body);
  reachability_.Track(status);
  return status;
}

absl::Status PostgresStore::Transact(std::vector<int64_t> keys, Body body) {
  // In one order, so two transactions never wait for each other's locks.
  std::sort(keys.begin(), keys.end());
  std::string begin = "BEGIN";
  for (int64_t key : keys) absl::StrAppend(&begin, "; SELECT pg_advisory_xact_lock(", key, ")");
  const absl::Status status = WithConnection([&](PgConnection& connection, absl::Time deadline) {
    absl::Status status;
    for (int attempt = 0; attempt < max_attempts_; ++attempt) {
      status = connection.Run(begin, deadline).status();
      if (status.ok()) status = body(connection, deadline);
      if (status.ok()) {
        status = connection.Run("COMMIT", deadline).status();
      } else if (!connection.broken()) {
        (void)connection.Run("ROLLBACK", deadline);
      }
      if (!IsRetryable(status) || connection.broken()) return status;
    }
    return absl::UnavailableError(
        absl::StrCat("PostgreSQL reported a conflict with concurrent transactions (serialization "
                     "failure or deadlock) on each of ",
                     max_attempts_, " attempts; retry: ", status.message()));
  });
  if (status.ok()) tail_->Poke();
  return status;
}

absl::StatusOr<StoredSession> PostgresStore::RowSession(const PgResult& rows, int row) {
  const absl::string_view id = rows.Bytes(row, 0);
  absl::StatusOr<StoredSession> session = DecodeSession(id, rows.Bytes(row, 3));
  if (!session.ok()) return session.status();
  session->meta.idle_expires_at = absl::FromUnixMillis(rows.Int64(row, 1));
  session->indexed_deadline = session->meta.idle_expires_at;
  if (!rows.IsNull(row, 4)) {
    session->meta.last_access_at =
        std::max(session->meta.last_access_at, absl::FromUnixMillis(rows.Int64(row, 4)));
  }
  if (!session->stub) {
    RenewalStripe& stripe = StripeFor(id);
    absl::MutexLock stripe_lock(&stripe.mu);
    if (const auto pending = stripe.renewals.find(id); pending != stripe.renewals.end()) {
      session->meta.idle_expires_at =
          std::max(session->meta.idle_expires_at, pending->second.renewed);
      session->meta.last_access_at =
          std::max(session->meta.last_access_at, pending->second.last_access);
    }
  }
  return session;
}

absl::StatusOr<std::optional<StoredSession>> PostgresStore::Load(PgConnection& connection,
                                                                 absl::string_view id, bool lock,
                                                                 absl::Time deadline) {
  absl::StatusOr<PgResult> row =
      connection.RunPrepared(lock ? "lock" : "read", {PgParam::Binary(std::string(id))}, deadline);
  if (!row.ok()) return row.status();
  if (row->rows() == 0) return std::nullopt;
  absl::StatusOr<StoredSession> session = RowSession(*row, 0);
  if (!session.ok()) return session.status();
  return *std::move(session);
}

absl::Status PostgresStore::GoneStatus(const std::optional<StoredSession>& row,
                                       absl::Time now) const {
  if (!row.has_value()) return SessionNotFoundError();
  if (row->stub) {
    if (row->meta.idle_expires_at <= now || row->gone.reason == GoneReason::kUnknown) {
      return SessionNotFoundError();
    }
    return SessionGoneError(row->gone);
  }
  const SessionMeta& meta = row->meta;
  if (now >= meta.idle_expires_at + limits_.gone_retention) return SessionNotFoundError();
  return SessionGoneError(GoneDetails{ExpiryReason(meta.idle_expires_at, meta.absolute_expires_at),
                                      meta.idle_expires_at});
}

absl::StatusOr<StoredSession> PostgresStore::LoadLive(PgConnection& connection,
                                                      absl::string_view id, bool lock,
                                                      absl::Time now, absl::Time deadline,
                                                      bool* found_expired) {
  absl::StatusOr<std::optional<StoredSession>> row = Load(connection, id, lock, deadline);
  if (!row.ok()) return row.status();
  *found_expired = row->has_value() && !(*row)->stub && !IsLive(**row, now);
  if (!row->has_value() || !IsLive(**row, now)) return GoneStatus(*row, now);
  return **std::move(row);
}

void PostgresStore::EndIfExpired(absl::string_view id) {
  const absl::Time now = clock_->Now();
  const absl::Status status = Transact({}, [&](PgConnection& connection, absl::Time deadline) {
    absl::StatusOr<std::optional<StoredSession>> row = Load(connection, id, true, deadline);
    if (!row.ok()) return row.status();
    if (!row->has_value() || (*row)->stub || IsLive(**row, now)) return absl::OkStatus();
    PgRowWrite write;
    EndExpired(write, **row, now);
    return Write(connection, write, now, deadline);
  });
  if (status.ok()) DropRenewal(id);
}

absl::Status PostgresStore::RenewAndMaybeWrite(PgConnection& connection, StoredSession& session,
                                               absl::Time now, absl::Time deadline) {
  RenewalStripe& stripe = StripeFor(session.meta.id);
  absl::Time written = session.indexed_deadline;
  bool room;
  {
    absl::MutexLock lock(&stripe.mu);
    const auto pending = stripe.renewals.find(session.meta.id);
    if (pending != stripe.renewals.end()) written = std::max(written, pending->second.written);
    room =
        pending != stripe.renewals.end() || stripe.renewals.size() < kMaxPendingRenewalsPerStripe;
  }
  RenewStored(session.meta, now);
  if (session.meta.idle_expires_at - written < kRenewalWriteWindow && room) {
    absl::MutexLock lock(&stripe.mu);
    PendingRenewal& pending = stripe.renewals[session.meta.id];
    pending.written = written;
    pending.renewed = std::max(pending.renewed, session.meta.idle_expires_at);
    pending.last_access = std::max(pending.last_access, session.meta.last_access_at);
    return absl::OkStatus();
  }
  absl::StatusOr<PgResult> renewed = connection.RunPrepared(
      "renew",
      {PgParam::Binary(session.meta.id), PgParam::Number(Millis(session.meta.idle_expires_at)),
       PgParam::Number(Millis(session.meta.last_access_at))},
      deadline);
  if (!renewed.ok()) return renewed.status();
  DropRenewal(session.meta.id);
  return absl::OkStatus();
}

void PostgresStore::DropRenewal(absl::string_view id) {
  RenewalStripe& stripe = StripeFor(id);
  absl::MutexLock lock(&stripe.mu);
  stripe.renewals.erase(id);
}

void PostgresStore::FlushRenewals() {
  for (RenewalStripe& stripe : stripes_) {
    absl::flat_hash_map<std::string, PendingRenewal> renewals;
    {
      absl::MutexLock lock(&stripe.mu);
      renewals.swap(stripe.renewals);
    }
    if (renewals.empty()) continue;
    (void)WithConnection([&](PgConnection& connection, absl::Time deadline) {
      for (const auto& [id, renewal] : renewals) {
        absl::StatusOr<PgResult> renewed =
            connection.RunPrepared("renew",
                                   {PgParam::Binary(id), PgParam::Number(Millis(renewal.renewed)),
                                    PgParam::Number(Millis(renewal.last_access))},
                                   deadline);
        if (!renewed.ok()) return renewed.status();
      }
      return absl::OkStatus();
    });
  }
}

absl::Status PostgresStore::Write(PgConnection& connection, const PgRowWrite& write, absl::Time now,
                                  absl::Time deadline) {
  absl::StatusOr<PgResult> written = connection.RunPrepared("write", write.Params(now), deadline);
  if (!written.ok()) return written.status();
  if (written->rows() != 1) return absl::InternalError("the write statement returned no row");
  return write.Outcome(written->Int64(0, 0), written->Int64(0, 1));
}

void PostgresStore::End(PgRowWrite& write, const StoredSession& session, GoneDetails gone,
                        std::string successor, absl::string_view request_id, absl::Time now) const {
  if (gone.reason != GoneReason::kRotated) {
    write.Record(EndedEvent(session.meta, gone.reason, gone.ended_at));
  }
  const absl::Duration idempotency =
      request_id.empty() ? absl::ZeroDuration() : limits_.idempotency_window;
  const absl::Duration keep = std::max(idempotency, limits_.gone_retention);
  if (keep <= absl::ZeroDuration()) {
    write.Remove(session.meta.id);
    return;
  }
  StoredSession stub = MakeStubUntil(session.meta.id, std::move(successor), session.meta.version,
                                     std::string(request_id), gone, now, now + keep, limits_);
  write.Place(stub, /*fresh=*/false);
}

void PostgresStore::EndExpired(PgRowWrite& write, const StoredSession& session,
                               absl::Time now) const {
  const SessionMeta& meta = session.meta;
  End(write, session,
      GoneDetails{ExpiryReason(meta.idle_expires_at, meta.absolute_expires_at),
                  meta.idle_expires_at},
      "", "", now);
}

absl::Status PostgresStore::MakeRoom(PgConnection& connection, const std::string& principal,
                                     absl::Time now, absl::Time deadline, PgRowWrite& write,
                                     std::vector<std::string>& evicted) {
  absl::StatusOr<PgResult> rows =
      connection.RunPrepared("members", {PgParam::Binary(principal)}, deadline);
  if (!rows.ok()) return rows.status();
  std::vector<StoredSession> members;
  for (int row = 0; row < rows->rows(); ++row) {
    absl::StatusOr<StoredSession> member = RowSession(*rows, row);
    if (!member.ok()) return member.status();
    // An expired member no longer counts; the sweeper ends it.
    if (IsLive(*member, now)) members.push_back(*std::move(member));
  }
  const size_t cap = limits_.max_sessions_per_principal;
  if (members.size() < cap) return absl::OkStatus();
  if (limits_.principal_cap_policy == PrincipalCapPolicy::kRejectNew) {
    return PrincipalCapError(limits_);
  }
  std::stable_sort(members.begin(), members.end(),
                   [](const StoredSession& a, const StoredSession& b) {
                     return a.meta.last_access_at < b.meta.last_access_at;
                   });
  for (size_t i = 0; i + cap <= members.size(); ++i) {
    End(write, members[i], GoneDetails{GoneReason::kEvicted, now}, "", "", now);
    evicted.push_back(members[i].meta.id);
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredSession> PostgresStore::Read(absl::string_view id, Renewal renewal) {
  if (renewal == Renewal::kRenew && limits_.record_touches) return RenewWithEvent(id);
  const absl::Time now = clock_->Now();
  std::optional<StoredSession> live;
  bool found_expired = false;
  absl::Status status = WithConnection([&](PgConnection& connection, absl::Time deadline) {
    absl::StatusOr<StoredSession> session =
        LoadLive(connection, id, false, now, deadline, &found_expired);
    if (!session.ok()) return session.status();
    live = *std::move(session);
    if (renewal == Renewal::kNoRenew) return absl::OkStatus();
    return RenewAndMaybeWrite(connection, *live, now, deadline);
  });
  if (found_expired) EndIfExpired(id);
  if (!status.ok()) return status;
  return *std::move(live);
}

absl::StatusOr<StoredSession> PostgresStore::RenewWithEvent(absl::string_view id) {
  const absl::Time now = clock_->Now();
  std::optional<StoredSession> live;
  bool found_expired = false;
  const absl::Status status = Transact({}, [&](PgConnection& connection, absl::Time deadline) {
    absl::StatusOr<StoredSession> session =
        LoadLive(connection, id, true, now, deadline, &found_expired);
    if (!session.ok()) return session.status();
    live = *std::move(session);
    RenewStored(live->meta, now);
    PgRowWrite write;
    write.Place(*live, /*fresh=*/false);
    write.Record(EventOf(SessionEvent::Kind::kTouched, live->meta, now));
    return Write(connection, write, now, deadline);
  });
  if (found_expired) EndIfExpired(id);
  if (!status.ok()) return status;
  DropRenewal(id);
  return *std::move(live);
}

absl::StatusOr<SessionMeta> PostgresStore::Peek(absl::string_view id) {
  absl::StatusOr<StoredSession> session = Read(id, Renewal::kNoRenew);
  if (!session.ok()) return session.status();
  return session->meta;
}

absl::StatusOr<SessionMeta> PostgresStore::Create(NewSession request) {
  absl::StatusOr<SessionState> state = SessionState::Create(std::move(request.entries), limits_);
  if (!state.ok()) return state.status();
  const absl::Time now = TruncateToMillis(clock_->Now());
  StoredSession session{
      SessionMeta{std::move(request.id), std::move(request.principal), state->version(), now, now,
                  TruncateToMillis(now + request.absolute_timeout),
                  absl::Trunc(request.idle_timeout, absl::Milliseconds(1)), now,
                  std::move(request.labels)},
      *std::move(state)};
  RenewStored(session.meta, now);
  const std::string stub_key =
      request.request_id.empty() ? std::string() : CreateStubKey(request.request_id);
  // Under the caps, the principal's and the tenant's advisory locks keep their counts true until
  // the commit.
  const bool capped = capped_ && !session.meta.principal.empty();
  const LiveCap& live_cap = request.live_cap;
  std::vector<int64_t> locks;
  if (capped) locks.push_back(LockKey(prefix_, kPrincipalLocks, session.meta.principal));
  if (live_cap.max != 0) locks.push_back(LockKey(prefix_, kLiveCapLocks, live_cap.id_prefix));

  // A Create with a request_id files a stub under CreateStubKey in the same transaction, so of
  // concurrent attempts of one request one creates and the others find its stub.
  std::string replay_id;
  std::vector<std::string> evicted;
  const absl::Status status = Transact(locks, [&](PgConnection& connection, absl::Time deadline) {
    replay_id.clear();
    evicted.clear();
    if (!stub_key.empty()) {
      absl::StatusOr<std::optional<StoredSession>> stub =
          Load(connection, stub_key, true, deadline);
      if (!stub.ok()) return stub.status();
      if (stub->has_value() && (*stub)->meta.idle_expires_at > now) {
        replay_id = (*stub)->successor;
        return absl::OkStatus();
      }
    }
    // A session stays counted until its stored deadline is kRenewalWriteWindow past: a renewal a
    // replica holds (see the header) may keep it live until then.
    if (live_cap.max != 0) {
      if (absl::Status room =
              PgCheckLiveCap(connection, live_cap, now - kRenewalWriteWindow, deadline);
          !room.ok()) {
        return room;
      }
    }
    PgRowWrite write;
    if (capped) {
      if (absl::Status room =
              MakeRoom(connection, session.meta.principal, now, deadline, write, evicted);
          !room.ok()) {
        return room;
      }
    }
    write.Place(session, /*fresh=*/true);
    write.Record(EventOf(SessionEvent::Kind::kCreated, session.meta, now));
    if (!stub_key.empty()) {
      StoredSession stub = MakeStub(stub_key, session.meta.id, session.meta.version,
                                    request.request_id, now, limits_);
      write.Place(stub, /*fresh=*/true);
    }
    return Write(connection, write, now, deadline);
  });
  if (!status.ok()) return status;
  if (!replay_id.empty()) return Peek(replay_id);
  DropRenewal(session.meta.id);
  for (const std::string& id : evicted) DropRenewal(id);
  return session.meta;
}

absl::StatusOr<SessionMeta> PostgresStore::Get(absl::string_view id,
                                               absl::Span<const absl::string_view> keys,
                                               Renewal renewal, EntryVisitor visit) {
  absl::StatusOr<StoredSession> session = Read(id, renewal);
  if (!session.ok()) return session.status();
  session->state.Visit(keys, visit);
  return session->meta;
}

absl::StatusOr<SessionMeta> PostgresStore::Touch(absl::string_view id) {
  absl::StatusOr<StoredSession> session = Read(id, Renewal::kRenew);
  if (!session.ok()) return session.status();
  return session->meta;
}

absl::StatusOr<SessionMeta> PostgresStore::Apply(absl::string_view id,
                                                 std::vector<Mutation> mutations,
                                                 const Conditions& conditions) {
  const absl::Time now = clock_->Now();
  SessionMeta result;
  bool wrote = false;
  bool found_expired = false;
  const absl::Status status = Transact({}, [&](PgConnection& connection, absl::Time deadline) {
    wrote = false;
    absl::StatusOr<StoredSession> session =
        LoadLive(connection, id, true, now, deadline, &found_expired);
    if (!session.ok()) return session.status();
    StoredSession& live = *session;
    if (std::optional<uint64_t> version = live.state.FindRequest(conditions.request_id, now)) {
      result = live.meta;
      result.version = *version;
      return absl::OkStatus();
    }
    absl::StatusOr<SessionState::Plan> plan = live.state.Check(mutations, conditions, limits_);
    if (!plan.ok()) return plan.status();
    if (!plan->changes && conditions.request_id.empty() && !limits_.record_touches) {
      absl::Status renewed = RenewAndMaybeWrite(connection, live, now, deadline);
      result = live.meta;
      return renewed;
    }
    PgRowWrite write;
    std::optional<SessionEvent> event;
    if (plan->changes) event = UpdatedEvent(live.meta, mutations);
    // The transaction may be tried again: commit a copy of the batch.
    live.state.Commit(mutations, *plan, limits_);
    if (!conditions.request_id.empty()) {
      live.state.RecordRequest(conditions.request_id, now, limits_);
    }
    live.meta.version = live.state.version();
    RenewStored(live.meta, now);
    if (event.has_value()) {
      event->version = live.meta.version;
      event->at = now;
    } else if (limits_.record_touches) {
      event = EventOf(SessionEvent::Kind::kTouched, live.meta, now);
    }
    if (event.has_value()) write.Record(*std::move(event));
    write.Place(live, /*fresh=*/false);
    if (absl::Status written = Write(connection, write, now, deadline); !written.ok()) {
      return written;
    }
    wrote = true;
    result = live.meta;
    return absl::OkStatus();
  });
  if (found_expired) EndIfExpired(id);
  if (!status.ok()) return status;
  if (wrote) DropRenewal(id);
  return result;
}

absl::StatusOr<bool> PostgresStore::Delete(absl::string_view id, std::optional<uint64_t> if_version,
                                           absl::string_view request_id) {
  const absl::Time now = clock_->Now();
  bool deleted = false;
  bool found_expired = false;
  const absl::Status status = Transact({}, [&](PgConnection& connection, absl::Time deadline) {
    deleted = false;
    absl::StatusOr<std::optional<StoredSession>> row = Load(connection, id, true, deadline);
    if (!row.ok()) return row.status();
    if (!row->has_value() || (*row)->meta.idle_expires_at <= now) {
      found_expired = row->has_value() && !(*row)->stub;
      return absl::OkStatus();
    }
    const StoredSession& live = **row;
    if (live.stub) {
      deleted = live.state.FindRequest(request_id, now).has_value();
      return absl::OkStatus();
    }
    if (absl::Status status = live.state.CheckIfVersion(if_version); !status.ok()) return status;
    PgRowWrite write;
    End(write, live, GoneDetails{GoneReason::kDeleted, now}, "", request_id, now);
    if (absl::Status written = Write(connection, write, now, deadline); !written.ok()) {
      return written;
    }
    deleted = true;
    return absl::OkStatus();
  });
  if (found_expired) EndIfExpired(id);
  if (!status.ok()) return status;
  DropRenewal(id);
  return deleted;
}

absl::StatusOr<SessionMeta> PostgresStore::Rotate(
    absl::string_view id, std::string new_id, std::optional<uint64_t> if_version,
    absl::string_view request_id, const std::optional<std::string>& bind_principal) {
  const absl::Time now = clock_->Now();
  // Binding under the cap counts the bound principal's sessions under its advisory lock.
  const bool capped = capped_ && bind_principal.has_value() && !bind_principal->empty();
  std::vector<int64_t> locks;
  if (capped) locks.push_back(LockKey(prefix_, kPrincipalLocks, *bind_principal));
  std::string replay_id;
  std::vector<std::string> evicted;
  SessionMeta result;
  bool found_expired = false;
  const absl::Status status = Transact(locks, [&](PgConnection& connection, absl::Time deadline) {
    replay_id.clear();
    evicted.clear();
    absl::StatusOr<std::optional<StoredSession>> row = Load(connection, id, true, deadline);
    if (!row.ok()) return row.status();
    if (!row->has_value() || !IsLive(**row, now)) {
      const std::optional<StoredSession>& stub = *row;
      found_expired = stub.has_value() && !stub->stub;
      if (stub.has_value() && stub->stub && stub->meta.idle_expires_at > now &&
          !stub->successor.empty() && stub->state.FindRequest(request_id, now).has_value()) {
        replay_id = stub->successor;
        return absl::OkStatus();
      }
      return GoneStatus(*row, now);
    }
    StoredSession& live = **row;
    if (absl::Status status = live.state.CheckIfVersion(if_version); !status.ok()) return status;
    const bool rebinds = bind_principal.has_value() && *bind_principal != live.meta.principal;
    PgRowWrite write;
    if (rebinds && capped) {
      if (absl::Status room = MakeRoom(connection, *bind_principal, now, deadline, write, evicted);
          !room.ok()) {
        return room;
      }
    }
    const std::string old_id = live.meta.id;
    End(write, live, GoneDetails{GoneReason::kRotated, now}, new_id, request_id, now);
    live.meta.id = new_id;
    if (rebinds) live.meta.principal = *bind_principal;
    live.state.BumpVersion();
    live.meta.version = live.state.version();
    RenewStored(live.meta, now);
    write.Place(live, /*fresh=*/true);
    SessionEvent event = EventOf(SessionEvent::Kind::kRotated, live.meta, now);
    event.id = old_id;
    event.new_id = new_id;
    write.Record(std::move(event));
    if (absl::Status written = Write(connection, write, now, deadline); !written.ok()) {
      return written;
    }
    result = live.meta;
    return absl::OkStatus();
  });
  if (found_expired) EndIfExpired(id);
  if (!status.ok()) return status;
  if (!replay_id.empty()) return Peek(replay_id);
  DropRenewal(id);
  DropRenewal(result.id);
  for (const std::string& victim : evicted) DropRenewal(victim);
  return result;
}

absl::StatusOr<SessionPage> PostgresStore::ListSessions(absl::string_view principal,
                                                        size_t page_size,
                                                        absl::string_view page_token) {
  // Where the next row is read from: after (created ms, id), from the newest without a token.
  int64_t after_created = std::numeric_limits<int64_t>::max();
  std::string after_id;
  if (!page_token.empty()) {
    absl::StatusOr<PageCursor> cursor = DecodePageToken(page_token);
    if (!cursor.ok()) return cursor.status();
    after_created = Millis(cursor->created_at);
    after_id = cursor->id;
  }
  const absl::Time now = clock_->Now();
  const int64_t limit = static_cast<int64_t>(std::min<size_t>(page_size, 1'000'000)) + 1;
  SessionPage page;
  // Reads a page (and one row) at a time, skipping sessions that expired and are not swept yet,
  // until the page is full with a row after it, or the principal's rows run out.
  bool done = false;
  while (!done) {
    const absl::Status status = WithConnection([&](PgConnection& connection, absl::Time deadline) {
      absl::StatusOr<PgResult> rows = connection.RunPrepared(
          "list",
          {PgParam::Binary(std::string(principal)), PgParam::Number(after_created),
           PgParam::Binary(after_id), PgParam::Number(limit)},
          deadline);
      if (!rows.ok()) return rows.status();
      done = rows->rows() < limit;
      for (int row = 0; row < rows->rows(); ++row) {
        if (page.sessions.size() == page_size) {
          const SessionMeta& last = page.sessions.back();
          page.next_page_token = EncodePageToken(PageCursor{last.created_at, last.id});
          done = true;
          return absl::OkStatus();
        }
        absl::StatusOr<StoredSession> session = RowSession(*rows, row);
        if (!session.ok()) return session.status();
        after_created = Millis(session->meta.created_at);
        after_id = session->meta.id;
        if (IsLive(*session, now)) page.sessions.push_back(std::move(session->meta));
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
  }
  return page;
}

absl::StatusOr<size_t> PostgresStore::RevokeSessions(absl::string_view principal,
                                                     absl::Span<const std::string> except_ids) {
  const std::string owner(principal);
  const PgParam except = PgParam::ByteaArray(
      std::vector<std::optional<std::string>>(except_ids.begin(), except_ids.end()));
  size_t revoked = 0;
  // Batch after batch until one finds nothing more: each batch ends every session it selects (the
  // rows leave the index), and the last one, started after the others committed, also finds a
  // session that joined the principal meanwhile (a rotation that bound it).
  for (bool more = true; more;) {
    if (absl::Status status = RevokeBatch(owner, except, &revoked, &more); !status.ok()) {
      return status;
    }
  }
  return revoked;
}

absl::Status PostgresStore::RevokeBatch(const std::string& principal, const PgParam& except,
                                        size_t* revoked, bool* more) {
  const absl::Time now = clock_->Now();
  std::vector<std::string> ended;
  size_t batch_revoked = 0;
  const absl::Status status = Transact({}, [&](PgConnection& connection, absl::Time deadline) {
    ended.clear();
    batch_revoked = 0;
    absl::StatusOr<PgResult> rows = connection.RunPrepared(
        "revoke", {PgParam::Binary(principal), except, PgParam::Number(kRevokeBatch)}, deadline);
    if (!rows.ok()) return rows.status();
    PgRowWrite write;
    for (int row = 0; row < rows->rows(); ++row) {
      absl::StatusOr<StoredSession> session = RowSession(*rows, row);
      if (!session.ok()) return session.status();
      // One that expired unswept ends as the expiry it is; it is not counted.
      if (IsLive(*session, now)) {
        End(write, *session, GoneDetails{GoneReason::kRevoked, now}, "", "", now);
        ++batch_revoked;
      } else {
        EndExpired(write, *session, now);
      }
      ended.push_back(session->meta.id);
    }
    if (write.empty()) return absl::OkStatus();
    return Write(connection, write, now, deadline);
  });
  if (!status.ok()) return status;
  for (const std::string& id : ended) DropRenewal(id);
  *revoked += batch_revoked;
  *more = !ended.empty();
  return absl::OkStatus();
}

absl::StatusOr<size_t> PostgresStore::SweepExpired() {
  // Renewals held here are written first, so that this sweep never reclaims a session this
  // replica renewed.
  FlushRenewals();
  const absl::Time now = clock_->Now();
  size_t expired = 0;
  for (int batch = 0; batch < kSweepBatchesPerCall; ++batch) {
    bool more = false;
    if (absl::Status status = SweepBatch(now, &expired, &more); !status.ok()) return status;
    if (!more) break;
  }
  // The events the retention no longer keeps.
  const absl::Status trimmed = WithConnection([&](PgConnection& connection, absl::Time deadline) {
    return connection
        .RunPrepared("trim", {PgParam::Number(static_cast<int64_t>(limits_.event_retention))},
                     deadline)
        .status();
  });
  if (!trimmed.ok()) return trimmed;
  return expired;
}

absl::Status PostgresStore::SweepBatch(absl::Time now, size_t* expired, bool* more) {
  std::vector<std::string> ended;
  const absl::Status status = Transact({}, [&](PgConnection& connection, absl::Time deadline) {
    ended.clear();
    absl::StatusOr<PgResult> rows = connection.RunPrepared(
        "due", {PgParam::Number(Millis(now)), PgParam::Number(kSweepBatch)}, deadline);
    if (!rows.ok()) return rows.status();
    *more = rows->rows() == kSweepBatch;
    PgRowWrite write;
    for (int row = 0; row < rows->rows(); ++row) {
      absl::StatusOr<StoredSession> session = RowSession(*rows, row);
      if (!session.ok()) return session.status();
      const SessionMeta& meta = session->meta;
      // A session renewed here since the flush is left for a later sweep.
      if (meta.idle_expires_at > now) continue;
      if (session->stub) {
        write.Remove(meta.id);
        continue;
      }
      EndExpired(write, *session, now);
      ended.push_back(meta.id);
    }
    if (write.empty()) return absl::OkStatus();
    return Write(connection, write, now, deadline);
  });
  if (!status.ok()) return status;
  for (const std::string& id : ended) DropRenewal(id);
  *expired += ended.size();
  return absl::OkStatus();
}

StoreStats PostgresStore::Stats() const {
  StoreStats stats;
  (void)WithConnection([&](PgConnection& connection, absl::Time deadline) {
    absl::StatusOr<PgResult> sizes = connection.RunPrepared("stats", {}, deadline);
    if (!sizes.ok()) return sizes.status();
    if (sizes->rows() == 1) {
      stats.live_sessions = static_cast<size_t>(sizes->Int64(0, 0));
      stats.approximate_bytes = static_cast<size_t>(sizes->Int64(0, 1));
      stats.principal_index_entries = static_cast<size_t>(sizes->Int64(0, 2));
    }
    return absl::OkStatus();
  });
  return stats;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options) {
  if (absl::Status valid = ValidateDsn(options.target.dsn); !valid.ok()) return valid;
  if (absl::Status valid = ValidateTablePrefix(options.table_prefix); !valid.ok()) return valid;
  const absl::Duration open_timeout = std::max(options.timeout, absl::Seconds(10));
  const absl::Time deadline = absl::Now() + open_timeout;
  absl::StatusOr<std::unique_ptr<PgConnection>> connection =
      PgConnection::Connect(options.target, deadline);
  if (!connection.ok()) return connection.status();
  if (absl::Status migrated = MigratePostgresSchema(**connection, options.table_prefix, deadline);
      !migrated.ok()) {
    return migrated;
  }
  absl::StatusOr<std::unique_ptr<PgEventTail>> tail = PgEventTail::Start(
      options.target, options.table_prefix, options.limits.event_retention, options.timeout);
  if (!tail.ok()) return tail.status();
  return std::make_unique<PostgresStore>(options, *std::move(tail));
}

}  // namespace sessiond::storage
