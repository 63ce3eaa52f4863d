#include "storage/rocksdb_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/session_codec.h"
#include "storage/session_gone.h"
#include "storage/store_contract_test.h"
#include "storage/testing/fake_clock.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_entries.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::Pair;

// Tests need little disk; a small reserve keeps them running on a nearly full machine.
constexpr uint64_t kTestDiskReserve = uint64_t{16} << 20;

// Every database of this test process lives under one directory, removed when the tests end.
const std::filesystem::path& TestRoot() {
  static const std::filesystem::path root =
      std::filesystem::temp_directory_path() / absl::StrCat("sessiond-rocksdb-test-", getpid());
  return root;
}

class RemoveTestRoot : public ::testing::Environment {
 public:
  void TearDown() override { std::filesystem::remove_all(TestRoot()); }
};
const auto* const kRemoveTestRoot = ::testing::AddGlobalTestEnvironment(new RemoveTestRoot);

std::string NewDatabasePath() {
  static std::atomic<int> next{0};
  return (TestRoot() / absl::StrCat("db-", next++)).string();
}

absl::StatusOr<std::unique_ptr<Store>> MakeRocksDbStore(Clock* clock, const SessionLimits& limits,
                                                        Durability durability) {
  // As a server with tenants opens it, so that the live-cap contract applies.
  SessionLimits with_tenants = limits;
  with_tenants.count_tenant_sessions = true;
  return OpenRocksDbStore({.path = NewDatabasePath(),
                           .clock = clock,
                           .limits = with_tenants,
                           .durability = durability,
                           .min_free_disk_bytes = kTestDiskReserve});
}

INSTANTIATE_TEST_SUITE_P(
    RocksDb, StoreContractTest,
    ::testing::Values(StoreFactory{"rocksdb_sync",
                                   [](Clock* clock, const SessionLimits& limits) {
                                     return MakeRocksDbStore(clock, limits, Durability::kSync);
                                   }},
                      StoreFactory{"rocksdb_async",
                                   [](Clock* clock, const SessionLimits& limits) {
                                     return MakeRocksDbStore(clock, limits, Durability::kAsync);
                                   }}),
    [](const auto& info) { return info.param.name; });

// Every entry of `id`, without renewing it; its metadata goes to `*meta`.
absl::StatusOr<std::map<std::string, Value>> GetAll(Store& store, absl::string_view id,
                                                    SessionMeta* meta) {
  return ::sessiond::testing::GetAllEntries(store, id, Renewal::kNoRenew, meta);
}

// The store's column families, for opening its database directly.
std::vector<rocksdb::ColumnFamilyDescriptor> Families() {
  return {{rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
          {"expiry", rocksdb::ColumnFamilyOptions()},
          {"principals", rocksdb::ColumnFamilyOptions()},
          {"events", rocksdb::ColumnFamilyOptions()}};
}

// Overwrites the stored record of session `id` in the closed database at `path` with `bytes`.
void OverwriteRecord(const std::string& path, absl::string_view id, absl::string_view bytes) {
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status opened =
      rocksdb::DB::Open(rocksdb::DBOptions(), path, Families(), &families, &db);
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), families[0], rocksdb::Slice(id.data(), id.size()),
                      rocksdb::Slice(bytes.data(), bytes.size()))
                  .ok());
  for (rocksdb::ColumnFamilyHandle* family : families) db->DestroyColumnFamilyHandle(family);
  delete db;
}

// The database at `path` opened read only, as a restart after a crash would find it; the store may
// have it open.
struct ReadOnlyDatabase {
  ~ReadOnlyDatabase() {
    for (rocksdb::ColumnFamilyHandle* family : families) db->DestroyColumnFamilyHandle(family);
  }
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
};

absl::StatusOr<std::unique_ptr<ReadOnlyDatabase>> OpenReadOnly(const std::string& path) {
  auto database = std::make_unique<ReadOnlyDatabase>();
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status opened = rocksdb::DB::OpenForReadOnly(
      rocksdb::DBOptions(), path, Families(), &database->families, &raw);
  if (!opened.ok()) return absl::UnavailableError(opened.ToString());
  database->db.reset(raw);
  return database;
}

// The idle deadline stored for session `id` in the database at `path` (see OpenReadOnly).
absl::StatusOr<absl::Time> StoredIdleDeadline(const std::string& path, absl::string_view id) {
  absl::StatusOr<std::unique_ptr<ReadOnlyDatabase>> database = OpenReadOnly(path);
  if (!database.ok()) return database.status();
  std::string bytes;
  const rocksdb::Status read =
      (*database)->db->Get(rocksdb::ReadOptions(), (*database)->families[0],
                           rocksdb::Slice(id.data(), id.size()), &bytes);
  if (!read.ok()) return absl::NotFoundError(read.ToString());
  absl::StatusOr<StoredSession> session = DecodeSession(id, bytes);
  if (!session.ok()) return session.status();
  return session->meta.idle_expires_at;
}

class RocksDbStoreTest : public ::testing::Test {
 protected:
  // Opens the test's database; aborts the test if that fails.
  std::unique_ptr<Store> Open() {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksDbStore(
        {.path = path_, .clock = &clock_, .min_free_disk_bytes = kTestDiskReserve});
    if (!store.ok()) {
      ADD_FAILURE() << store.status();
      std::abort();
    }
    return *std::move(store);
  }

  FakeClock clock_;
  const std::string path_ = NewDatabasePath();
};

TEST_F(RocksDbStoreTest, ARestartKeepsSessionsVersionsAndExpiryTimes) {
  SessionMeta before;
  {
    std::unique_ptr<Store> store = Open();
    ASSERT_OK(store->Create({"session-a",
                             "alice",
                             absl::Minutes(20),
                             absl::Hours(12),
                             {{"cart", int64_t{3}}, {"name", std::string("Zoë")}}}));
    clock_.Advance(absl::Minutes(5));
    ASSERT_OK(store->Apply("session-a", {Mutation::Set("flash", Bytes{"hi"})}, {}));
    ASSERT_OK(store->Create({"session-b", "", absl::Minutes(20), absl::Hours(12), {}}));
    ASSERT_THAT(store->Delete("session-b", std::nullopt, ""), IsOkAndHolds(true));
    ASSERT_OK(GetAll(*store, "session-a", &before));
  }
  std::unique_ptr<Store> reopened = Open();
  SessionMeta after;
  EXPECT_THAT(
      GetAll(*reopened, "session-a", &after),
      IsOkAndHolds(ElementsAre(Pair("cart", Value(int64_t{3})), Pair("flash", Value(Bytes{"hi"})),
                               Pair("name", Value(std::string("Zoë"))))));
  EXPECT_EQ(after.version, before.version);
  EXPECT_EQ(after.principal, "alice");
  EXPECT_EQ(after.created_at, before.created_at);
  EXPECT_EQ(after.idle_expires_at, before.idle_expires_at);
  EXPECT_EQ(after.absolute_expires_at, before.absolute_expires_at);
  EXPECT_EQ(after.idle_timeout, before.idle_timeout);
  EXPECT_THAT(reopened->Touch("session-b"), StatusIs(absl::StatusCode::kNotFound))
      << "a delete survives the restart";
}

TEST_F(RocksDbStoreTest, RequestIdsSurviveARestart) {
  auto with_id = [](std::string request_id) {
    Conditions conditions;
    conditions.request_id = std::move(request_id);
    return conditions;
  };
  {
    std::unique_ptr<Store> store = Open();
    NewSession create{"s", "", absl::Minutes(20), absl::Hours(12), {}};
    create.request_id = "create";
    ASSERT_OK(store->Create(std::move(create)));
    ASSERT_OK(store->Apply("s", {Mutation::Set("n", int64_t{1})}, with_id("set")));
    ASSERT_OK(store->Create({"gone", "", absl::Minutes(20), absl::Hours(12), {}}));
    ASSERT_THAT(store->Delete("gone", std::nullopt, "delete"), IsOkAndHolds(true));
  }
  std::unique_ptr<Store> reopened = Open();
  EXPECT_THAT(reopened->Apply("s", {Mutation::Set("n", int64_t{2})}, with_id("set")),
              IsOkAndHolds(Field(&SessionMeta::version, 2u)));
  EXPECT_THAT(reopened->Delete("gone", std::nullopt, "delete"), IsOkAndHolds(true));
  NewSession retry{"other", "", absl::Minutes(20), absl::Hours(12), {}};
  retry.request_id = "create";
  EXPECT_THAT(reopened->Create(std::move(retry)), IsOkAndHolds(Field(&SessionMeta::id, "s")));
}

TEST_F(RocksDbStoreTest, ConflictDetectionSurvivesARestart) {
  {
    std::unique_ptr<Store> store = Open();
    ASSERT_OK(store->Create({"s", "", absl::Minutes(20), absl::Hours(12), {{"k", true}}}));
    ASSERT_OK(store->Apply("s", {Mutation::Remove("k")}, {}));
  }
  std::unique_ptr<Store> reopened = Open();
  EXPECT_THAT(reopened->Apply("s", {Mutation::Set("k", false)}, {.read_version = 1}),
              StatusIs(absl::StatusCode::kAborted))
      << "the removal's tombstone was stored";
}

TEST_F(RocksDbStoreTest, GroupedCommitsKeepEachSessionsOrderAndEventsAndSurviveARestart) {
  constexpr int kSessions = 8, kCallsPerSession = 20;
  {
    std::unique_ptr<Store> store = Open();
    ASSERT_TRUE(store->GroupsApplies()) << "sync durability, the default, groups commits";
    for (int s = 0; s < kSessions; ++s) {
      ASSERT_OK(store->Create({absl::StrCat("s", s), "", absl::Minutes(20), absl::Hours(12), {}}));
    }
    // Every call is queued at once (the caller never waits); each session's calls must still
    // apply in the order they were queued, each answered once, one version apart.
    absl::Mutex mu;
    // Per session: (k, the version the k-th call's answer says), in the order of the answers.
    std::map<std::string, std::vector<std::pair<int, uint64_t>>> versions;
    std::vector<absl::Status> stale;
    std::atomic<int> answered{0};
    for (int k = 1; k <= kCallsPerSession; ++k) {
      for (int s = 0; s < kSessions; ++s) {
        const std::string id = absl::StrCat("s", s);
        store->ApplyGrouped(id, {Mutation::Set("n", int64_t{k})}, {},
                            [&, id, k](absl::StatusOr<SessionMeta> meta) {
                              absl::MutexLock lock(&mu);
                              if (meta.ok()) versions[id].emplace_back(k, meta->version);
                              ++answered;
                            });
      }
      // A stale if_version fails alone, without failing the group it is in.
      store->ApplyGrouped("s0", {Mutation::Set("x", true)}, {.if_version = 1},
                          [&](absl::StatusOr<SessionMeta> meta) {
                            absl::MutexLock lock(&mu);
                            stale.push_back(meta.status());
                            ++answered;
                          });
    }
    const int calls = kCallsPerSession * (kSessions + 1);
    while (answered.load() < calls) absl::SleepFor(absl::Milliseconds(1));
    absl::MutexLock lock(&mu);
    for (int s = 0; s < kSessions; ++s) {
      std::vector<std::pair<int, uint64_t>> expected;
      for (int k = 1; k <= kCallsPerSession; ++k) expected.emplace_back(k, k + 1);
      EXPECT_EQ(versions[absl::StrCat("s", s)], expected) << "s" << s;
    }
    for (const absl::Status& status : stale) {
      EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
    }
    // The log holds each session's updates in the order of its versions.
    ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> events, store->Events().Read(1, 10'000));
    std::map<std::string, uint64_t> last;
    size_t updates = 0;
    for (const SessionEvent& event : events) {
      if (event.kind != SessionEvent::Kind::kUpdated) continue;
      ++updates;
      EXPECT_EQ(event.version, last[event.id] == 0 ? 2 : last[event.id] + 1) << event.id;
      last[event.id] = event.version;
    }
    EXPECT_EQ(updates, size_t{kSessions * kCallsPerSession});
  }
  std::unique_ptr<Store> reopened = Open();
  for (int s = 0; s < kSessions; ++s) {
    SessionMeta meta;
    EXPECT_THAT(GetAll(*reopened, absl::StrCat("s", s), &meta),
                IsOkAndHolds(ElementsAre(Pair("n", Value(int64_t{kCallsPerSession})))));
    EXPECT_EQ(meta.version, uint64_t{kCallsPerSession + 1});
  }
}

TEST_F(RocksDbStoreTest, RenewalsAreWrittenLessOftenAndACrashLosesLessThanASecondOfThem) {
  std::unique_ptr<Store> store = Open();
  ASSERT_OK(store->Create({"s", "", absl::Minutes(20), absl::Hours(12), {}}));
  int writes = 0;
  absl::Time last_stored = absl::InfinitePast();
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(absl::StrCat("touch ", i));
    clock_.Advance(absl::Milliseconds(300));
    ASSERT_OK_AND_ASSIGN(SessionMeta touched, store->Touch("s"));
    EXPECT_EQ(touched.idle_expires_at, clock_.Now() + absl::Minutes(20));
    ASSERT_OK_AND_ASSIGN(absl::Time stored, StoredIdleDeadline(path_, "s"));
    EXPECT_LE(stored, touched.idle_expires_at);
    EXPECT_GT(stored, touched.idle_expires_at - absl::Seconds(1));
    if (stored != last_stored) ++writes;
    last_stored = stored;
  }
  EXPECT_LE(writes, 7) << "renewals of 300 ms are written once they add up to a second";
}

TEST_F(RocksDbStoreTest, ACleanRestartKeepsRenewalsNotWrittenYet) {
  SessionMeta touched;
  {
    std::unique_ptr<Store> store = Open();
    ASSERT_OK(store->Create({"s", "", absl::Minutes(20), absl::Hours(12), {}}));
    clock_.Advance(absl::Milliseconds(300));
    ASSERT_OK_AND_ASSIGN(touched, store->Touch("s"));
  }
  std::unique_ptr<Store> reopened = Open();
  SessionMeta after;
  ASSERT_OK(GetAll(*reopened, "s", &after));
  EXPECT_EQ(after.idle_expires_at, touched.idle_expires_at);
}

TEST_F(RocksDbStoreTest, ExpiredSessionsAreSweptAfterARestartToo) {
  {
    std::unique_ptr<Store> store = Open();
    for (int i = 0; i < 100; ++i) {
      ASSERT_OK(store->Create(
          {absl::StrCat("s", i), "", absl::Minutes(i < 60 ? 1 : 30), absl::Hours(1), {}}));
    }
  }
  clock_.Advance(absl::Minutes(2));
  std::unique_ptr<Store> reopened = Open();
  EXPECT_THAT(reopened->SweepExpired(), IsOkAndHolds(60u));
  EXPECT_THAT(reopened->Touch("s0"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(reopened->Touch("s99"));
}

TEST_F(RocksDbStoreTest, RocksDbLogsToStderrNotToAFileOnTheDataDisk) {
  // RocksDB's own LOG file on a full data disk aborted sessiond (a failed append, then the next
  // message); the info log goes to stderr instead.
  std::unique_ptr<Store> store = Open();
  ASSERT_OK(store->Create({"s", "", absl::Minutes(20), absl::Hours(12), {}}));
  for (const auto& file : std::filesystem::directory_iterator(path_)) {
    EXPECT_FALSE(absl::StartsWith(file.path().filename().string(), "LOG"))
        << file.path() << " is a RocksDB info log on the data disk";
  }
}

TEST_F(RocksDbStoreTest, AnUndecodableRecordIsDeletedAndCountedAndSweepingGoesOn) {
  {
    std::unique_ptr<Store> store = Open();
    ASSERT_OK(store->Create({"bad", "", absl::Minutes(1), absl::Hours(1), {}}));
    ASSERT_OK(store->Create({"later", "", absl::Minutes(2), absl::Hours(1), {}}));
    ASSERT_OK(store->Create({"live", "", absl::Minutes(30), absl::Hours(1), {}}));
  }
  OverwriteRecord(path_, "bad", "\xff not a session record");
  clock_.Advance(absl::Minutes(3));
  std::unique_ptr<Store> store = Open();
  EXPECT_THAT(store->SweepExpired(), IsOkAndHolds(1u)) << "the session filed after it expired";
  EXPECT_EQ(store->Stats().undecodable_records_deleted, 1u);
  EXPECT_THAT(store->SweepExpired(), IsOkAndHolds(0u));
  EXPECT_EQ(store->Stats().undecodable_records_deleted, 1u) << "counted once";
  EXPECT_THAT(store->Touch("bad"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store->Touch("later"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(store->Touch("live"));
}

// The disk space the files under `path` take (allocated blocks, preallocation included).
uint64_t DiskUsage(const std::string& path) {
  uint64_t bytes = 0;
  for (const auto& file : std::filesystem::recursive_directory_iterator(path)) {
    struct stat stats;
    if (stat(file.path().c_str(), &stats) == 0) bytes += uint64_t{512} * stats.st_blocks;
  }
  return bytes;
}

TEST(RocksDbDiskUsageTest, ChurnOfAHundredTimesTheLiveDataLeavesABoundedDataDirectory) {
  // Small memtables and WAL bound, so that the constant part of the bound is small next to the
  // churn; the bound is the one rocksdb_store.h states for any settings.
  const RocksDbStoreOptions options{.path = NewDatabasePath(),
                                    .durability = Durability::kAsync,
                                    .memtable_bytes = size_t{1} << 20,
                                    .min_free_disk_bytes = kTestDiskReserve};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenRocksDbStore(options));
  std::mt19937_64 random(7);
  // Incompressible values, so that compression does not hide what is kept.
  auto blob = [&random] {
    std::string bytes(10'000, '\0');
    for (char& byte : bytes) byte = static_cast<char>(random());
    return Bytes{std::move(bytes)};
  };
  constexpr int kLiveSessions = 100;  // about 1 MB live
  for (int i = 0; i < kLiveSessions; ++i) {
    ASSERT_OK(store->Create(
        {absl::StrCat("live-", i), "", absl::Minutes(20), absl::Hours(12), {{"blob", blob()}}}));
  }
  const uint64_t live = kLiveSessions * 10'000;
  // The constant: 32 memtables (8 for each of 4 column families), plus 8 MiB for the disk guard's
  // ballast and log files' space allocated ahead of their writes.
  const uint64_t bound = 3 * live + 32 * options.memtable_bytes + (uint64_t{8} << 20);
  uint64_t peak = 0;
  for (int i = 0; i < 100 * kLiveSessions; ++i) {
    const std::string id = absl::StrCat("churn-", i);
    ASSERT_OK(store->Create({id, "", absl::Minutes(20), absl::Hours(12), {{"blob", blob()}}}));
    ASSERT_THAT(store->Delete(id, std::nullopt, ""), IsOkAndHolds(true));
    if (i % 100 == 0) peak = std::max(peak, DiskUsage(options.path));
  }
  const uint64_t after = DiskUsage(options.path);
  RecordProperty("peak_bytes", absl::StrCat(peak));
  RecordProperty("final_bytes", absl::StrCat(after));
  EXPECT_LE(peak, bound) << "live " << live << " bytes; bound: 3 x live + 32 x memtable + 8 MiB";
  EXPECT_LE(after, bound);
}

TEST_F(RocksDbStoreTest, ASecondOpenOfTheSameDirectoryIsRefused) {
  std::unique_ptr<Store> store = Open();
  EXPECT_THAT(
      OpenRocksDbStore({.path = path_, .clock = &clock_, .min_free_disk_bytes = kTestDiskReserve}),
      StatusIs(absl::StatusCode::kUnavailable));
}

// How many keys column family `family` (an index into Families()) holds in the database at
// `path` (see OpenReadOnly).
absl::StatusOr<size_t> CountKeys(const std::string& path, size_t family) {
  absl::StatusOr<std::unique_ptr<ReadOnlyDatabase>> database = OpenReadOnly(path);
  if (!database.ok()) return database.status();
  std::unique_ptr<rocksdb::Iterator> it(
      (*database)->db->NewIterator(rocksdb::ReadOptions(), (*database)->families[family]));
  size_t count = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++count;
  return count;
}
constexpr size_t kSessionsFamily = 0;
constexpr size_t kPrincipalsFamily = 2;
constexpr size_t kEventsFamily = 3;

TEST(RocksDbPrincipalIndexTest, AHundredThousandExpiredSessionsOfOnePrincipalLeaveNothing) {
  FakeClock clock;
  const std::string path = NewDatabasePath();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store,
                       OpenRocksDbStore({.path = path,
                                         .clock = &clock,
                                         .durability = Durability::kAsync,
                                         .min_free_disk_bytes = kTestDiskReserve}));
  constexpr int kSessions = 100'000;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kSessions; ++i) {
    ASSERT_OK(store->Create(
        {absl::StrCat("session-", i), "alice", absl::Minutes(1), absl::Hours(12), {}}));
  }
  const absl::Time created = absl::Now();
  ASSERT_EQ(store->Stats().principal_index_entries, size_t{kSessions});
  clock.Advance(absl::Minutes(2));
  size_t expired = 0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    ASSERT_OK_AND_ASSIGN(size_t swept, store->SweepExpired());
    if (swept == 0) break;
    expired += swept;
  }
  const absl::Time swept = absl::Now();
  EXPECT_EQ(expired, size_t{kSessions});
  EXPECT_EQ(store->Stats().principal_index_entries, 0u);
  EXPECT_THAT(CountKeys(path, kPrincipalsFamily), IsOkAndHolds(0u)) << "the index holds nothing";
  EXPECT_THAT(store->ListSessions("alice", 10, ""),
              IsOkAndHolds(Field(&SessionPage::sessions, ::testing::IsEmpty())));
  EXPECT_THAT(store->Touch("session-7"), StatusIs(absl::StatusCode::kNotFound));
  // Their gone stubs go once the retention has passed.
  clock.Advance(SessionLimits().gone_retention + absl::Minutes(1));
  for (int sweep = 0; sweep < 100 && CountKeys(path, kSessionsFamily).value_or(1) != 0; ++sweep) {
    ASSERT_OK(store->SweepExpired());
  }
  EXPECT_THAT(CountKeys(path, kSessionsFamily), IsOkAndHolds(0u));
  RecordProperty("create_seconds", absl::StrCat(absl::ToDoubleSeconds(created - start)));
  RecordProperty("expire_seconds", absl::StrCat(absl::ToDoubleSeconds(swept - created)));
  std::cout << "100k sessions of one principal: created in " << (created - start)
            << ", expired and swept in " << (swept - created) << "\n";
}

TEST_F(RocksDbStoreTest, IndexGoneReasonsAndEventsSurviveARestart) {
  std::vector<SessionEvent> before;
  {
    std::unique_ptr<Store> store = Open();
    NewSession labelled{"s1", "alice", absl::Minutes(20), absl::Hours(12), {}};
    labelled.labels = {{"device", "phone"}};
    ASSERT_OK(store->Create(labelled));
    clock_.Advance(absl::Seconds(1));
    ASSERT_OK(store->Create({"s2", "alice", absl::Minutes(20), absl::Hours(12), {}}));
    ASSERT_OK(store->Apply("s1", {Mutation::Set("k", true)}, {}));
    ASSERT_OK(store->Create({"s3", "alice", absl::Minutes(20), absl::Hours(12), {}}));
    ASSERT_OK(store->Delete("s3", std::nullopt, ""));
    ASSERT_OK_AND_ASSIGN(before, store->Events().Read(1, 100));
    ASSERT_EQ(before.size(), 5u);
  }
  std::unique_ptr<Store> reopened = Open();
  EXPECT_EQ(reopened->Events().next_sequence(), before.back().sequence + 1);
  EXPECT_THAT(reopened->Events().Read(1, 100), IsOkAndHolds(::testing::ContainerEq(before)));
  ASSERT_OK_AND_ASSIGN(SessionPage page, reopened->ListSessions("alice", 10, ""));
  ASSERT_THAT(page.sessions, ::testing::SizeIs(2));
  EXPECT_EQ(page.sessions[0].id, "s2");
  EXPECT_EQ(page.sessions[1].id, "s1");
  EXPECT_EQ(page.sessions[1].labels, (Labels{{"device", "phone"}}));
  EXPECT_EQ(reopened->Stats().principal_index_entries, 2u);
  absl::Status deleted = reopened->Touch("s3").status();
  ASSERT_TRUE(GoneDetailsOf(deleted).has_value()) << deleted;
  EXPECT_EQ(GoneDetailsOf(deleted)->reason, GoneReason::kDeleted);
  // Numbering goes on after the last stored event.
  ASSERT_OK(reopened->Delete("s2", std::nullopt, ""));
  ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> after,
                       reopened->Events().Read(before.back().sequence + 1, 100));
  ASSERT_THAT(after, ::testing::SizeIs(1));
  EXPECT_EQ(after[0].sequence, before.back().sequence + 1);
  EXPECT_EQ(after[0].id, "s2");
}

TEST_F(RocksDbStoreTest, TheEventFamilyIsTrimmedToTheRetentionAndReloaded) {
  SessionLimits limits;
  limits.event_retention = 4;
  auto open = [&] {
    return OpenRocksDbStore({.path = path_,
                             .clock = &clock_,
                             .limits = limits,
                             .min_free_disk_bytes = kTestDiskReserve});
  };
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, open());
    for (int i = 0; i < 10; ++i) {
      ASSERT_OK(store->Create({absl::StrCat("s", i), "", absl::Minutes(20), absl::Hours(12), {}}));
    }
    ASSERT_OK(store->SweepExpired());
    EXPECT_THAT(CountKeys(path_, kEventsFamily), IsOkAndHolds(4u));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> reopened, open());
  EXPECT_THAT(reopened->Events().Read(1, 100), StatusIs(absl::StatusCode::kOutOfRange));
  ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> kept, reopened->Events().Read(7, 100));
  ASSERT_THAT(kept, ::testing::SizeIs(4));
  EXPECT_EQ(kept.front().id, "s6");
  EXPECT_EQ(reopened->Events().next_sequence(), 11u);
}

}  // namespace
}  // namespace sessiond::storage
