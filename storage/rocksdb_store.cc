#include "storage/rocksdb_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
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
#include "storage/event_log.h"
#include "storage/event_sequencer.h"
#include "storage/live_session_counts.h"
#include "storage/lock_pair.h"
#include "storage/lock_set.h"
#include "storage/page_token.h"
#include "storage/rocksdb_file_system.h"
#include "storage/rocksdb_keys.h"
#include "storage/rocksdb_logger.h"
#include "storage/rocksdb_status.h"
#include "storage/session_codec.h"
#include "storage/session_event.h"
#include "storage/session_gone.h"

namespace sessiond::storage {
namespace {

// The column families, in the order Database::families holds them.
constexpr const char* kFamilies[] = {"default" /* rocksdb::kDefaultColumnFamilyName */, "expiry",
                                     "principals", "events"};
enum Family { kSessions = 0, kExpiry = 1, kPrincipals = 2, kEvents = 3, kFamilyCount = 4 };
constexpr size_t kLockStripes = 512;
// Principal locks: taken before any stripe lock by the calls that add to a principal's sessions
// under the cap, rename or rebind one (Rotate) or revoke them, so that counting, revoking and
// listing one principal see exactly its sessions.
constexpr size_t kPrincipalLocks = 256;
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
// How many sessions RevokeSessions ends per write (each under its lock, all in one WriteBatch).
constexpr size_t kRevokeBatch = 64;
// How many times a Rotate retries when the session's principal changed between its look and its
// locks (a concurrent rotation of the same id).
constexpr int kRotateAttempts = 4;

rocksdb::Slice ToSlice(absl::string_view view) { return rocksdb::Slice(view.data(), view.size()); }

// An open database and its column families (kFamilies).
struct Database {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  bool read_only = false;
};

// Opens the database at `path`, for writing or (`read_only`) for reading only.
absl::StatusOr<Database> OpenDatabase(const std::string& path, const rocksdb::Options& db_options,
                                      bool read_only) {
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* family : kFamilies) {
    descriptors.emplace_back(family, rocksdb::ColumnFamilyOptions(db_options));
  }
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

// What a store reads back from its event column family when it opens.
struct StoredEvents {
  // The newest SessionLimits::event_retention events, oldest first.
  std::vector<SessionEvent> events;
  // One above the newest sequence ever stored (1 for a new store).
  uint64_t next_sequence = 1;
};

// Reads the newest `retention` events of `database`.
absl::StatusOr<StoredEvents> LoadEvents(Database& database, size_t retention) {
  StoredEvents stored;
  std::unique_ptr<rocksdb::Iterator> it(
      database.db->NewIterator(rocksdb::ReadOptions(), database.families[kEvents]));
  for (it->SeekToLast(); it->Valid() && stored.events.size() < retention; it->Prev()) {
    const uint64_t sequence = ParseSequenceKey(absl::string_view(it->key().data(), 8));
    if (stored.events.empty()) stored.next_sequence = sequence + 1;
    absl::StatusOr<SessionEvent> event =
        DecodeEvent(sequence, absl::string_view(it->value().data(), it->value().size()));
    if (!event.ok()) return event.status();
    stored.events.push_back(*std::move(event));
  }
  if (!it->status().ok()) return FromRocksDbStatus(it->status(), "reading the event log");
  std::reverse(stored.events.begin(), stored.events.end());
  return stored;
}

// How many entries the principal index of `database` holds.
absl::StatusOr<size_t> CountIndexEntries(Database& database) {
  size_t count = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      database.db->NewIterator(rocksdb::ReadOptions(), database.families[kPrincipals]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++count;
  if (!it->status().ok()) return FromRocksDbStatus(it->status(), "reading the principal index");
  return count;
}

// An idle-timer renewal held in memory and not written yet.
struct PendingRenewal {
  absl::Time written;      // the idle deadline the stored record holds
  absl::Time renewed;      // the idle deadline the session has
  absl::Time last_access;  // the session's last use
};

// A lock stripe: serialises the calls on the sessions whose ids hash to it, and holds their
// pending renewals. Every write of a session drops its pending renewal (the write supersedes it).
struct Stripe {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, PendingRenewal> renewals ABSL_GUARDED_BY(mu);
};

// What one write changes: its batch, the events it records (stored in the batch by Commit) and how
// it changes the number of principal index entries.
struct Change {
  rocksdb::WriteBatch batch;
  std::vector<SessionEvent> events;
  int64_t index_delta = 0;
};

// The NOT_FOUND for an id whose record is `stub` (or none).
absl::Status NotFoundFor(const std::optional<StoredSession>& stub) {
  if (!stub.has_value() || stub->gone.reason == GoneReason::kUnknown) {
    return SessionNotFoundError();
  }
  return SessionGoneError(stub->gone);
}

// The sessions of each tenant in `database` that are live at `now` (see LiveSessionCounts): one
// read of every record, decoding those whose id has a tenant prefix.
absl::StatusOr<LiveSessionsAtOpen> CountLiveSessions(Database& database, absl::Time now) {
  LiveSessionsAtOpen counted{.at = now};
  std::unique_ptr<rocksdb::Iterator> it(
      database.db->NewIterator(rocksdb::ReadOptions(), database.families[kSessions]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const absl::string_view id(it->key().data(), it->key().size());
    const absl::string_view prefix = TenantPrefixOf(id);
    if (prefix.empty()) continue;
    // An undecodable record is not counted: the sweeper deletes it without an event.
    absl::StatusOr<StoredSession> session =
        DecodeSession(id, absl::string_view(it->value().data(), it->value().size()));
    if (session.ok() && !session->stub && session->meta.idle_expires_at > now) {
      ++counted.live[prefix];
    }
  }
  if (!it->status().ok()) return FromRocksDbStatus(it->status(), "counting tenants' sessions");
  return counted;
}

// An ApplyGrouped call waiting for the committer.
struct QueuedApply {
  std::string id;
  std::vector<Mutation> mutations;
  Conditions conditions;
  Store::ApplyDone done;
};

// A live session of a principal, as a cap census sees it.
struct Member {
  absl::Time last_access;
  std::string id;
};

class RocksDbStore final : public Store {
 public:
  RocksDbStore(const RocksDbStoreOptions& options, std::unique_ptr<DiskGuard> disk_guard,
               std::unique_ptr<rocksdb::Env> env, rocksdb::Options db_options, Database database,
               StoredEvents events, size_t index_entries, LiveSessionsAtOpen live_at_open);
  ~RocksDbStore() override;

  absl::StatusOr<SessionMeta> Create(NewSession session) override;
  absl::StatusOr<SessionMeta> Get(absl::string_view id, absl::Span<const absl::string_view> keys,
                                  Renewal renewal, EntryVisitor visit) override;
  absl::StatusOr<SessionMeta> Apply(absl::string_view id, std::vector<Mutation> mutations,
                                    const Conditions& conditions) override;
  void ApplyGrouped(absl::string_view id, std::vector<Mutation> mutations,
                    const Conditions& conditions, ApplyDone done) override;
  // Sync mode has a committer thread; async mode's writes do not wait, so Apply is as good.
  bool GroupsApplies() const override { return durability_ == Durability::kSync; }
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
  EventLog& Events() override { return events_; }
  absl::StatusOr<size_t> SweepExpired() override;
  StoreStats Stats() const override;
  // Sync-mode writes wait for fsync; async mode only hands its writes to the OS.
  bool MayBlock() const override { return durability_ == Durability::kSync; }
  bool AcceptsWrites() const override { return !read_only_; }
  // With SessionLimits::count_tenant_sessions (LiveSessionCounts).
  bool CapsLiveSessions() const override { return live_counts_.enabled(); }

 private:
  // How a write is made durable and admitted.
  enum class WriteKind {
    kChange,   // a change acknowledged to a client: fsynced under Durability::kSync
    kRemoval,  // a Delete: the same, and it frees space, so it may use part of the disk reserve
    kRenewal,  // an idle-timer renewal: never fsynced
    kReclaim,  // the sweeper (or a call) ending expired sessions: never fsynced, frees space
  };
  // What a Rotate under its locks tells the caller to do next.
  struct RotateOutcome {
    absl::StatusOr<SessionMeta> meta;
    // A retry of a request that rotated the session: the id the first attempt gave it.
    std::string replay_id;
    // The session's principal changed since the caller looked (it retries).
    bool retry = false;
  };

  Stripe& StripeFor(absl::string_view id) { return stripes_[absl::HashOf(id) % kLockStripes]; }
  absl::Mutex& PrincipalLock(absl::string_view principal) {
    return principal_locks_[absl::HashOf(principal) % kPrincipalLocks];
  }
  // The stored record `id` with its pending renewal applied, expired or not, or nullopt if there
  // is none.
  absl::StatusOr<std::optional<StoredSession>> LoadStored(Stripe& stripe, absl::string_view id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // The unexpired record under `id` at `now`, session or stub, or nullopt. An expired session
  // found on the way ends (expiry event, gone stub: written at once) and its stub is returned.
  absl::StatusOr<std::optional<StoredSession>> Find(Stripe& stripe, absl::string_view id,
                                                    absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // The live session `id`; NOT_FOUND (saying why, within the retention) if there is none.
  absl::StatusOr<StoredSession> Load(Stripe& stripe, absl::string_view id, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // The live session `id` as it is, without renewing it: a retry's answer. NOT_FOUND if none.
  absl::StatusOr<SessionMeta> Peek(absl::string_view id);
  // The principal of the live session `id` ("" if it has none), or nullopt if there is none.
  absl::StatusOr<std::optional<std::string>> PrincipalOf(absl::string_view id);
  // Adds to `batch` the write that stores `session` (its index entries are left as they are).
  void Put(rocksdb::WriteBatch& batch, const StoredSession& session);
  // Adds to `batch` the writes that store a new record and file it under its idle deadline.
  void PutAndFile(rocksdb::WriteBatch& batch, StoredSession& session);
  // Adds to `change` the writes that store a new live `session`, file it and index it.
  void AddSession(Change& change, StoredSession& session);
  // Adds to `change` the deletes that remove the record `session` and its index entries.
  void RemoveSession(Change& change, const StoredSession& session);
  // Adds to `change` the end of the live `session` as `gone` at `now`: its removal, its event, and
  // its stub, kept for the idempotency window of `request_id` (if any) and the gone-reason window
  // (whichever is longer; none if both are zero), which is returned.
  std::optional<StoredSession> End(Change& change, const StoredSession& session, GoneDetails gone,
                                   std::string successor, absl::string_view request_id,
                                   absl::Time now);
  // Apply's work under the session's lock, at `now`: returns the answer, and adds to `change` what
  // must be written before it is given (nothing if the call changes nothing that needs writing).
  absl::StatusOr<SessionMeta> ApplyLocked(Stripe& stripe, absl::string_view id,
                                          std::vector<Mutation> mutations,
                                          const Conditions& conditions, absl::Time now,
                                          Change& change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // The committer thread: takes every queued ApplyGrouped call at once and commits them as a group
  // until the store closes (and the queue is empty).
  void RunCommitter();
  // Applies the calls of `group` that it can (one per session, each under its stripe's lock, held
  // until the group's one write is durable) as one Change written with one fsync, then answers
  // them. The calls it must leave for the next group (a session already in this group, a stripe
  // another thread holds) go to `deferred`, in order.
  void CommitGroup(std::deque<QueuedApply>& group,
                   std::deque<QueuedApply>& deferred) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Stores change.events under new sequences in change.batch, writes it as `kind` says, and
  // publishes the events in sequence order once written (or gives their sequences up).
  absl::Status Commit(Change& change, WriteKind kind);
  // Writes `batch` as `kind` says, if the disk guard admits it.
  absl::Status Write(rocksdb::WriteBatch& batch, WriteKind kind);
  // Renews `session` at `now`: holds the renewal in `stripe` or, once it moves the stored deadline
  // by kRenewalWriteWindow or more (or the stripe holds too many), writes it. With
  // SessionLimits::record_touches, writes it at once with its kTouched event.
  absl::Status RenewAndMaybeWrite(Stripe& stripe, StoredSession& session, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // Writes the renewals `stripe` holds (on close, so that a clean restart loses none).
  void FlushRenewals(Stripe& stripe) ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // The ids the principal index holds for `principal` (from `from_key` on, at most `limit`), in
  // index order, with their keys.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> IndexEntries(
      absl::string_view principal, const std::string& from_key, size_t limit);
  // The live sessions of `principal`, least recently used first. The caller holds the principal's
  // lock, so no session joins it meanwhile. Expired ones found on the way end.
  absl::StatusOr<std::vector<Member>> Census(absl::string_view principal, absl::Time now);
  // The sessions that must end for one more session of `principal` to fit under the cap:
  // RESOURCE_EXHAUSTED under kRejectNew, else the least recently used ones (none if it fits). The
  // caller holds the principal's lock.
  absl::StatusOr<std::vector<std::string>> MakeRoom(absl::string_view principal, absl::Time now);
  // Ends (as `reason`, into `change`) those of `ids` that are still live sessions of `principal`,
  // and returns their ids. The caller holds their stripes' locks.
  absl::StatusOr<std::vector<std::string>> EndOwned(Change& change,
                                                    const std::vector<std::string>& ids,
                                                    absl::string_view principal, GoneReason reason,
                                                    absl::Time now) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Create under the principal's lock (if it has a cap to keep). Sets `*replay_id` for a retry.
  absl::StatusOr<SessionMeta> CreateLocked(StoredSession& session, NewSession& request,
                                           absl::Time now,
                                           std::string* replay_id) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Rotate under the locks of the session's principal, as PrincipalOf found it (`principal`; the
  // caller retries if it changed since), and of the bound one.
  RotateOutcome RotateLocked(
      absl::string_view id, const std::string& new_id, std::optional<uint64_t> if_version,
      absl::string_view request_id, const std::optional<std::string>& bind_principal,
      const std::optional<std::string>& principal) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Revokes the sessions `ids` of `principal` (all locked together). Returns how many ended.
  absl::StatusOr<size_t> RevokeLocked(const std::vector<std::string>& ids,
                                      absl::string_view principal,
                                      absl::Time now) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Drops the events the retention no longer keeps from the event column family.
  absl::Status TrimEvents() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sweep_mu_);
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
  // The column family `family` of the database.
  rocksdb::ColumnFamilyHandle* family(Family family) const { return families_[family]; }

  Clock* const clock_;
  const SessionLimits limits_;
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
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::atomic<bool> read_only_;
  mutable absl::Mutex db_mu_;
  std::array<absl::Mutex, kPrincipalLocks> principal_locks_;
  std::array<Stripe, kLockStripes> stripes_;
  EventLog events_;
  EventSequencer sequencer_;
  // Entries in the principal index: counted at open, then kept by every write.
  std::atomic<int64_t> index_entries_;
  // Each tenant's live sessions, for NewSession::live_cap: counted at open, then kept by Commit.
  LiveSessionCounts live_counts_;
  // Everything in the expiry index before this key has been swept.
  absl::Mutex sweep_mu_;
  std::string swept_until_ ABSL_GUARDED_BY(sweep_mu_);
  // Every event before this sequence has been dropped from the event column family.
  uint64_t trimmed_until_ ABSL_GUARDED_BY(sweep_mu_) = 0;
  absl::Mutex resume_mu_;
  absl::Time last_resume_ ABSL_GUARDED_BY(resume_mu_) = absl::InfinitePast();
  std::atomic<size_t> undecodable_records_deleted_{0};
  // ApplyGrouped calls waiting for the committer thread (sync mode only).
  absl::Mutex queue_mu_;
  std::deque<QueuedApply> queued_ ABSL_GUARDED_BY(queue_mu_);
  bool closing_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread committer_;
};

RocksDbStore::RocksDbStore(const RocksDbStoreOptions& options,
                           std::unique_ptr<DiskGuard> disk_guard, std::unique_ptr<rocksdb::Env> env,
                           rocksdb::Options db_options, Database database, StoredEvents events,
                           size_t index_entries, LiveSessionsAtOpen live_at_open)
    : clock_(options.clock != nullptr ? options.clock : RealClock()),
      limits_(options.limits),
      durability_(options.durability),
      disk_guard_(std::move(disk_guard)),
      env_(std::move(env)),
      path_(options.path),
      db_options_(std::move(db_options)),
      db_(std::move(database.db)),
      families_(std::move(database.families)),
      read_only_(database.read_only),
      events_(options.limits.event_retention,
              events.events.empty() ? events.next_sequence : events.events.front().sequence),
      sequencer_(events_, events.next_sequence),
      index_entries_(static_cast<int64_t>(index_entries)),
      live_counts_(options.limits.count_tenant_sessions, std::move(live_at_open)) {
  for (SessionEvent& event : events.events) events_.Append(std::move(event));
  if (GroupsApplies()) committer_ = std::thread([this] { RunCommitter(); });
}

RocksDbStore::~RocksDbStore() {
  if (committer_.joinable()) {
    {
      absl::MutexLock lock(&queue_mu_);
      closing_ = true;
    }
    committer_.join();  // it answers every queued call first
  }
  for (Stripe& stripe : stripes_) {
    absl::MutexLock lock(&stripe.mu);
    FlushRenewals(stripe);
  }
  // Async mode leaves the last WAL writes in the OS: hand them to the disk on a clean close.
  if (!read_only_) db_->SyncWAL();
  Database database{std::move(db_), families_};
  CloseDatabase(database);
}

absl::StatusOr<std::optional<StoredSession>> RocksDbStore::LoadStored(Stripe& stripe,
                                                                      absl::string_view id) {
  rocksdb::PinnableSlice bytes;
  const rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), family(kSessions), ToSlice(id), &bytes);
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) return FromRocksDbStatus(status, "reading a session");
  absl::StatusOr<StoredSession> session =
      DecodeSession(id, absl::string_view(bytes.data(), bytes.size()));
  if (!session.ok()) return session.status();
  if (const auto pending = stripe.renewals.find(id); pending != stripe.renewals.end()) {
    session->meta.idle_expires_at = pending->second.renewed;
    session->meta.last_access_at = pending->second.last_access;
  }
  return *std::move(session);
}

absl::StatusOr<std::optional<StoredSession>> RocksDbStore::Find(Stripe& stripe,
                                                                absl::string_view id,
                                                                absl::Time now) {
  absl::StatusOr<std::optional<StoredSession>> session = LoadStored(stripe, id);
  if (!session.ok() || !session->has_value() || (*session)->meta.idle_expires_at > now) {
    return session;
  }
  const StoredSession& expired = **session;
  if (expired.stub) return std::nullopt;
  // The first call to find the session expired ends it; the sweeper would otherwise.
  Change change;
  const SessionMeta& meta = expired.meta;
  std::optional<StoredSession> stub =
      End(change, expired,
          GoneDetails{ExpiryReason(meta.idle_expires_at, meta.absolute_expires_at),
                      meta.idle_expires_at},
          "", "", now);
  // If that cannot be written now (a full disk), the sweeper ends it later; the caller gets the
  // stub's answer all the same.
  if (Commit(change, WriteKind::kReclaim).ok()) stripe.renewals.erase(id);
  return stub;
}

absl::StatusOr<StoredSession> RocksDbStore::Load(Stripe& stripe, absl::string_view id,
                                                 absl::Time now) {
  absl::StatusOr<std::optional<StoredSession>> session = Find(stripe, id, now);
  if (!session.ok()) return session.status();
  if (!session->has_value() || (*session)->stub) return NotFoundFor(*session);
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

absl::StatusOr<std::optional<std::string>> RocksDbStore::PrincipalOf(absl::string_view id) {
  const absl::Time now = clock_->Now();
  Stripe& stripe = StripeFor(id);
  absl::MutexLock lock(&stripe.mu);
  absl::StatusOr<std::optional<StoredSession>> session = Find(stripe, id, now);
  if (!session.ok()) return session.status();
  if (!session->has_value() || (*session)->stub) return std::nullopt;
  return std::move((*session)->meta.principal);
}

void RocksDbStore::Put(rocksdb::WriteBatch& batch, const StoredSession& session) {
  batch.Put(family(kSessions), ToSlice(session.meta.id), EncodeSession(session));
}

void RocksDbStore::PutAndFile(rocksdb::WriteBatch& batch, StoredSession& session) {
  session.indexed_deadline = session.meta.idle_expires_at;
  Put(batch, session);
  batch.Put(family(kExpiry), ExpiryKey(session.indexed_deadline, session.meta.id),
            rocksdb::Slice());
}

void RocksDbStore::AddSession(Change& change, StoredSession& session) {
  PutAndFile(change.batch, session);
  if (session.stub || session.meta.principal.empty()) return;
  const SessionMeta& meta = session.meta;
  change.batch.Put(family(kPrincipals), PrincipalKey(meta.principal, meta.created_at, meta.id),
                   ToSlice(meta.id));
  ++change.index_delta;
}

void RocksDbStore::RemoveSession(Change& change, const StoredSession& session) {
  const SessionMeta& meta = session.meta;
  change.batch.Delete(family(kSessions), ToSlice(meta.id));
  change.batch.Delete(family(kExpiry), ExpiryKey(session.indexed_deadline, meta.id));
  if (session.stub || meta.principal.empty()) return;
  change.batch.Delete(family(kPrincipals), PrincipalKey(meta.principal, meta.created_at, meta.id));
  --change.index_delta;
}

std::optional<StoredSession> RocksDbStore::End(Change& change, const StoredSession& session,
                                               GoneDetails gone, std::string successor,
                                               absl::string_view request_id, absl::Time now) {
  RemoveSession(change, session);
  // A rotation's event is the caller's (kRotated, with the new id).
  if (gone.reason != GoneReason::kRotated) {
    change.events.push_back(EndedEvent(session.meta, gone.reason, gone.ended_at));
  }
  const absl::Duration idempotency =
      request_id.empty() ? absl::ZeroDuration() : limits_.idempotency_window;
  const absl::Duration keep = std::max(idempotency, limits_.gone_retention);
  if (keep <= absl::ZeroDuration()) return std::nullopt;
  StoredSession stub = MakeStubUntil(session.meta.id, std::move(successor), session.meta.version,
                                     std::string(request_id), gone, now, now + keep, limits_);
  PutAndFile(change.batch, stub);
  return stub;
}

absl::Status RocksDbStore::Commit(Change& change, WriteKind kind) {
  if (change.events.empty()) {
    absl::Status status = Write(change.batch, kind);
    if (status.ok()) index_entries_.fetch_add(change.index_delta, std::memory_order_relaxed);
    return status;
  }
  // Sequences are taken here, under the caller's session lock (so one session's events are
  // numbered in the order of its changes), and published once written, in sequence order. The
  // write itself runs outside any store-wide lock, so concurrent writers still share fsyncs.
  EventSequencer::Reservation reservation = sequencer_.Reserve(change.events.size());
  for (size_t i = 0; i < change.events.size(); ++i) {
    SessionEvent& event = change.events[i];
    event.sequence = reservation.first() + i;
    change.batch.Put(family(kEvents), SequenceKey(event.sequence), EncodeEvent(event));
  }
  absl::Status status = Write(change.batch, kind);
  if (!status.ok()) return status;  // the reservation gives its sequences up
  index_entries_.fetch_add(change.index_delta, std::memory_order_relaxed);
  live_counts_.Count(change.events);
  sequencer_.Publish(std::move(reservation), std::move(change.events));
  return absl::OkStatus();
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
  if (limits_.record_touches) {
    // A renewal that is an event is written with it (its record too, so they agree after a crash).
    Change change;
    Put(change.batch, session);
    change.events.push_back(EventOf(SessionEvent::Kind::kTouched, session.meta, now));
    if (absl::Status status = Commit(change, WriteKind::kRenewal); !status.ok()) return status;
    if (pending != stripe.renewals.end()) stripe.renewals.erase(pending);
    return absl::OkStatus();
  }
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
  // Held in memory: the stored last_access_at lags by less than kRenewalWriteWindow until the
  // renewal is written (a crash loses that much of it).
  stripe.renewals.insert_or_assign(
      session.meta.id,
      PendingRenewal{written, session.meta.idle_expires_at, session.meta.last_access_at});
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

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RocksDbStore::IndexEntries(
    absl::string_view principal, const std::string& from_key, size_t limit) {
  const std::string prefix = PrincipalPrefix(principal);
  std::vector<std::pair<std::string, std::string>> entries;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), family(kPrincipals)));
  for (it->Seek(from_key.empty() ? prefix : from_key);
       it->Valid() && entries.size() < limit &&
       absl::StartsWith(absl::string_view(it->key().data(), it->key().size()), prefix);
       it->Next()) {
    entries.emplace_back(it->key().ToString(), it->value().ToString());
  }
  if (!it->status().ok()) return FromRocksDbStatus(it->status(), "reading the principal index");
  return entries;
}

absl::StatusOr<std::vector<Member>> RocksDbStore::Census(absl::string_view principal,
                                                         absl::Time now) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> entries =
      IndexEntries(principal, "", SIZE_MAX);
  if (!entries.ok()) return entries.status();
  std::vector<Member> members;
  for (const auto& [key, id] : *entries) {
    Stripe& stripe = StripeFor(id);
    absl::MutexLock lock(&stripe.mu);
    absl::StatusOr<std::optional<StoredSession>> session = Find(stripe, id, now);
    if (!session.ok()) return session.status();
    if (session->has_value() && !(*session)->stub && (*session)->meta.principal == principal) {
      members.push_back({(*session)->meta.last_access_at, id});
    }
  }
  std::stable_sort(members.begin(), members.end(),
                   [](const Member& a, const Member& b) { return a.last_access < b.last_access; });
  return members;
}

absl::StatusOr<std::vector<std::string>> RocksDbStore::MakeRoom(absl::string_view principal,
                                                                absl::Time now) {
  const size_t cap = limits_.max_sessions_per_principal;
  absl::StatusOr<std::vector<Member>> members = Census(principal, now);
  if (!members.ok()) return members.status();
  std::vector<std::string> victims;
  if (members->size() < cap) return victims;
  if (limits_.principal_cap_policy == PrincipalCapPolicy::kRejectNew) {
    return PrincipalCapError(limits_);
  }
  for (size_t i = 0; i + cap <= members->size(); ++i) victims.push_back((*members)[i].id);
  return victims;
}

absl::StatusOr<std::vector<std::string>> RocksDbStore::EndOwned(Change& change,
                                                                const std::vector<std::string>& ids,
                                                                absl::string_view principal,
                                                                GoneReason reason, absl::Time now) {
  std::vector<std::string> ended;
  for (const std::string& id : ids) {
    // Still live? It may have ended since the caller looked (for an eviction: that made room just
    // the same).
    absl::StatusOr<std::optional<StoredSession>> session = Find(StripeFor(id), id, now);
    if (!session.ok()) return session.status();
    if (!session->has_value() || (*session)->stub || (*session)->meta.principal != principal) {
      continue;
    }
    End(change, **session, GoneDetails{reason, now}, "", "", now);
    ended.push_back(id);
  }
  return ended;
}

absl::StatusOr<SessionMeta> RocksDbStore::Create(NewSession request) {
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
  std::string replay_id;
  absl::StatusOr<SessionMeta> meta;
  if (limits_.max_sessions_per_principal != 0 && !session.meta.principal.empty()) {
    // Under the principal's lock no other session joins it, so the census stays true.
    absl::MutexLock principal_lock(&PrincipalLock(session.meta.principal));
    meta = CreateLocked(session, request, now, &replay_id);
  } else {
    meta = CreateLocked(session, request, now, &replay_id);
  }
  if (replay_id.empty()) return meta;
  return Peek(replay_id);
}

absl::StatusOr<SessionMeta> RocksDbStore::CreateLocked(StoredSession& session, NewSession& request,
                                                       absl::Time now, std::string* replay_id) {
  // A Create with a request_id files a stub under CreateStubKey in the same batch and under both
  // locks, so concurrent attempts of one request create one session.
  const std::string stub_key =
      request.request_id.empty() ? session.meta.id : CreateStubKey(request.request_id);
  Stripe& stripe = StripeFor(session.meta.id);
  Stripe& stub_stripe = StripeFor(stub_key);
  const bool capped = limits_.max_sessions_per_principal != 0 && !session.meta.principal.empty();
  std::vector<std::string> victims;
  if (capped) {
    absl::StatusOr<std::vector<std::string>> room = MakeRoom(session.meta.principal, now);
    if (!room.ok()) {
      // A retry of a Create that succeeded answers as it did, whatever the cap says now.
      if (!request.request_id.empty()) {
        absl::MutexLock lock(&stub_stripe.mu);
        absl::StatusOr<std::optional<StoredSession>> stub = Find(stub_stripe, stub_key, now);
        if (stub.ok() && stub->has_value()) {
          *replay_id = (*stub)->successor;
          return SessionMeta();
        }
      }
      return room.status();
    }
    victims = *std::move(room);
  }
  std::vector<absl::Mutex*> locks = {&stripe.mu, &stub_stripe.mu};
  for (const std::string& victim : victims) locks.push_back(&StripeFor(victim).mu);
  LockSet lock(std::move(locks));
  if (!request.request_id.empty()) {
    absl::StatusOr<std::optional<StoredSession>> stub = Find(stub_stripe, stub_key, now);
    if (!stub.ok()) return stub.status();
    if (stub->has_value()) {
      *replay_id = (*stub)->successor;
      return SessionMeta();
    }
  }
  absl::StatusOr<std::optional<StoredSession>> old = Find(stripe, session.meta.id, now);
  if (!old.ok()) return old.status();
  if (old->has_value()) {
    return absl::AlreadyExistsError("a session with this id exists or ended recently");
  }
  // Held until Commit has counted the new session (or the create failed).
  absl::StatusOr<LiveSessionCounts::Place> place = live_counts_.Reserve(request.live_cap);
  if (!place.ok()) return place.status();
  Change change;
  absl::StatusOr<std::vector<std::string>> evicted =
      EndOwned(change, victims, session.meta.principal, GoneReason::kEvicted, now);
  if (!evicted.ok()) return evicted.status();
  AddSession(change, session);
  change.events.push_back(EventOf(SessionEvent::Kind::kCreated, session.meta, now));
  if (!request.request_id.empty()) {
    StoredSession stub = MakeStub(stub_key, session.meta.id, session.meta.version,
                                  std::move(request.request_id), now, limits_);
    PutAndFile(change.batch, stub);
  }
  if (absl::Status written = Commit(change, WriteKind::kChange); !written.ok()) return written;
  stripe.renewals.erase(session.meta.id);
  for (const std::string& victim : victims) StripeFor(victim).renewals.erase(victim);
  return session.meta;
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
  Change change;
  absl::StatusOr<SessionMeta> meta =
      ApplyLocked(stripe, id, std::move(mutations), conditions, now, change);
  if (!meta.ok() || change.batch.Count() == 0) return meta;
  if (absl::Status status = Commit(change, WriteKind::kChange); !status.ok()) return status;
  stripe.renewals.erase(id);
  return meta;
}

absl::StatusOr<SessionMeta> RocksDbStore::ApplyLocked(Stripe& stripe, absl::string_view id,
                                                      std::vector<Mutation> mutations,
                                                      const Conditions& conditions, absl::Time now,
                                                      Change& change) {
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
  std::optional<SessionEvent> event;
  if (plan->changes) event = UpdatedEvent(live.meta, mutations);
  live.state.Commit(std::move(mutations), *plan, limits_);
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
  if (event.has_value()) change.events.push_back(*std::move(event));
  Put(change.batch, live);
  return live.meta;
}

void RocksDbStore::ApplyGrouped(absl::string_view id, std::vector<Mutation> mutations,
                                const Conditions& conditions, ApplyDone done) {
  if (!GroupsApplies()) {
    Store::ApplyGrouped(id, std::move(mutations), conditions, std::move(done));
    return;
  }
  absl::MutexLock lock(&queue_mu_);
  queued_.push_back(
      QueuedApply{std::string(id), std::move(mutations), conditions, std::move(done)});
}

void RocksDbStore::RunCommitter() {
  std::deque<QueuedApply> group, deferred;
  for (;;) {
    {
      absl::MutexLock lock(&queue_mu_);
      if (deferred.empty()) {
        queue_mu_.Await(absl::Condition(
            +[](RocksDbStore* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->queue_mu_) {
              return self->closing_ || !self->queued_.empty();
            },
            this));
      }
      if (deferred.empty() && queued_.empty()) return;  // closing, and nothing left
      // Deferred calls came first: they go first again, so one session's calls keep their order.
      group = std::move(deferred);
      deferred.clear();
      while (!queued_.empty()) {
        group.push_back(std::move(queued_.front()));
        queued_.pop_front();
      }
    }
    CommitGroup(group, deferred);
    group.clear();
  }
}

void RocksDbStore::CommitGroup(std::deque<QueuedApply>& group, std::deque<QueuedApply>& deferred) {
  const absl::Time now = clock_->Now();
  std::vector<Stripe*> held;
  absl::flat_hash_set<Stripe*> skipped;  // stripes whose calls wait for the next group
  absl::flat_hash_set<absl::string_view> in_group;
  std::vector<std::pair<QueuedApply*, absl::StatusOr<SessionMeta>>> answers;
  std::vector<size_t> written;  // indexes in `answers` of the calls the group's write carries
  Change change;
  for (QueuedApply& call : group) {
    Stripe& stripe = StripeFor(call.id);
    const bool holds = std::find(held.begin(), held.end(), &stripe) != held.end();
    // Holding no lock, the committer may wait for one; holding some, it only tries, since another
    // thread may hold this stripe while it waits for one the group holds (locks in address order).
    const bool locked = holds || (held.empty() ? (stripe.mu.Lock(), true) : stripe.mu.TryLock());
    if (!locked || skipped.contains(&stripe) || in_group.contains(call.id)) {
      if (locked && !holds) stripe.mu.Unlock();
      skipped.insert(&stripe);
      deferred.push_back(std::move(call));
      continue;
    }
    if (!holds) held.push_back(&stripe);
    const size_t before = change.batch.Count();
    absl::StatusOr<SessionMeta> meta =
        ApplyLocked(stripe, call.id, std::move(call.mutations), call.conditions, now, change);
    if (meta.ok() && change.batch.Count() > before) {
      in_group.insert(call.id);
      written.push_back(answers.size());
    }
    answers.emplace_back(&call, std::move(meta));
  }
  if (!written.empty()) {
    // Sequences are reserved here, under every session's lock of the group (each session is in it
    // once), so each session's events keep the order of its changes.
    const absl::Status status = Commit(change, WriteKind::kChange);
    for (const size_t i : written) {
      if (!status.ok()) {
        answers[i].second = status;
      } else {
        StripeFor(answers[i].first->id).renewals.erase(answers[i].first->id);
      }
    }
  }
  for (auto stripe = held.rbegin(); stripe != held.rend(); ++stripe) (*stripe)->mu.Unlock();
  for (auto& [call, meta] : answers) std::move(call->done)(std::move(meta));
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
  absl::StatusOr<std::optional<StoredSession>> session = Find(stripe, id, now);
  if (!session.ok()) return session.status();
  if (!session->has_value()) return false;
  const StoredSession& live = **session;
  if (live.stub) return live.state.FindRequest(request_id, now).has_value();
  if (absl::Status status = live.state.CheckIfVersion(if_version); !status.ok()) return status;
  Change change;
  End(change, live, GoneDetails{GoneReason::kDeleted, now}, "", request_id, now);
  if (absl::Status status = Commit(change, WriteKind::kRemoval); !status.ok()) return status;
  stripe.renewals.erase(id);
  return true;
}

absl::StatusOr<SessionMeta> RocksDbStore::Rotate(absl::string_view id, std::string new_id,
                                                 std::optional<uint64_t> if_version,
                                                 absl::string_view request_id,
                                                 const std::optional<std::string>& bind_principal) {
  for (int attempt = 0; attempt < kRotateAttempts; ++attempt) {
    // The session's principal and the bound one are locked first (principal locks come before
    // stripe locks): a rotation renames an index entry or moves it to another principal.
    absl::StatusOr<std::optional<std::string>> principal = PrincipalOf(id);
    if (!principal.ok()) return principal.status();
    std::vector<absl::Mutex*> principal_locks;
    if (principal->has_value() && !(*principal)->empty()) {
      principal_locks.push_back(&PrincipalLock(**principal));
    }
    if (principal->has_value() && bind_principal.has_value() && !bind_principal->empty()) {
      principal_locks.push_back(&PrincipalLock(*bind_principal));
    }
    RotateOutcome outcome;
    {
      LockSet lock(std::move(principal_locks));
      outcome = RotateLocked(id, new_id, if_version, request_id, bind_principal, *principal);
    }
    if (outcome.retry) continue;
    if (!outcome.replay_id.empty()) return Peek(outcome.replay_id);
    return outcome.meta;
  }
  return absl::UnavailableError("the session kept changing principal during the rotation; retry");
}

RocksDbStore::RotateOutcome RocksDbStore::RotateLocked(
    absl::string_view id, const std::string& new_id, std::optional<uint64_t> if_version,
    absl::string_view request_id, const std::optional<std::string>& bind_principal,
    const std::optional<std::string>& principal) {
  const absl::Time now = clock_->Now();
  RotateOutcome outcome;
  const bool rebinds =
      principal.has_value() && bind_principal.has_value() && *bind_principal != *principal;
  std::vector<std::string> victims;
  if (rebinds && !bind_principal->empty() && limits_.max_sessions_per_principal != 0) {
    absl::StatusOr<std::vector<std::string>> room = MakeRoom(*bind_principal, now);
    if (!room.ok()) {
      outcome.meta = room.status();
      return outcome;
    }
    victims = *std::move(room);
  }
  Stripe& stripe = StripeFor(id);
  Stripe& new_stripe = StripeFor(new_id);
  std::vector<absl::Mutex*> locks = {&stripe.mu, &new_stripe.mu};
  for (const std::string& victim : victims) locks.push_back(&StripeFor(victim).mu);
  LockSet lock(std::move(locks));
  absl::StatusOr<std::optional<StoredSession>> session = Find(stripe, id, now);
  if (!session.ok()) {
    outcome.meta = session.status();
    return outcome;
  }
  if (!session->has_value() || (*session)->stub) {
    if (session->has_value() && !(*session)->successor.empty() &&
        (*session)->state.FindRequest(request_id, now).has_value()) {
      outcome.replay_id = (*session)->successor;
    }
    outcome.meta = NotFoundFor(*session);
    return outcome;
  }
  StoredSession& live = **session;
  if (!principal.has_value() || live.meta.principal != *principal) {
    outcome.retry = true;
    return outcome;
  }
  if (absl::Status status = live.state.CheckIfVersion(if_version); !status.ok()) {
    outcome.meta = status;
    return outcome;
  }
  absl::StatusOr<std::optional<StoredSession>> taken = Find(new_stripe, new_id, now);
  if (!taken.ok() || taken->has_value()) {
    outcome.meta =
        taken.ok() ? absl::AlreadyExistsError("a session with the new id exists") : taken.status();
    return outcome;
  }
  Change change;
  if (rebinds) {
    absl::StatusOr<std::vector<std::string>> evicted =
        EndOwned(change, victims, *bind_principal, GoneReason::kEvicted, now);
    if (!evicted.ok()) {
      outcome.meta = evicted.status();
      return outcome;
    }
  }
  const std::string old_id = live.meta.id;
  End(change, live, GoneDetails{GoneReason::kRotated, now}, new_id, request_id, now);
  live.meta.id = new_id;
  if (rebinds) live.meta.principal = *bind_principal;
  live.state.BumpVersion();
  live.meta.version = live.state.version();
  RenewStored(live.meta, now);
  AddSession(change, live);
  SessionEvent event = EventOf(SessionEvent::Kind::kRotated, live.meta, now);
  event.id = old_id;
  event.new_id = new_id;
  change.events.push_back(std::move(event));
  if (absl::Status status = Commit(change, WriteKind::kChange); !status.ok()) {
    outcome.meta = status;
    return outcome;
  }
  stripe.renewals.erase(old_id);
  new_stripe.renewals.erase(new_id);
  for (const std::string& victim : victims) StripeFor(victim).renewals.erase(victim);
  outcome.meta = live.meta;
  return outcome;
}

absl::StatusOr<SessionPage> RocksDbStore::ListSessions(absl::string_view principal,
                                                       size_t page_size,
                                                       absl::string_view page_token) {
  std::string after;
  if (!page_token.empty()) {
    absl::StatusOr<PageCursor> cursor = DecodePageToken(page_token);
    if (!cursor.ok()) return cursor.status();
    after = PrincipalKey(principal, cursor->created_at, cursor->id);
  }
  const absl::Time now = clock_->Now();
  SessionPage page;
  std::string from = after;
  // Reads the index a page (and one entry) at a time, skipping entries whose session ended since
  // the read; every session a page shows is live when it is read.
  for (;;) {
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> entries =
        IndexEntries(principal, from, page_size + 2);
    if (!entries.ok()) return entries.status();
    for (const auto& [key, id] : *entries) {
      if (key == after) continue;
      if (page.sessions.size() == page_size) {
        const SessionMeta& last = page.sessions.back();
        page.next_page_token = EncodePageToken(PageCursor{last.created_at, last.id});
        return page;
      }
      after = key;
      Stripe& stripe = StripeFor(id);
      absl::MutexLock lock(&stripe.mu);
      absl::StatusOr<std::optional<StoredSession>> session = Find(stripe, id, now);
      if (!session.ok()) return session.status();
      if (session->has_value() && !(*session)->stub && (*session)->meta.principal == principal) {
        page.sessions.push_back(std::move((*session)->meta));
      }
    }
    if (entries->size() < page_size + 2) return page;
    from = after;
  }
}

absl::StatusOr<size_t> RocksDbStore::RevokeSessions(absl::string_view principal,
                                                    absl::Span<const std::string> except_ids) {
  // Under the principal's lock no session joins it or changes id: the index read below is exact.
  absl::MutexLock principal_lock(&PrincipalLock(principal));
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> entries =
      IndexEntries(principal, "", SIZE_MAX);
  if (!entries.ok()) return entries.status();
  std::vector<std::string> ids;
  for (auto& [key, id] : *entries) {
    if (std::find(except_ids.begin(), except_ids.end(), id) == except_ids.end()) {
      ids.push_back(std::move(id));
    }
  }
  size_t revoked = 0;
  for (size_t begin = 0; begin < ids.size(); begin += kRevokeBatch) {
    const std::vector<std::string> chunk(ids.begin() + begin,
                                         ids.begin() + std::min(ids.size(), begin + kRevokeBatch));
    absl::StatusOr<size_t> ended = RevokeLocked(chunk, principal, clock_->Now());
    if (!ended.ok()) return ended.status();
    revoked += *ended;
  }
  return revoked;
}

absl::StatusOr<size_t> RocksDbStore::RevokeLocked(const std::vector<std::string>& ids,
                                                  absl::string_view principal, absl::Time now) {
  std::vector<absl::Mutex*> locks;
  for (const std::string& id : ids) locks.push_back(&StripeFor(id).mu);
  LockSet lock(std::move(locks));
  Change change;
  absl::StatusOr<std::vector<std::string>> ended =
      EndOwned(change, ids, principal, GoneReason::kRevoked, now);
  if (!ended.ok()) return ended.status();
  if (ended->empty()) return 0;
  if (absl::Status status = Commit(change, WriteKind::kRemoval); !status.ok()) return status;
  for (const std::string& id : *ended) StripeFor(id).renewals.erase(id);
  return ended->size();
}

Database RocksDbStore::SwapDatabase(Database writable) {
  Database old{nullptr, families_, true};
  for (Stripe& stripe : stripes_) stripe.mu.Lock();
  {
    absl::MutexLock db_lock(&db_mu_);
    old.db = std::exchange(db_, std::move(writable.db));
    families_ = std::move(writable.families);
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
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, family(kExpiry)));
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
    Change change;
    // This index entry goes in any case. Its session expired (and ends: event, index entry, gone
    // stub), or was renewed since it was filed (and is refiled under its current deadline), or is
    // gone, or cannot be read back (and goes too: it could never expire, and stopping here would
    // stop all expiry; its principal index entry, unreadable with it, stays).
    change.batch.Delete(family(kExpiry), key);
    bool writes_session = undecodable;
    if (undecodable) {
      change.batch.Delete(family(kSessions), ToSlice(id));
    } else if (session->has_value() && (*session)->indexed_deadline == deadline) {
      writes_session = true;
      StoredSession& stored = **session;
      if (stored.meta.idle_expires_at > now) {
        PutAndFile(change.batch, stored);
      } else if (stored.stub) {
        change.batch.Delete(family(kSessions), ToSlice(id));
      } else {
        const SessionMeta& meta = stored.meta;
        End(change, stored,
            GoneDetails{ExpiryReason(meta.idle_expires_at, meta.absolute_expires_at),
                        meta.idle_expires_at},
            "", "", now);
        ++expired;
      }
    }
    if (absl::Status status = Commit(change, WriteKind::kReclaim); !status.ok()) return status;
    if (undecodable) CountUndecodable(session.status());
    if (writes_session) stripe.renewals.erase(id);
  }
  // A writer that read the clock just before this sweep can still file a deadline slightly before
  // `now`; the margin keeps such entries above the bound.
  if (drained) swept_until_ = ExpiryKey(now - kSweepBoundMargin, "");
  if (absl::Status trimmed = TrimEvents(); !trimmed.ok()) return trimmed;
  return expired;
}

absl::Status RocksDbStore::TrimEvents() {
  const uint64_t published = sequencer_.published_until();
  if (published <= limits_.event_retention) return absl::OkStatus();
  const uint64_t keep_from = published - limits_.event_retention;
  // One range deletion per sweep at most, and only once there is something to drop.
  if (keep_from <= trimmed_until_) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  batch.DeleteRange(family(kEvents), SequenceKey(trimmed_until_), SequenceKey(keep_from));
  if (absl::Status status = Write(batch, WriteKind::kReclaim); !status.ok()) return status;
  trimmed_until_ = keep_from;
  return absl::OkStatus();
}

StoreStats RocksDbStore::Stats() const {
  absl::MutexLock lock(&db_mu_);
  uint64_t keys = 0, bytes = 0;
  db_->GetIntProperty(family(kSessions), "rocksdb.estimate-num-keys", &keys);
  db_->GetIntProperty(family(kSessions), "rocksdb.estimate-live-data-size", &bytes);
  StoreStats stats;
  stats.live_sessions = static_cast<size_t>(keys);
  stats.approximate_bytes = static_cast<size_t>(bytes);
  stats.undecodable_records_deleted = undecodable_records_deleted_.load();
  stats.principal_index_entries =
      static_cast<size_t>(std::max<int64_t>(0, index_entries_.load(std::memory_order_relaxed)));
  return stats;
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
  absl::StatusOr<StoredEvents> events = LoadEvents(*database, options.limits.event_retention);
  absl::StatusOr<size_t> index_entries =
      events.ok() ? CountIndexEntries(*database) : absl::StatusOr<size_t>(0);
  // Only a server with tenants counts them (and pays for the read of every record).
  absl::StatusOr<LiveSessionsAtOpen> live =
      events.ok() && index_entries.ok() && options.limits.count_tenant_sessions
          ? CountLiveSessions(*database,
                              (options.clock != nullptr ? options.clock : RealClock())->Now())
          : LiveSessionsAtOpen();
  if (!events.ok() || !index_entries.ok() || !live.ok()) {
    CloseDatabase(*database);
    return !events.ok()          ? events.status()
           : !index_entries.ok() ? index_entries.status()
                                 : live.status();
  }
  return std::make_unique<RocksDbStore>(options, std::move(disk_guard), std::move(env),
                                        std::move(db_options), *std::move(database),
                                        *std::move(events), *index_entries, *std::move(live));
}

}  // namespace sessiond::storage
