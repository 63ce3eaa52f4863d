// The PostgreSQL store against a real PostgreSQL 15 started by the test (initdb into a temporary
// directory, postgres on a free loopback port): the contract suite, then what only a shared SQL
// store has: the schema migrated once by replicas opening at once, and from its first version
// with the sessions already stored; sweepers of two replicas sharing the expired rows (one expiry
// event each); two stores (replicas) sharing sessions and conflicts, every event in one order,
// revocations, the principal cap and a tenant's live cap; PostgreSQL crashed and restarted under
// load, and a malformed DSN. One process for all (ctest runs the binary once), so the server starts
// once.
#include "storage/postgres_store.h"

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/conflict.h"
#include "storage/postgres_schema.h"
#include "storage/store_contract_test.h"
#include "storage/testing/fake_clock.h"
#include "storage/testing/postgres_server.h"
#include "storage/testing/shared_store_checks.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_entries.h"

namespace sessiond::storage {
namespace {

using ::sessiond::storage::testing::ExpectReplicasShareSessionsAndConflictsPerKey;
using ::sessiond::storage::testing::OpenDescriptors;
using ::sessiond::storage::testing::PostgresServer;
using ::sessiond::storage::testing::SetInt;
using ::sessiond::storage::testing::TestSession;
using ::sessiond::testing::GetAllEntries;
using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

// The server every test of this process shares, started on first use and stopped at exit.
PostgresServer& SharedServer() {
  static std::unique_ptr<PostgresServer> server = [] {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::Start();
    EXPECT_OK(started);
    return started.ok() ? *std::move(started) : nullptr;
  }();
  return *server;
}

// A table prefix no other store of this process uses, so tests never see each other's sessions.
std::string FreshPrefix() {
  static std::atomic<int> next{0};
  return absl::StrCat("t", next.fetch_add(1), "_");
}

PostgresStoreOptions OptionsFor(const PostgresServer& server, Clock* clock,
                                const SessionLimits& limits) {
  PostgresStoreOptions options;
  options.target.dsn = server.Dsn();
  options.table_prefix = FreshPrefix();
  options.clock = clock;
  options.limits = limits;
  options.pool_size = 8;
  options.probe_interval = absl::Milliseconds(100);
  return options;
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreContractTest,
                         ::testing::Values(StoreFactory{
                             "postgres",
                             [](Clock* clock, const SessionLimits& limits) {
                               return OpenPostgresStore(OptionsFor(SharedServer(), clock, limits));
                             }}),
                         [](const ::testing::TestParamInfo<StoreFactory>& info) {
                           return info.param.name;
                         });

std::string Id(int n) { return absl::StrCat("pg-test-", n, "-AAAAAAAAAAAAAAAAAAAAAAAA"); }

// A number psql printed.
int64_t Number(const absl::StatusOr<std::string>& output) {
  int64_t number = -1;
  EXPECT_OK(output);
  if (output.ok()) {
    EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(*output), &number)) << *output;
  }
  return number;
}

TEST(PostgresStoreTest, ReplicasOpeningAtOnceMigrateTheSchemaOnce) {
  const PostgresStoreOptions options = OptionsFor(SharedServer(), nullptr, {});
  std::vector<std::thread> replicas;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    replicas.emplace_back([&] {
      absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(options);
      EXPECT_OK(store);
      if (store.ok()) ++opened;
    });
  }
  for (std::thread& replica : replicas) replica.join();
  EXPECT_EQ(opened.load(), 4);
  EXPECT_EQ(Number(SharedServer().Query(
                "postgres",
                absl::StrCat("SELECT count(*) FROM ", options.table_prefix, "schema_migrations"))),
            kPostgresSchemaVersion);
  // Opening again finds the schema current.
  EXPECT_OK(OpenPostgresStore(options));
}

TEST(PostgresStoreTest, TwoReplicasShareSessionsAndDetectConflictsPerKey) {
  FakeClock clock;
  const PostgresStoreOptions options = OptionsFor(SharedServer(), &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenPostgresStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenPostgresStore(options));

  ExpectReplicasShareSessionsAndConflictsPerKey(*first, *second, Id(1));
}

TEST(PostgresStoreTest, ConcurrentCommitsFromTwoReplicasLoseNoUpdate) {
  const PostgresStoreOptions options = OptionsFor(SharedServer(), nullptr, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenPostgresStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenPostgresStore(options));
  ASSERT_OK(first->Create(TestSession(Id(1))));
  constexpr int kRounds = 50;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    Store& store = t % 2 == 0 ? *first : *second;
    writers.emplace_back([&store, t] {
      for (int i = 1; i <= kRounds; ++i) EXPECT_OK(SetInt(store, Id(1), absl::StrCat("w", t), i));
    });
  }
  for (std::thread& writer : writers) writer.join();
  ASSERT_OK_AND_ASSIGN(auto entries, GetAllEntries(*second, Id(1)));
  for (int t = 0; t < 4; ++t) {
    EXPECT_THAT(entries, ::testing::Contains(Pair(absl::StrCat("w", t), Value(int64_t{kRounds}))));
  }
  EXPECT_THAT(first->Get(Id(1), {}, Renewal::kNoRenew, [](auto, auto) {}),
              IsOkAndHolds(::testing::Field(&SessionMeta::version, 1u + 4 * kRounds)));
}

TEST(PostgresStoreTest, TwoReplicasSweepingAtOnceReclaimEachExpiredSessionOnce) {
  FakeClock clock;
  const PostgresStoreOptions options = OptionsFor(SharedServer(), &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenPostgresStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenPostgresStore(options));
  constexpr int kSessions = 3000;
  for (int i = 0; i < kSessions; ++i) {
    NewSession session = TestSession(Id(i));
    session.idle_timeout = absl::Seconds(1 + i % 2);
    ASSERT_OK(first->Create(std::move(session)));
  }
  clock.Advance(absl::Milliseconds(1500));  // the odd half is still live
  std::atomic<size_t> reclaimed{0};
  std::vector<std::thread> sweepers;
  for (Store* store : {first.get(), second.get()}) {
    sweepers.emplace_back([&, store] {
      absl::StatusOr<size_t> swept = store->SweepExpired();
      EXPECT_OK(swept);
      if (swept.ok()) reclaimed += *swept;
    });
  }
  for (std::thread& sweeper : sweepers) sweeper.join();
  EXPECT_EQ(reclaimed.load(), kSessions / 2u);
  // The expired ones are stubs now (why they are gone, for --gone_retention), each with one event.
  EXPECT_EQ(Number(SharedServer().Query("postgres",
                                        absl::StrCat("SELECT count(*) FROM ", options.table_prefix,
                                                     "sessions WHERE NOT stub"))),
            kSessions / 2);
  EXPECT_EQ(Number(SharedServer().Query(
                "postgres", absl::StrCat("SELECT count(*) FROM ", options.table_prefix, "events"))),
            kSessions + kSessions / 2);
}

TEST(PostgresStoreTest, ARenewalHeldInMemoryIsWrittenBeforeThisReplicaSweeps) {
  FakeClock clock;
  const PostgresStoreOptions options = OptionsFor(SharedServer(), &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenPostgresStore(options));
  NewSession session = TestSession(Id(1));
  session.idle_timeout = absl::Seconds(10);
  ASSERT_OK(store->Create(std::move(session)));
  const std::string deadline_sql =
      absl::StrCat("SELECT idle_expires_at FROM ", options.table_prefix, "sessions");
  const int64_t created = Number(SharedServer().Query("postgres", deadline_sql));
  clock.Advance(absl::Milliseconds(500));
  ASSERT_OK(store->Touch(Id(1)));
  EXPECT_EQ(Number(SharedServer().Query("postgres", deadline_sql)), created)
      << "a renewal by less than a second is held, not written";
  clock.Advance(absl::Milliseconds(9800));  // past the stored deadline, before the renewed one
  EXPECT_THAT(store->SweepExpired(), IsOkAndHolds(0u));
  EXPECT_OK(GetAllEntries(*store, Id(1), Renewal::kNoRenew));
  EXPECT_EQ(Number(SharedServer().Query("postgres", deadline_sql)), created + 500);
}

// A session of `principal` with id Id(n).
NewSession OfPrincipal(int n, std::string principal) {
  NewSession session = TestSession(Id(n));
  session.principal = std::move(principal);
  return session;
}

// How many of `count` creates at once of session(0), session(1), ..., alternately through the
// replicas `first` and `second`, succeed; each other one must be RESOURCE_EXHAUSTED.
int ConcurrentCreates(Store& first, Store& second, int count,
                      const std::function<NewSession(int)>& session) {
  std::atomic<int> created{0};
  std::vector<std::thread> creates;
  for (int n = 0; n < count; ++n) {
    Store& store = n % 2 == 0 ? first : second;
    creates.emplace_back([&store, &created, &session, n] {
      absl::StatusOr<SessionMeta> meta = store.Create(session(n));
      if (meta.ok()) {
        ++created;
      } else {
        EXPECT_THAT(meta, StatusIs(absl::StatusCode::kResourceExhausted));
      }
    });
  }
  for (std::thread& create : creates) create.join();
  return created.load();
}

TEST(PostgresStoreTest, EveryReplicaSeesEveryReplicasEventsInOneOrder) {
  const PostgresStoreOptions options = OptionsFor(SharedServer(), nullptr, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenPostgresStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenPostgresStore(options));
  const uint64_t from = first->Events().next_sequence();
  ASSERT_EQ(second->Events().next_sequence(), from);
  constexpr int kWriters = 4, kSessionsPerWriter = 25;
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    Store& store = t % 2 == 0 ? *first : *second;
    writers.emplace_back([&store, t] {
      for (int i = 0; i < kSessionsPerWriter; ++i) {
        const int n = t * kSessionsPerWriter + i;
        EXPECT_OK(store.Create(OfPrincipal(n, "alice")));
        EXPECT_OK(SetInt(store, Id(n), "k", n));
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  constexpr size_t kEvents = 2 * kWriters * kSessionsPerWriter;
  const std::vector<SessionEvent> seen_first = AwaitEvents(*first, from, kEvents);
  const std::vector<SessionEvent> seen_second = AwaitEvents(*second, from, kEvents);
  ASSERT_EQ(seen_first.size(), kEvents);
  EXPECT_EQ(seen_first, seen_second) << "one order for every replica";
  std::map<std::string, int> created_before_updated;
  for (size_t i = 0; i < seen_first.size(); ++i) {
    EXPECT_EQ(seen_first[i].sequence, from + i) << "no gaps";
    int& state = created_before_updated[seen_first[i].id];
    state += seen_first[i].kind == SessionEvent::Kind::kCreated ? 1 : state == 1 ? 10 : 100;
  }
  for (const auto& [id, state] : created_before_updated) EXPECT_EQ(state, 11) << id;

  // RevokeSessions through one replica ends the sessions for the other, which sees the events.
  const uint64_t revoked_from = second->Events().next_sequence();
  const std::vector<std::string> keep = {Id(0)};
  EXPECT_THAT(first->RevokeSessions("alice", keep),
              IsOkAndHolds(kWriters * kSessionsPerWriter - 1u));
  EXPECT_THAT(second->Touch(Id(1)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(second->Touch(Id(0)));
  const std::vector<SessionEvent> revoked =
      AwaitEvents(*second, revoked_from, kWriters * kSessionsPerWriter - 1);
  ASSERT_EQ(revoked.size(), kWriters * kSessionsPerWriter - 1u);
  for (const SessionEvent& event : revoked) EXPECT_EQ(event.kind, SessionEvent::Kind::kRevoked);
}

TEST(PostgresStoreTest, AnExpiryACallFindsIsRecordedOnceAndNotAgainByTheSweeper) {
  FakeClock clock;
  const PostgresStoreOptions options = OptionsFor(SharedServer(), &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenPostgresStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenPostgresStore(options));
  NewSession session = OfPrincipal(1, "alice");
  session.idle_timeout = absl::Seconds(1);
  const uint64_t created = first->Events().next_sequence();
  ASSERT_OK(first->Create(std::move(session)));
  ASSERT_EQ(AwaitEvents(*second, created, 1).size(), 1u);
  const uint64_t from = created + 1;
  clock.Advance(absl::Seconds(2));
  EXPECT_THAT(first->Touch(Id(1)), StatusIs(absl::StatusCode::kNotFound));
  const std::vector<SessionEvent> events = AwaitEvents(*second, from, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, SessionEvent::Kind::kExpired);
  EXPECT_EQ(events[0].reason, GoneReason::kExpiredIdle);
  EXPECT_EQ(second->Stats().principal_index_entries, 0u);
  EXPECT_THAT(second->SweepExpired(), IsOkAndHolds(0u));
  EXPECT_THAT(first->Delete(Id(1), std::nullopt, ""), IsOkAndHolds(false));
  absl::SleepFor(absl::Milliseconds(200));  // two polls of the tail: nothing more arrives
  EXPECT_THAT(second->Events().Read(from, 10), IsOkAndHolds(::testing::SizeIs(1)));
}

TEST(PostgresStoreTest, ThePrincipalCapHoldsAcrossReplicas) {
  for (PrincipalCapPolicy policy :
       {PrincipalCapPolicy::kRejectNew, PrincipalCapPolicy::kEvictOldest}) {
    SessionLimits limits;
    limits.max_sessions_per_principal = 3;
    limits.principal_cap_policy = policy;
    const PostgresStoreOptions options = OptionsFor(SharedServer(), nullptr, limits);
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenPostgresStore(options));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenPostgresStore(options));
    constexpr int kLogins = 16;
    const int created =
        ConcurrentCreates(*first, *second, kLogins, [](int n) { return OfPrincipal(n, "alice"); });
    EXPECT_EQ(created, policy == PrincipalCapPolicy::kRejectNew ? 3 : kLogins);
    ASSERT_OK_AND_ASSIGN(SessionPage page, second->ListSessions("alice", 100, ""));
    EXPECT_EQ(page.sessions.size(), 3u);
    EXPECT_EQ(first->Stats().principal_index_entries, 3u);
  }
}

// Session `id` under a live cap of `max` sessions whose ids start with `prefix`.
NewSession UnderLiveCap(std::string id, std::string prefix, size_t max) {
  NewSession session = TestSession(std::move(id));
  session.live_cap = {std::move(prefix), max, "the test's live cap"};
  return session;
}

TEST(PostgresStoreTest, ATenantsLiveCapHoldsAcrossReplicas) {
  const PostgresStoreOptions options = OptionsFor(SharedServer(), nullptr, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenPostgresStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenPostgresStore(options));
  EXPECT_EQ(
      ConcurrentCreates(*first, *second, 16,
                        [](int n) { return UnderLiveCap(absl::StrCat("shop~", n), "shop~", 3); }),
      3);
}

TEST(PostgresStoreTest, ALiveCapCountsExactlyTheIdsStartingWithItsPrefix) {
  const PostgresStoreOptions options = OptionsFor(SharedServer(), nullptr, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenPostgresStore(options));
  // A prefix ending in byte 0xff: its range ends before "b", after every "a\xff..." id.
  const std::string prefix = "a\xff";
  ASSERT_OK(store->Create(TestSession("a\xfe-outside")));
  ASSERT_OK(store->Create(TestSession("b-outside")));
  ASSERT_OK(store->Create(UnderLiveCap(prefix + "1", prefix, 2)));
  ASSERT_OK(store->Create(TestSession(prefix + "\xff\xff-2")));
  EXPECT_THAT(store->Create(UnderLiveCap(prefix + "3", prefix, 2)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("has 2 live sessions")));
  // An empty prefix: every session counts.
  EXPECT_OK(store->Create(UnderLiveCap("c-1", "", 5)));
  EXPECT_THAT(store->Create(UnderLiveCap("c-2", "", 5)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("has 5 live sessions")));
}

TEST(PostgresStoreTest, ASessionARenewalHeldInMemoryKeepsLiveStillCountsUnderALiveCap) {
  FakeClock clock;
  const PostgresStoreOptions options = OptionsFor(SharedServer(), &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenPostgresStore(options));
  NewSession session = UnderLiveCap("shop~1", "shop~", 1);
  session.idle_timeout = absl::Seconds(10);
  ASSERT_OK(store->Create(std::move(session)));
  clock.Advance(absl::Milliseconds(500));
  ASSERT_OK(store->Touch("shop~1"));        // held in memory: the stored deadline stays at 10s
  clock.Advance(absl::Milliseconds(9800));  // past the stored deadline, before the renewed one
  EXPECT_THAT(store->Create(UnderLiveCap("shop~2", "shop~", 1)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_OK(GetAllEntries(*store, "shop~1", Renewal::kNoRenew));
  clock.Advance(absl::Seconds(1));  // past the renewed deadline too: it no longer counts
  EXPECT_OK(store->Create(UnderLiveCap("shop~2", "shop~", 1)));
}

TEST(PostgresStoreTest, ADatabaseOfSchemaVersionOneIsMigratedWithItsSessionsIndexed) {
  FakeClock clock;
  const PostgresStoreOptions options = OptionsFor(SharedServer(), &clock, {});
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenPostgresStore(options));
    ASSERT_OK(store->Create(OfPrincipal(1, "alice")));
    clock.Advance(absl::Seconds(1));
    ASSERT_OK(store->Create(OfPrincipal(2, "alice")));
    ASSERT_OK(store->Create(OfPrincipal(3, "")));
  }
  // Back to what migration 1 alone made, with the sessions as a build of that version left them.
  const std::string& p = options.table_prefix;
  ASSERT_OK(SharedServer().Query(
      "postgres",
      absl::StrCat("DROP TABLE ", p, "events, ", p, "event_sequence; DROP INDEX ", p,
                   "sessions_principal; ALTER TABLE ", p, "sessions DROP COLUMN principal, ",
                   "DROP COLUMN created_at, DROP COLUMN last_access_at; DELETE FROM ", p,
                   "schema_migrations WHERE version > 1")));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenPostgresStore(options));
  ASSERT_OK_AND_ASSIGN(SessionPage page, store->ListSessions("alice", 10, ""));
  ASSERT_EQ(page.sessions.size(), 2u);
  EXPECT_EQ(page.sessions[0].id, Id(2));
  EXPECT_EQ(page.sessions[1].id, Id(1));
  EXPECT_EQ(store->Stats().principal_index_entries, 2u);
  const uint64_t from = store->Events().next_sequence();
  EXPECT_THAT(store->RevokeSessions("alice", {}), IsOkAndHolds(2u));
  EXPECT_EQ(AwaitEvents(*store, from, 2).size(), 2u);
  EXPECT_OK(store->Touch(Id(3)));
}

TEST(PostgresStoreTest, PostgresCrashedAndRestartedUnderLoadIsUnavailableThenRecovers) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PostgresServer> postgres, PostgresServer::Start());
  PostgresStoreOptions options = OptionsFor(*postgres, nullptr, {});
  options.timeout = absl::Milliseconds(500);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenPostgresStore(options));
  ASSERT_OK(store->Create(TestSession(Id(1))));
  const size_t descriptors = OpenDescriptors();

  std::atomic<bool> stop{false};
  std::atomic<int> unavailable{0}, other_errors{0};
  std::vector<std::atomic<int>> acknowledged(4);
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      for (int i = 1; !stop; ++i) {
        absl::StatusOr<SessionMeta> written = SetInt(*store, Id(1), absl::StrCat("t", t), i);
        if (written.ok()) {
          acknowledged[t] = i;
        } else if (absl::IsUnavailable(written.status())) {
          ++unavailable;
        } else {
          ++other_errors;
          ADD_FAILURE() << written.status();
        }
      }
    });
  }
  absl::Cleanup stop_load = [&] {
    stop = true;
    for (std::thread& thread : load) thread.join();
  };
  absl::SleepFor(absl::Milliseconds(300));
  postgres->Crash();
  absl::SleepFor(absl::Milliseconds(800));
  EXPECT_FALSE(store->AcceptsWrites()) << "health reports PostgreSQL down";
  ASSERT_OK(postgres->Restart());
  const absl::Time restarted = absl::Now();
  while (!store->AcceptsWrites() && absl::Now() < restarted + absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(store->AcceptsWrites()) << "recovered by itself";
  int before = 0;
  for (const auto& count : acknowledged) before += count;
  absl::SleepFor(absl::Milliseconds(300));
  std::move(stop_load).Invoke();
  int after = 0;
  for (const auto& count : acknowledged) after += count;
  EXPECT_GT(unavailable.load(), 0);
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_GT(after, before) << "writes resumed";
  ASSERT_OK_AND_ASSIGN(auto entries, GetAllEntries(*store, Id(1)));
  for (int t = 0; t < 4; ++t) {
    const std::string key = absl::StrCat("t", t);
    ASSERT_EQ(entries.count(key), 1u);
    EXPECT_GE(std::get<int64_t>(entries.at(key)), acknowledged[t].load())
        << "every acknowledged write survived the crash (synchronous_commit on)";
  }
  EXPECT_LE(OpenDescriptors(), descriptors + options.pool_size)
      << "failed connections are closed, not leaked";
  EXPECT_LE(Number(postgres->Query("postgres",
                                   "SELECT count(*) FROM pg_stat_activity WHERE application_name "
                                   "= 'sessiond'")),
            static_cast<int64_t>(options.pool_size))
      << "the pool holds at most --postgres_pool_size connections";
}

TEST(PostgresStoreTest, AMalformedDsnIsRefusedWithoutEchoingIt) {
  PostgresStoreOptions options;
  options.target.dsn = "host=127.0.0.1 password=hunter2 nonsense";
  absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(options);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.status().message(), HasSubstr("--postgres_dsn"));
  EXPECT_THAT(store.status().message(), Not(HasSubstr("hunter2")));
}

TEST(PostgresStoreTest, AnUnreachableServerIsUnavailable) {
  PostgresStoreOptions options;
  options.target.dsn = "host=127.0.0.1 port=1 user=sessiond connect_timeout=2";
  EXPECT_THAT(OpenPostgresStore(options), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace sessiond::storage
