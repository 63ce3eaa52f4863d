#include "storage/rocksdb_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/sst_file_manager.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "storage/conflict.h"
#include "storage/disk_guard.h"
#include "storage/lock_pair.h"
#include "storage/rocksdb_file_system.h"
#include "storage/rocksdb_logger.h"
#include "storage/rocksdb_status.h"
#include "storage/session_codec.h"

namespace sessiond::storage {
namespace {

constexpr char kExpiryFamily[] = "expiry";
constexpr size_t kLockStripes = 512;
// Renewals of the idle timer are written once they move the stored deadline by this much; until
// then they are held in memory. A crash can thus shorten a session by less than this.
constexpr absl::Duration kRenewalWriteWindow = absl::Seconds(1);
// How many renewals one lock stripe holds in memory at most; beyond, renewals are written at once.
constexpr size_t kMaxPendingRenewalsPerStripe = 256;
// How many expiry entries one sweep examines at most (the rest wait for the next sweep).
constexpr size_t kSweepBatch = 10'000;
// How far behind the last sweep's time the next sweep starts looking.
constexpr absl::Duration kSweepBoundMargin = absl::Seconds(10);
// How often a store stopped by a write error tries to resume.
constexpr absl::Duration kResumeInterval = absl::Seconds(1);

// The expiry index key: the deadline in ms, big-endian so keys sort by time, then the id.
std::string ExpiryKey(absl::Time deadline, absl::string_view id) {
  const uint64_t millis = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(deadline)));
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(millis >> (56 - 8 * i));
  key.append(id.data(), id.size());
  return key;
}

// The inverse of ExpiryKey (for keys of at least 8 bytes).
std::pair<absl::Time, absl::string_view> ParseExpiryKey(absl::string_view key) {
  uint64_t millis = 0;
  for (int i = 0; i < 8; ++i) millis = (millis << 8) | static_cast<uint8_t>(key[i]);
  return {absl::FromUnixMillis(static_cast<int64_t>(millis)), key.substr(8)};
}

rocksdb::Slice ToSlice(absl::string_view view) { return rocksdb::Slice(view.data(), view.size()); }

// An open database and its two column families (sessions, expiry).
struct Database {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  bool read_only = false;
};

// Opens the database at `path`, for writing or (`read_only`) for reading only.
absl::StatusOr<Database> OpenDatabase(const std::string& path, const rocksdb::Options& db_options,
                                      bool read_only) {
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(db_options)},
      {kExpiryFamily, rocksdb::ColumnFamilyOptions(db_options)}};
  Database database{.read_only = read_only};
  rocksdb::DB* raw = nullptr;
  const rocksdb::DBOptions options(db_options);
  const rocksdb::Status status =
      read_only ? rocksdb::DB::OpenForReadOnly(options, path, descriptors, &database.families, &raw)
                : rocksdb::DB::Open(options, path, descriptors, &database.families, &raw);
  if (!status.ok()) {
    return FromRocksDbStatus(status, absl::StrCat("opening the store at ", path));
  }
  database.db.reset(raw);
  return database;
}

// Closes `database`.
void CloseDatabase(Database& database) {
  for (rocksdb::ColumnFamilyHandle* family : database.families) {
    database.db->DestroyColumnFamilyHandle(family);
  }
  database.db->Close();
}

// The free space opening the database for writing needs: replaying the WAL (at most two memtables
// per column family, which may be flushed), a new MANIFEST, OPTIONS and WAL.
uint64_t MinFreeBytesToOpen(const rocksdb::Options& db_options) {
  return DiskGuard::kBallastBytes + 2 * uint64_t{db_options.write_buffer_size};
}

// An idle-timer renewal held in memory and not written yet.
struct PendingRenewal {
  absl::Time written;  // the idle deadline the stored record holds
  absl::Time renewed;  // the idle deadline the session has
};

// A lock stripe: serialises the calls on the sessions whose ids hash to it, and holds their
// pending renewals. Every write of a session drops its pending renewal (the write supersedes it).
struct Stripe {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, PendingRenewal> renewals ABSL_GUARDED_BY(mu);
};

class RocksDbStore final : public Store {
 public:
  RocksDbStore(const RocksDbStoreOptions& options, std::unique_ptr<DiskGuard> disk_guard,
               std::unique_ptr<rocksdb::Env> env, rocksdb::Options db_options, Database database);
  ~RocksDbStore() override;

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
  // Sync-mode writes wait for fsync; async mode only hands its writes to the OS.
  bool MayBlock() const override { return durability_ == Durability::kSync; }
  bool AcceptsWrites() const override { return !read_only_; }

 private:
  Stripe& StripeFor(absl::string_view id) { return stripes_[absl::HashOf(id) % kLockStripes]; }
  // The stored session `id` with its pending renewal applied, expired or not, or nullopt if there
  // is none.
  absl::StatusOr<std::optional<StoredSession>> LoadStored(Stripe& stripe, absl::string_view id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // The unexpired record under `id` at `now`, session or stub, or nullopt.
  absl::StatusOr<std::optional<StoredSession>> LoadUnexpired(Stripe& stripe, absl::string_view id,
                                                             absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // The live session `id`; NOT_FOUND if it is unknown, expired at `now` or a stub.
  absl::StatusOr<StoredSession> Load(Stripe& stripe, absl::string_view id, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // The live session `id` as it is, without renewing it: a retry's answer. NOT_FOUND if none.
  absl::StatusOr<SessionMeta> Peek(absl::string_view id);
  // Adds to `batch` the write that stores `session` (its index entry is left as it is).
  void Put(rocksdb::WriteBatch& batch, const StoredSession& session);
  // Adds to `batch` the writes that store a new `session` and file it under its idle deadline.
  void PutAndFile(rocksdb::WriteBatch& batch, StoredSession& session);
  // Adds to `batch` the deletes that remove `session` and its index entry.
  void Erase(rocksdb::WriteBatch& batch, const StoredSession& session);
  // How a write is made durable and admitted.
  enum class WriteKind {
    kChange,   // a change acknowledged to a client: fsynced under Durability::kSync
    kRemoval,  // a Delete: the same, and it frees space, so it may use part of the disk reserve
    kRenewal,  // an idle-timer renewal: never fsynced
    kReclaim,  // the sweeper removing expired sessions: never fsynced, frees space
  };
  // Writes `batch` as `kind` says, if the disk guard admits it.
  absl::Status Write(rocksdb::WriteBatch& batch, WriteKind kind);
  // Renews `session` at `now`: holds the renewal in `stripe` or, once it moves the stored deadline
  // by kRenewalWriteWindow or more (or the stripe holds too many), writes it.
  absl::Status RenewAndMaybeWrite(Stripe& stripe, StoredSession& session, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // Writes the renewals `stripe` holds (on close, so that a clean restart loses none).
  void FlushRenewals(Stripe& stripe) ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // After a failed write: asks RocksDB to resume writing, at most once per kResumeInterval.
  void MaybeResume();
  // Counts an undecodable record the sweeper deleted (`why` says what was wrong); logs the first.
  void CountUndecodable(const absl::Status& why);
  // If the database is open read only and there is now room to open it for writing, does so.
  // Returns whether it is open for writing.
  bool MaybeReopenForWriting() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sweep_mu_);
  // Puts `writable` in place of the read-only database and returns that one, holding every
  // stripe's lock (in array order, as LockPair takes two) and db_mu_ meanwhile. The analysis cannot
  // follow a loop of locks, hence the exemption.
  Database SwapDatabase(Database writable)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sweep_mu_) ABSL_NO_THREAD_SAFETY_ANALYSIS;

  Clock* const clock_;
  const SessionLimits limits_;
  EventLog events_{limits_.event_retention};
  const Durability durability_;
  // The guard and the Env (whose file system releases the guard's ballast) outlive the database.
  const std::unique_ptr<DiskGuard> disk_guard_;
  const std::unique_ptr<rocksdb::Env> env_;
  const std::string path_;
  const rocksdb::Options db_options_;
  // The database. A store opened read only (on a disk too full to open it for writing) reopens it
  // for writing once there is room: these change then, with sweep_mu_, every stripe's lock and
  // db_mu_ held, so holding any one of those (as every method does) keeps them stable.
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* sessions_;
  rocksdb::ColumnFamilyHandle* expiry_;
  std::atomic<bool> read_only_;
  mutable absl::Mutex db_mu_;
  std::array<Stripe, kLockStripes> stripes_;
  // Everything in the expiry index before this key has been swept.
  absl::Mutex sweep_mu_;
  std::string swept_until_ ABSL_GUARDED_BY(sweep_mu_);
  absl::Mutex resume_mu_;
  absl::Time last_resume_ ABSL_GUARDED_BY(resume_mu_) = absl::InfinitePast();
  std::atomic<size_t> undecodable_records_deleted_{0};
};

RocksDbStore::RocksDbStore(const RocksDbStoreOptions& options,
                           std::unique_ptr<DiskGuard> disk_guard, std::unique_ptr<rocksdb::Env> env,
                           rocksdb::Options db_options, Database database)
    : clock_(options.clock != nullptr ? options.clock : RealClock()),
      limits_(options.limits),
      durability_(options.durability),
      disk_guard_(std::move(disk_guard)),
      env_(std::move(env)),
      path_(options.path),
      db_options_(std::move(db_options)),
      db_(std::move(database.db)),
      sessions_(database.families[0]),
      expiry_(database.families[1]),
      read_only_(database.read_only) {}

RocksDbStore::~RocksDbStore() {
  for (Stripe& stripe : stripes_) {
    absl::MutexLock lock(&stripe.mu);
    FlushRenewals(stripe);
  }
  // Async mode leaves the last WAL writes in the OS: hand them to the disk on a clean close.
  if (!read_only_) db_->SyncWAL();
  Database database{std::move(db_), {sessions_, expiry_}};
  CloseDatabase(database);
}

absl::StatusOr<std::optional<StoredSession>> RocksDbStore::LoadStored(Stripe& stripe,
                                                                      absl::string_view id) {
  rocksdb::PinnableSlice bytes;
  const rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), sessions_, ToSlice(id), &bytes);
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) return FromRocksDbStatus(status, "reading a session");
  absl::StatusOr<StoredSession> session =
      DecodeSession(id, absl::string_view(bytes.data(), bytes.size()));
  if (!session.ok()) return session.status();
  if (const auto pending = stripe.renewals.find(id); pending != stripe.renewals.end()) {
    session->meta.idle_expires_at = pending->second.renewed;
  }
  return *std::move(session);
}

absl::StatusOr<std::optional<StoredSession>> RocksDbStore::LoadUnexpired(Stripe& stripe,
                                                                         absl::string_view id,
                                                                         absl::Time now) {
  absl::StatusOr<std::optional<StoredSession>> session = LoadStored(stripe, id);
  if (session.ok() && session->has_value() && (*session)->meta.idle_expires_at <= now) {
    return std::nullopt;
  }
  return session;
}

absl::StatusOr<StoredSession> RocksDbStore::Load(Stripe& stripe, absl::string_view id,
                                                 absl::Time now) {
  absl::StatusOr<std::optional<StoredSession>> session = LoadUnexpired(stripe, id, now);
  if (!session.ok()) return session.status();
  if (!session->has_value() || (*session)->stub) return SessionNotFoundError();
  return **std::move(session);
}

absl::StatusOr<SessionMeta> RocksDbStore::Peek(absl::string_view id) {
  const absl::Time now = clock_->Now();
  Stripe& stripe = StripeFor(id);
  absl::MutexLock lock(&stripe.mu);
  absl::StatusOr<StoredSession> session = Load(stripe, id, now);
  if (!session.ok()) return session.status();
  return session->meta;
}

void RocksDbStore::Put(rocksdb::WriteBatch& batch, const StoredSession& session) {
  batch.Put(sessions_, ToSlice(session.meta.id), EncodeSession(session));
}

void RocksDbStore::PutAndFile(rocksdb::WriteBatch& batch, StoredSession& session) {
  session.indexed_deadline = session.meta.idle_expires_at;
  Put(batch, session);
  batch.Put(expiry_, ExpiryKey(session.indexed_deadline, session.meta.id), rocksdb::Slice());
}

void RocksDbStore::Erase(rocksdb::WriteBatch& batch, const StoredSession& session) {
  batch.Delete(sessions_, ToSlice(session.meta.id));
  batch.Delete(expiry_, ExpiryKey(session.indexed_deadline, session.meta.id));
}

absl::Status RocksDbStore::Write(rocksdb::WriteBatch& batch, WriteKind kind) {
  if (read_only_) {
    return absl::ResourceExhaustedError(
        "the disk was too full to open the store for writing; it serves reads, and writes resume "
        "once space is freed");
  }
  const bool frees_space = kind == WriteKind::kRemoval || kind == WriteKind::kReclaim;
  if (absl::Status admitted = disk_guard_->Admit(batch.GetDataSize(), frees_space);
      !admitted.ok()) {
    return admitted;
  }
  rocksdb::WriteOptions options;
  options.sync = (kind == WriteKind::kChange || kind == WriteKind::kRemoval) &&
                 durability_ == Durability::kSync;
  const rocksdb::Status status = db_->Write(options, &batch);
  if (status.ok()) return absl::OkStatus();
  MaybeResume();
  return FromRocksDbStatus(status, "writing to the store");
}

void RocksDbStore::MaybeResume() {
  if (!resume_mu_.TryLock()) return;  // another writer is resuming
  const absl::Time now = absl::Now();
  if (now - last_resume_ >= kResumeInterval) {
    last_resume_ = now;
    db_->Resume();  // fails harmlessly while the cause persists
  }
  resume_mu_.Unlock();
}

void RocksDbStore::CountUndecodable(const absl::Status& why) {
  if (undecodable_records_deleted_.fetch_add(1) == 0) {
    std::cerr << "sessiond: deleted a session record that cannot be read back (" << why
              << "); further ones are only counted (undecodable_records_deleted)\n";
  }
}

absl::Status RocksDbStore::RenewAndMaybeWrite(Stripe& stripe, StoredSession& session,
                                              absl::Time now) {
  const auto pending = stripe.renewals.find(session.meta.id);
  const absl::Time written =
      pending != stripe.renewals.end() ? pending->second.written : session.meta.idle_expires_at;
  RenewStored(session.meta, now);
  const bool room =
      pending != stripe.renewals.end() || stripe.renewals.size() < kMaxPendingRenewalsPerStripe;
  if (session.meta.idle_expires_at - written >= kRenewalWriteWindow || !room) {
    rocksdb::WriteBatch batch;
    Put(batch, session);
    const absl::Status status = Write(batch, WriteKind::kRenewal);
    if (status.ok()) {
      if (pending != stripe.renewals.end()) stripe.renewals.erase(pending);
      return absl::OkStatus();
    }
    // A renewal the disk cannot take now (it is full) still holds in memory, so reads go on.
    if (!room) return status;
  }
  stripe.renewals.insert_or_assign(session.meta.id,
                                   PendingRenewal{written, session.meta.idle_expires_at});
  return absl::OkStatus();
}

void RocksDbStore::FlushRenewals(Stripe& stripe) {
  rocksdb::WriteBatch batch;
  for (const auto& [id, renewal] : stripe.renewals) {
    absl::StatusOr<std::optional<StoredSession>> session = LoadStored(stripe, id);
    if (session.ok() && session->has_value()) Put(batch, **session);
  }
  if (batch.Count() > 0 && Write(batch, WriteKind::kRenewal).ok()) stripe.renewals.clear();
}

absl::StatusOr<SessionMeta> RocksDbStore::Create(NewSession request) {
  absl::StatusOr<SessionState> state = SessionState::Create(std::move(request.entries), limits_);
  if (!state.ok()) return state.status();
  const absl::Time now = TruncateToMillis(clock_->Now());
  StoredSession session{
      SessionMeta{std::move(request.id), std::move(request.principal), state->version(), now, now,
                  TruncateToMillis(now + request.absolute_timeout),
                  absl::Trunc(request.idle_timeout, absl::Milliseconds(1))},
      *std::move(state)};
  RenewStored(session.meta, now);

  // A Create with a request_id files a stub under CreateStubKey in the same batch and under both
  // locks, so concurrent attempts of one request create one session.
  const std::string stub_key =
      request.request_id.empty() ? session.meta.id : CreateStubKey(request.request_id);
  std::string replay_id;
  {
    Stripe& stripe = StripeFor(session.meta.id);
    Stripe& stub_stripe = StripeFor(stub_key);
    LockPair lock(&stripe.mu, &stub_stripe.mu);
    rocksdb::WriteBatch batch;
    if (!request.request_id.empty()) {
      absl::StatusOr<std::optional<StoredSession>> stub = LoadStored(stub_stripe, stub_key);
      if (!stub.ok()) return stub.status();
      if (stub->has_value() && (*stub)->meta.idle_expires_at > now) {
        replay_id = std::move((*stub)->successor);
      } else if (stub->has_value()) {
        Erase(batch, **stub);
      }
    }
    if (replay_id.empty()) {
      absl::StatusOr<std::optional<StoredSession>> old = LoadStored(stripe, session.meta.id);
      if (!old.ok()) return old.status();
      if (old->has_value()) {
        // Only an expired record that the sweeper has not reclaimed yet may be replaced.
        if ((*old)->meta.idle_expires_at > now) {
          return absl::AlreadyExistsError("a session with this id exists");
        }
        Erase(batch, **old);
      }
      PutAndFile(batch, session);
      if (!request.request_id.empty()) {
        StoredSession stub = MakeStub(stub_key, session.meta.id, session.meta.version,
                                      std::move(request.request_id), now, limits_);
        PutAndFile(batch, stub);
      }
      if (absl::Status written = Write(batch, WriteKind::kChange); !written.ok()) return written;
      stripe.renewals.erase(session.meta.id);
      return session.meta;
    }
  }
  return Peek(replay_id);
}

absl::StatusOr<SessionMeta> RocksDbStore::Get(absl::string_view id,
                                              absl::Span<const absl::string_view> keys,
                                              Renewal renewal, EntryVisitor visit) {
  const absl::Time now = clock_->Now();
  Stripe& stripe = StripeFor(id);
  absl::MutexLock lock(&stripe.mu);
  absl::StatusOr<StoredSession> session = Load(stripe, id, now);
  if (!session.ok()) return session.status();
  StoredSession& live = *session;
  if (renewal == Renewal::kRenew) {
    if (absl::Status status = RenewAndMaybeWrite(stripe, live, now); !status.ok()) return status;
  }
  live.state.Visit(keys, visit);
  return live.meta;
}

absl::StatusOr<SessionMeta> RocksDbStore::Apply(absl::string_view id,
                                                std::vector<Mutation> mutations,
                                                const Conditions& conditions) {
  const absl::Time now = clock_->Now();
  Stripe& stripe = StripeFor(id);
  absl::MutexLock lock(&stripe.mu);
  absl::StatusOr<StoredSession> session = Load(stripe, id, now);
  if (!session.ok()) return session.status();
  StoredSession& live = *session;
  if (std::optional<uint64_t> version = live.state.FindRequest(conditions.request_id, now)) {
    live.meta.version = *version;
    return live.meta;
  }
  absl::StatusOr<SessionState::Plan> plan = live.state.Check(mutations, conditions, limits_);
  if (!plan.ok()) return plan.status();
  if (!plan->changes && conditions.request_id.empty()) {
    if (absl::Status status = RenewAndMaybeWrite(stripe, live, now); !status.ok()) return status;
    return live.meta;
  }
  live.state.Commit(std::move(mutations), *plan, limits_);
  if (!conditions.request_id.empty()) {
    live.state.RecordRequest(conditions.request_id, now, limits_);
  }
  live.meta.version = live.state.version();
  RenewStored(live.meta, now);
  rocksdb::WriteBatch batch;
  Put(batch, live);
  if (absl::Status status = Write(batch, WriteKind::kChange); !status.ok()) return status;
  stripe.renewals.erase(id);
  return live.meta;
}

absl::StatusOr<SessionMeta> RocksDbStore::Touch(absl::string_view id) {
  const absl::Time now = clock_->Now();
  Stripe& stripe = StripeFor(id);
  absl::MutexLock lock(&stripe.mu);
  absl::StatusOr<StoredSession> session = Load(stripe, id, now);
  if (!session.ok()) return session.status();
  if (absl::Status status = RenewAndMaybeWrite(stripe, *session, now); !status.ok()) return status;
  return session->meta;
}

absl::StatusOr<bool> RocksDbStore::Delete(absl::string_view id, std::optional<uint64_t> if_version,
                                          absl::string_view request_id) {
  const absl::Time now = clock_->Now();
  Stripe& stripe = StripeFor(id);
  absl::MutexLock lock(&stripe.mu);
  absl::StatusOr<std::optional<StoredSession>> session = LoadUnexpired(stripe, id, now);
  if (!session.ok()) return session.status();
  if (!session->has_value()) return false;
  const StoredSession& live = **session;
  if (live.stub) return live.state.FindRequest(request_id, now).has_value();
  if (absl::Status status = live.state.CheckIfVersion(if_version); !status.ok()) return status;
  rocksdb::WriteBatch batch;
  Erase(batch, live);
  if (!request_id.empty()) {
    StoredSession stub =
        MakeStub(std::string(id), "", live.state.version(), std::string(request_id), now, limits_);
    PutAndFile(batch, stub);
  }
  if (absl::Status status = Write(batch, WriteKind::kRemoval); !status.ok()) return status;
  stripe.renewals.erase(id);
  return true;
}

absl::StatusOr<SessionMeta> RocksDbStore::Rotate(absl::string_view id, std::string new_id,
                                                 std::optional<uint64_t> if_version,
                                                 absl::string_view request_id,
                                                 const std::optional<std::string>& bind_principal) {
  if (bind_principal.has_value()) {
    return absl::UnimplementedError(
        "binding a principal at rotation is not implemented on this backend yet");
  }
  const absl::Time now = clock_->Now();
  std::string replay_id;
  {
    Stripe& stripe = StripeFor(id);
    Stripe& new_stripe = StripeFor(new_id);
    LockPair lock(&stripe.mu, &new_stripe.mu);
    absl::StatusOr<std::optional<StoredSession>> session = LoadUnexpired(stripe, id, now);
    if (!session.ok()) return session.status();
    if (!session->has_value()) return SessionNotFoundError();
    StoredSession& live = **session;
    if (live.stub) {
      if (live.successor.empty() || !live.state.FindRequest(request_id, now).has_value()) {
        return SessionNotFoundError();
      }
      replay_id = std::move(live.successor);
    } else {
      if (absl::Status status = live.state.CheckIfVersion(if_version); !status.ok()) {
        return status;
      }
      absl::StatusOr<std::optional<StoredSession>> taken = LoadUnexpired(new_stripe, new_id, now);
      if (!taken.ok()) return taken.status();
      if (taken->has_value()) return absl::AlreadyExistsError("a session with the new id exists");

      rocksdb::WriteBatch batch;
      Erase(batch, live);
      live.meta.id = std::move(new_id);
      live.state.BumpVersion();
      live.meta.version = live.state.version();
      RenewStored(live.meta, now);
      PutAndFile(batch, live);
      if (!request_id.empty()) {
        StoredSession stub = MakeStub(std::string(id), live.meta.id, live.meta.version,
                                      std::string(request_id), now, limits_);
        PutAndFile(batch, stub);
      }
      if (absl::Status status = Write(batch, WriteKind::kChange); !status.ok()) return status;
      stripe.renewals.erase(id);
      new_stripe.renewals.erase(live.meta.id);
      return live.meta;
    }
  }
  return Peek(replay_id);
}

Database RocksDbStore::SwapDatabase(Database writable) {
  Database old{nullptr, {sessions_, expiry_}, true};
  for (Stripe& stripe : stripes_) stripe.mu.Lock();
  {
    absl::MutexLock db_lock(&db_mu_);
    old.db = std::exchange(db_, std::move(writable.db));
    sessions_ = writable.families[0];
    expiry_ = writable.families[1];
    read_only_ = false;
  }
  for (auto stripe = stripes_.rbegin(); stripe != stripes_.rend(); ++stripe) stripe->mu.Unlock();
  return old;
}

bool RocksDbStore::MaybeReopenForWriting() {
  if (!read_only_) return true;
  if (disk_guard_->FreeBytes() < MinFreeBytesToOpen(db_options_)) return false;
  // A read-only instance does not lock the directory: the new one opens beside it.
  absl::StatusOr<Database> writable = OpenDatabase(path_, db_options_, /*read_only=*/false);
  if (!writable.ok()) {
    std::cerr << "sessiond: reopening the store for writing failed: " << writable.status() << "\n";
    return false;
  }
  Database old = SwapDatabase(*std::move(writable));
  CloseDatabase(old);
  std::cerr << "sessiond: there is room on the disk again; the store is open for writing\n";
  return true;
}

absl::StatusOr<size_t> RocksDbStore::SweepExpired() {
  absl::MutexLock sweep_lock(&sweep_mu_);
  if (!MaybeReopenForWriting()) return 0;
  const absl::Time now = clock_->Now();
  // Index keys before `swept_until_` are all deleted; bounding the iterator there skips their
  // tombstones instead of reading through them on every sweep.
  const std::string upper = ExpiryKey(now + absl::Milliseconds(1), "");
  rocksdb::Slice lower_bound(swept_until_), upper_bound(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_lower_bound = &lower_bound;
  read_options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, expiry_));
  std::vector<std::string> due;
  for (it->SeekToFirst(); it->Valid() && due.size() < kSweepBatch; it->Next()) {
    if (it->key().size() >= 8) due.emplace_back(it->key().data(), it->key().size());
  }
  if (!it->status().ok()) return FromRocksDbStatus(it->status(), "scanning the expiry index");
  const bool drained = !it->Valid();
  it.reset();

  size_t expired = 0;
  for (const std::string& key : due) {
    const auto [deadline, id] = ParseExpiryKey(key);
    Stripe& stripe = StripeFor(id);
    absl::MutexLock lock(&stripe.mu);
    absl::StatusOr<std::optional<StoredSession>> session = LoadStored(stripe, id);
    const bool undecodable = absl::IsDataLoss(session.status());
    if (!session.ok() && !undecodable) return session.status();
    rocksdb::WriteBatch batch;
    // This index entry goes in any case. Its session expired (and goes too), or was renewed
    // since it was filed (and is refiled under its current deadline), or is gone, or cannot be
    // read back (and goes too: it could never expire, and stopping here would stop all expiry).
    batch.Delete(expiry_, key);
    bool writes_session = undecodable;
    if (undecodable) {
      batch.Delete(sessions_, ToSlice(id));
    } else if (session->has_value() && (*session)->indexed_deadline == deadline) {
      writes_session = true;
      StoredSession& stored = **session;
      if (stored.meta.idle_expires_at <= now) {
        batch.Delete(sessions_, ToSlice(id));
        ++expired;
      } else {
        PutAndFile(batch, stored);
      }
    }
    if (absl::Status status = Write(batch, WriteKind::kReclaim); !status.ok()) return status;
    if (undecodable) CountUndecodable(session.status());
    if (writes_session) stripe.renewals.erase(id);
  }
  // A writer that read the clock just before this sweep can still file a deadline slightly before
  // `now`; the margin keeps such entries above the bound.
  if (drained) swept_until_ = ExpiryKey(now - kSweepBoundMargin, "");
  return expired;
}

StoreStats RocksDbStore::Stats() const {
  absl::MutexLock lock(&db_mu_);
  uint64_t keys = 0, bytes = 0;
  db_->GetIntProperty(sessions_, "rocksdb.estimate-num-keys", &keys);
  db_->GetIntProperty(sessions_, "rocksdb.estimate-live-data-size", &bytes);
  return StoreStats{static_cast<size_t>(keys), static_cast<size_t>(bytes),
                    undecodable_records_deleted_.load()};
}

// The memtable size: options.memtable_bytes, but at most 1/16 of the volume (and at least 1 MiB),
// so that a small volume has room to flush one.
size_t MemtableBytes(const RocksDbStoreOptions& options) {
  return std::max<size_t>(size_t{1} << 20, std::min<uint64_t>(options.memtable_bytes,
                                                              FilesystemBytes(options.path) / 16));
}

rocksdb::Options DatabaseOptions(const RocksDbStoreOptions& options, rocksdb::Env* env) {
  rocksdb::Options db_options;
  db_options.env = env;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  // No LOG file on the data disk, whose failed appends would abort the process when it is full.
  db_options.info_log = NewStderrRocksDbLogger(rocksdb::InfoLogLevel::WARN_LEVEL);
  db_options.IncreaseParallelism(2);
  // Requests run on many threads but few cores: writers that spin or yield while they wait for a
  // write group, or insert into the memtable in parallel, only take turns on the same cores.
  db_options.enable_write_thread_adaptive_yield = false;
  db_options.allow_concurrent_memtable_write = false;
  // Lets RocksDB recover by itself from a background out-of-space error once space is freed.
  db_options.sst_file_manager.reset(rocksdb::NewSstFileManager(env));
  // Opening replays the WAL into memtables without first writing them to table files, so that a
  // store opens on a disk with no room for them (they are flushed later, as usual).
  db_options.avoid_flush_during_recovery = true;
  const size_t memtable_bytes = MemtableBytes(options);
  db_options.OptimizeLevelStyleCompaction(/*memtable_memory_budget=*/4 * memtable_bytes);
  // A log file is deleted once every column family has flushed what it holds. The small expiry
  // family fills its memtable slowly and would keep every log since its oldest unflushed write;
  // past this size RocksDB flushes the families that hold the oldest log, so the WAL stays bounded
  // by what is live in memtables, not by what was ever written.
  db_options.max_total_wal_size = 2 * memtable_bytes;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return db_options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(const RocksDbStoreOptions& options) {
  std::error_code error;
  std::filesystem::create_directories(options.path, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the store directory ", options.path, ": ", error.message()));
  }
  // The guard's ballast is given up for the open: replaying the WAL, the new MANIFEST and OPTIONS
  // files need a little room, and the disk may be full. It comes back once there is room.
  auto disk_guard = std::make_unique<DiskGuard>(options.path, options.min_free_disk_bytes);
  disk_guard->ReleaseBallast();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(
      NewSpaceReservingFileSystem(rocksdb::FileSystem::Default(),
                                  [guard = disk_guard.get()] { return guard->ReleaseBallast(); }));
  rocksdb::Options db_options = DatabaseOptions(options, env.get());
  // RocksDB aborts the process if opening for writing runs out of space (a log writer that saw a
  // failed append is used again), so on a disk without room for that the store opens read only.
  const bool room = disk_guard->FreeBytes() >= MinFreeBytesToOpen(db_options);
  absl::StatusOr<Database> database = OpenDatabase(options.path, db_options, !room);
  if (database.ok() && database->read_only) {
    std::cerr << "sessiond: the disk is too full to open the store for writing; serving reads "
                 "until space is freed\n";
  }
  if (!database.ok()) return database.status();
  return std::make_unique<RocksDbStore>(options, std::move(disk_guard), std::move(env),
                                        std::move(db_options), *std::move(database));
}

}  // namespace sessiond::storage
