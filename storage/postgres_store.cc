#include "storage/postgres_store.h"

#include <algorithm>
#include <array>
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
#include "storage/postgres_connection.h"
#include "storage/postgres_schema.h"
#include "storage/reachability.h"
#include "storage/session_codec.h"
#include "storage/session_state.h"

namespace sessiond::storage {
namespace {

// Renewals are written once they move the stored deadline by this much (see the header).
constexpr absl::Duration kRenewalWriteWindow = absl::Seconds(1);
constexpr size_t kRenewalStripes = 64;
constexpr size_t kMaxPendingRenewalsPerStripe = 256;
constexpr int kSweepBatch = 1000;
constexpr int kSweepBatchesPerCall = 10;

// The statements every connection prepares: name, SQL ("{t}" is the sessions table). Rows are
// (idle_expires_at, stub, record).
constexpr std::pair<const char*, const char*> kStatements[] = {
    {"read", "SELECT idle_expires_at, stub, record FROM {t} WHERE id = $1"},
    {"lock", "SELECT idle_expires_at, stub, record FROM {t} WHERE id = $1 FOR UPDATE"},
    // Inserts a row, or replaces one that expired before $5; no row affected: a live one holds
    // the id.
    {"insert",
     "INSERT INTO {t} AS s (id, idle_expires_at, stub, record) VALUES ($1, $2, $3, $4) "
     "ON CONFLICT (id) DO UPDATE SET idle_expires_at = EXCLUDED.idle_expires_at, "
     "stub = EXCLUDED.stub, record = EXCLUDED.record WHERE s.idle_expires_at <= $5"},
    {"update", "UPDATE {t} SET idle_expires_at = $2, stub = $3, record = $4 WHERE id = $1"},
    {"delete", "DELETE FROM {t} WHERE id = $1"},
    {"renew",
     "UPDATE {t} SET idle_expires_at = greatest(idle_expires_at, $2) WHERE id = $1 AND NOT stub"},
    {"sweep",
     "DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE idle_expires_at <= $1 "
     "ORDER BY idle_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING stub"},
    {"stats",
     "SELECT greatest(reltuples, 0)::bigint, pg_total_relation_size(oid) FROM pg_class "
     "WHERE oid = '{t}'::regclass"},
};

int64_t Millis(absl::Time time) { return absl::ToUnixMillis(time); }

// The parameters that store `session` under its id: id, deadline, stub, record.
std::vector<PgParam> RowParams(StoredSession& session) {
  session.indexed_deadline = session.meta.idle_expires_at;
  return {PgParam::Binary(session.meta.id), PgParam::Number(Millis(session.meta.idle_expires_at)),
          PgParam::Text(session.stub ? "t" : "f"), PgParam::Binary(EncodeSession(session))};
}

// An ABORTED status without a Conflict: the transaction is tried again from its start.
absl::Status RetryTransaction() {
  return absl::AbortedError("a concurrent transaction took the row first");
}

bool IsRetryable(const absl::Status& status) {
  return absl::IsAborted(status) && !GetConflict(status).has_value();
}

// An idle-timer renewal held in memory and not written yet.
struct PendingRenewal {
  absl::Time written;  // the idle deadline the row holds
  absl::Time renewed;  // the idle deadline the session has
};

struct RenewalStripe {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, PendingRenewal> renewals ABSL_GUARDED_BY(mu);
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const PostgresStoreOptions& options);
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
  // TODO(issue 13): the principal index, gone reasons and events on this backend.
  absl::StatusOr<SessionPage> ListSessions(absl::string_view, size_t, absl::string_view) override {
    return absl::UnimplementedError("ListSessions is not implemented on this backend yet");
  }
  absl::StatusOr<size_t> RevokeSessions(absl::string_view, absl::Span<const std::string>) override {
    return absl::UnimplementedError("RevokeSessions is not implemented on this backend yet");
  }
  EventLog& Events() override { return events_; }
  absl::StatusOr<size_t> SweepExpired() override;
  StoreStats Stats() const override;
  bool MayBlock() const override { return true; }
  bool AcceptsWrites() const override { return reachability_.reachable(); }

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
  // Runs `body` in a transaction and commits it, trying again from the start (within the call's
  // deadline, at most max_attempts_ times) if it fails with a retryable error.
  absl::Status Transact(Body body);

  RenewalStripe& StripeFor(absl::string_view id) {
    return stripes_[absl::HashOf(id) % kRenewalStripes];
  }
  // The row under `id` (locked with `lock`) with this replica's pending renewal applied, expired
  // or not, or nullopt.
  absl::StatusOr<std::optional<StoredSession>> Load(PgConnection& connection, absl::string_view id,
                                                    bool lock, absl::Time deadline);
  // The unexpired row under `id` at `now`, session or stub, or nullopt.
  absl::StatusOr<std::optional<StoredSession>> LoadUnexpired(PgConnection& connection,
                                                             absl::string_view id, bool lock,
                                                             absl::Time now, absl::Time deadline);
  // The live session `id`; NOT_FOUND if unknown, expired or a stub.
  absl::StatusOr<StoredSession> LoadLive(PgConnection& connection, absl::string_view id, bool lock,
                                         absl::Time now, absl::Time deadline);
  // The live session `id`, renewed at `now` with `renewal`: a Get's or a Touch's work.
  absl::StatusOr<StoredSession> Read(absl::string_view id, Renewal renewal);
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

  Clock* const clock_;
  const SessionLimits limits_;
  EventLog events_{limits_.event_retention};
  const absl::Duration timeout_;
  const int max_attempts_;
  const std::string table_;
  mutable ConnectionPool<PgConnection> pool_;
  std::array<RenewalStripe, kRenewalStripes> stripes_;
  // Runs SELECT 1 each probe_interval; declared last, so it stops first.
  mutable Reachability reachability_;
};

PostgresStore::PostgresStore(const PostgresStoreOptions& options)
    : clock_(options.clock != nullptr ? options.clock : RealClock()),
      limits_(options.limits),
      timeout_(options.timeout),
      max_attempts_(std::max(1, options.max_attempts)),
      table_(SessionsTable(options.table_prefix)),
      pool_(
          options.pool_size,
          [this, target = options.target](absl::Time deadline) { return Open(target, deadline); },
          "PostgreSQL", "--postgres_pool_size"),
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
  for (const auto& [name, sql] : kStatements) {
    if (absl::Status prepared =
            (*connection)->Prepare(name, absl::StrReplaceAll(sql, {{"{t}", table_}}), deadline);
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

absl::Status PostgresStore::Transact(Body body) {
  return WithConnection([&](PgConnection& connection, absl::Time deadline) {
    absl::Status status;
    for (int attempt = 0; attempt < max_attempts_; ++attempt) {
      status = connection.Run("BEGIN", deadline).status();
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
}

absl::StatusOr<std::optional<StoredSession>> PostgresStore::Load(PgConnection& connection,
                                                                 absl::string_view id, bool lock,
                                                                 absl::Time deadline) {
  absl::StatusOr<PgResult> row =
      connection.RunPrepared(lock ? "lock" : "read", {PgParam::Binary(std::string(id))}, deadline);
  if (!row.ok()) return row.status();
  if (row->rows() == 0) return std::nullopt;
  absl::StatusOr<StoredSession> session = DecodeSession(id, row->Bytes(0, 2));
  if (!session.ok()) return session.status();
  session->meta.idle_expires_at = absl::FromUnixMillis(row->Int64(0, 0));
  session->indexed_deadline = session->meta.idle_expires_at;
  if (!session->stub) {
    RenewalStripe& stripe = StripeFor(id);
    absl::MutexLock stripe_lock(&stripe.mu);
    if (const auto pending = stripe.renewals.find(id); pending != stripe.renewals.end()) {
      session->meta.idle_expires_at =
          std::max(session->meta.idle_expires_at, pending->second.renewed);
    }
  }
  return *std::move(session);
}

absl::StatusOr<std::optional<StoredSession>> PostgresStore::LoadUnexpired(PgConnection& connection,
                                                                          absl::string_view id,
                                                                          bool lock, absl::Time now,
                                                                          absl::Time deadline) {
  absl::StatusOr<std::optional<StoredSession>> session = Load(connection, id, lock, deadline);
  if (session.ok() && session->has_value() && (*session)->meta.idle_expires_at <= now) {
    return std::nullopt;
  }
  return session;
}

absl::StatusOr<StoredSession> PostgresStore::LoadLive(PgConnection& connection,
                                                      absl::string_view id, bool lock,
                                                      absl::Time now, absl::Time deadline) {
  absl::StatusOr<std::optional<StoredSession>> session =
      LoadUnexpired(connection, id, lock, now, deadline);
  if (!session.ok()) return session.status();
  if (!session->has_value() || (*session)->stub) return SessionNotFoundError();
  return **std::move(session);
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
    return absl::OkStatus();
  }
  absl::StatusOr<PgResult> renewed = connection.RunPrepared(
      "renew",
      {PgParam::Binary(session.meta.id), PgParam::Number(Millis(session.meta.idle_expires_at))},
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
        absl::StatusOr<PgResult> renewed = connection.RunPrepared(
            "renew", {PgParam::Binary(id), PgParam::Number(Millis(renewal.renewed))}, deadline);
        if (!renewed.ok()) return renewed.status();
      }
      return absl::OkStatus();
    });
  }
}

absl::StatusOr<StoredSession> PostgresStore::Read(absl::string_view id, Renewal renewal) {
  const absl::Time now = clock_->Now();
  std::optional<StoredSession> live;
  absl::Status status = WithConnection([&](PgConnection& connection, absl::Time deadline) {
    absl::StatusOr<StoredSession> session = LoadLive(connection, id, false, now, deadline);
    if (!session.ok()) return session.status();
    live = *std::move(session);
    if (renewal == Renewal::kNoRenew) return absl::OkStatus();
    return RenewAndMaybeWrite(connection, *live, now, deadline);
  });
  if (!status.ok()) return status;
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
                  absl::Trunc(request.idle_timeout, absl::Milliseconds(1))},
      *std::move(state)};
  RenewStored(session.meta, now);
  const std::string stub_key =
      request.request_id.empty() ? std::string() : CreateStubKey(request.request_id);

  // A Create with a request_id inserts a stub under CreateStubKey in the same transaction, so of
  // concurrent attempts of one request one creates and the others find its stub.
  std::string replay_id;
  const absl::Status status = Transact([&](PgConnection& connection, absl::Time deadline) {
    replay_id.clear();
    if (!stub_key.empty()) {
      absl::StatusOr<std::optional<StoredSession>> stub =
          LoadUnexpired(connection, stub_key, true, now, deadline);
      if (!stub.ok()) return stub.status();
      if (stub->has_value()) {
        replay_id = (*stub)->successor;
        return absl::OkStatus();
      }
    }
    std::vector<PgParam> params = RowParams(session);
    params.push_back(PgParam::Number(Millis(now)));
    absl::StatusOr<PgResult> inserted = connection.RunPrepared("insert", params, deadline);
    if (!inserted.ok()) return inserted.status();
    if (inserted->affected() == 0) return absl::AlreadyExistsError("a session with this id exists");
    if (stub_key.empty()) return absl::OkStatus();
    StoredSession stub =
        MakeStub(stub_key, session.meta.id, session.meta.version, request.request_id, now, limits_);
    std::vector<PgParam> stub_params = RowParams(stub);
    stub_params.push_back(PgParam::Number(Millis(now)));
    absl::StatusOr<PgResult> filed = connection.RunPrepared("insert", stub_params, deadline);
    if (!filed.ok()) return filed.status();
    return filed->affected() == 0 ? RetryTransaction() : absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!replay_id.empty()) return Peek(replay_id);
  DropRenewal(session.meta.id);
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
  const absl::Status status = Transact([&](PgConnection& connection, absl::Time deadline) {
    wrote = false;
    absl::StatusOr<StoredSession> session = LoadLive(connection, id, true, now, deadline);
    if (!session.ok()) return session.status();
    StoredSession& live = *session;
    if (std::optional<uint64_t> version = live.state.FindRequest(conditions.request_id, now)) {
      result = live.meta;
      result.version = *version;
      return absl::OkStatus();
    }
    absl::StatusOr<SessionState::Plan> plan = live.state.Check(mutations, conditions, limits_);
    if (!plan.ok()) return plan.status();
    if (!plan->changes && conditions.request_id.empty()) {
      result = live.meta;
      absl::Status renewed = RenewAndMaybeWrite(connection, live, now, deadline);
      result = live.meta;
      return renewed;
    }
    // The transaction may be tried again: commit a copy of the batch.
    live.state.Commit(mutations, *plan, limits_);
    if (!conditions.request_id.empty()) {
      live.state.RecordRequest(conditions.request_id, now, limits_);
    }
    live.meta.version = live.state.version();
    RenewStored(live.meta, now);
    absl::StatusOr<PgResult> updated = connection.RunPrepared("update", RowParams(live), deadline);
    if (!updated.ok()) return updated.status();
    wrote = true;
    result = live.meta;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (wrote) DropRenewal(id);
  return result;
}

absl::StatusOr<bool> PostgresStore::Delete(absl::string_view id, std::optional<uint64_t> if_version,
                                           absl::string_view request_id) {
  const absl::Time now = clock_->Now();
  bool deleted = false;
  const absl::Status status = Transact([&](PgConnection& connection, absl::Time deadline) {
    deleted = false;
    absl::StatusOr<std::optional<StoredSession>> session =
        LoadUnexpired(connection, id, true, now, deadline);
    if (!session.ok()) return session.status();
    if (!session->has_value()) return absl::OkStatus();
    const StoredSession& live = **session;
    if (live.stub) {
      deleted = live.state.FindRequest(request_id, now).has_value();
      return absl::OkStatus();
    }
    if (absl::Status status = live.state.CheckIfVersion(if_version); !status.ok()) return status;
    absl::StatusOr<PgResult> written = absl::InternalError("unset");
    if (request_id.empty()) {
      written = connection.RunPrepared("delete", {PgParam::Binary(std::string(id))}, deadline);
    } else {
      StoredSession stub = MakeStub(std::string(id), "", live.state.version(),
                                    std::string(request_id), now, limits_);
      written = connection.RunPrepared("update", RowParams(stub), deadline);
    }
    if (!written.ok()) return written.status();
    deleted = true;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  DropRenewal(id);
  return deleted;
}

absl::StatusOr<SessionMeta> PostgresStore::Rotate(
    absl::string_view id, std::string new_id, std::optional<uint64_t> if_version,
    absl::string_view request_id, const std::optional<std::string>& bind_principal) {
  if (bind_principal.has_value()) {
    return absl::UnimplementedError(
        "binding a principal at rotation is not implemented on this backend yet");
  }
  const absl::Time now = clock_->Now();
  std::string replay_id;
  SessionMeta result;
  const absl::Status status = Transact([&](PgConnection& connection, absl::Time deadline) {
    replay_id.clear();
    absl::StatusOr<std::optional<StoredSession>> session =
        LoadUnexpired(connection, id, true, now, deadline);
    if (!session.ok()) return session.status();
    if (!session->has_value()) return SessionNotFoundError();
    StoredSession& live = **session;
    if (live.stub) {
      if (live.successor.empty() || !live.state.FindRequest(request_id, now).has_value()) {
        return SessionNotFoundError();
      }
      replay_id = live.successor;
      return absl::OkStatus();
    }
    if (absl::Status status = live.state.CheckIfVersion(if_version); !status.ok()) return status;
    absl::StatusOr<std::optional<StoredSession>> taken =
        LoadUnexpired(connection, new_id, true, now, deadline);
    if (!taken.ok()) return taken.status();
    if (taken->has_value()) return absl::AlreadyExistsError("a session with the new id exists");

    live.meta.id = new_id;
    live.state.BumpVersion();
    live.meta.version = live.state.version();
    RenewStored(live.meta, now);
    std::vector<PgParam> params = RowParams(live);
    params.push_back(PgParam::Number(Millis(now)));
    absl::StatusOr<PgResult> placed = connection.RunPrepared("insert", params, deadline);
    if (!placed.ok()) return placed.status();
    if (placed->affected() == 0) return RetryTransaction();
    absl::StatusOr<PgResult> ended = absl::InternalError("unset");
    if (request_id.empty()) {
      ended = connection.RunPrepared("delete", {PgParam::Binary(std::string(id))}, deadline);
    } else {
      StoredSession stub = MakeStub(std::string(id), live.meta.id, live.meta.version,
                                    std::string(request_id), now, limits_);
      ended = connection.RunPrepared("update", RowParams(stub), deadline);
    }
    if (!ended.ok()) return ended.status();
    result = live.meta;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!replay_id.empty()) return Peek(replay_id);
  DropRenewal(id);
  DropRenewal(result.id);
  return result;
}

absl::StatusOr<size_t> PostgresStore::SweepExpired() {
  // Renewals held here are written first, so that this sweep never reclaims a session this
  // replica renewed.
  FlushRenewals();
  const absl::Time now = clock_->Now();
  size_t expired = 0;
  for (int batch = 0; batch < kSweepBatchesPerCall; ++batch) {
    int deleted = 0;
    const absl::Status status = WithConnection([&](PgConnection& connection, absl::Time deadline) {
      absl::StatusOr<PgResult> swept = connection.RunPrepared(
          "sweep", {PgParam::Number(Millis(now)), PgParam::Number(kSweepBatch)}, deadline);
      if (!swept.ok()) return swept.status();
      deleted = swept->rows();
      for (int row = 0; row < deleted; ++row) {
        if (!swept->Bool(row, 0)) ++expired;
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    if (deleted < kSweepBatch) break;
  }
  return expired;
}

StoreStats PostgresStore::Stats() const {
  StoreStats stats;
  (void)WithConnection([&](PgConnection& connection, absl::Time deadline) {
    absl::StatusOr<PgResult> sizes = connection.RunPrepared("stats", {}, deadline);
    if (!sizes.ok()) return sizes.status();
    if (sizes->rows() == 1) {
      stats.live_sessions = static_cast<size_t>(sizes->Int64(0, 0));
      stats.approximate_bytes = static_cast<size_t>(sizes->Int64(0, 1));
    }
    return absl::OkStatus();
  });
  return stats;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options) {
  if (absl::Status valid = ValidateDsn(options.target.dsn); !valid.ok()) return valid;
  if (absl::Status valid = ValidateTablePrefix(options.table_prefix); !valid.ok()) return valid;
  const absl::Time deadline = absl::Now() + std::max(options.timeout, absl::Seconds(10));
  absl::StatusOr<std::unique_ptr<PgConnection>> connection =
      PgConnection::Connect(options.target, deadline);
  if (!connection.ok()) return connection.status();
  if (absl::Status migrated = MigratePostgresSchema(**connection, options.table_prefix, deadline);
      !migrated.ok()) {
    return migrated;
  }
  return std::make_unique<PostgresStore>(options);
}

}  // namespace sessiond::storage
