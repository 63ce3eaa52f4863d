// The Redis store against real redis-server processes: the contract suite on a standalone Redis
// and on a 6-node Redis Cluster, then what only a shared, networked store has: the sweep on any
// replica with Redis's TTL as a backstop, 100 k sessions of one principal expiring out of the
// index, the principal cap under 32 parallel logins on two replicas (standalone and cluster),
// every replica seeing every replica's events in one order (standalone and cluster), a
// principal's sessions across a cluster's slots, one slot's journal moved by two replicas at
// once, a journal a dead replica left, renewals not WAITing, two stores (replicas) sharing
// sessions and conflicts, Redis killed and restarted under load, a rotation racing writes, a
// primary failover with WAIT, resharding under load, and a tenant's live cap on two replicas
// (standalone and cluster). One process for all (ctest runs the binary once), so the servers
// start once.
#include "storage/redis_store.h"

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/conflict.h"
#include "storage/redis_client.h"
#include "storage/session_event.h"
#include "storage/session_gone.h"
#include "storage/store_contract_test.h"
#include "storage/tenant_store.h"
#include "storage/testing/fake_clock.h"
#include "storage/testing/redis_servers.h"
#include "storage/testing/shared_store_checks.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_entries.h"

namespace sessiond::storage {
namespace {

using ::sessiond::storage::testing::ExpectReplicasShareSessionsAndConflictsPerKey;
using ::sessiond::storage::testing::OpenDescriptors;
using ::sessiond::storage::testing::RedisCluster;
using ::sessiond::storage::testing::RedisServer;
using ::sessiond::storage::testing::SetInt;
using ::sessiond::storage::testing::TestSession;
using ::sessiond::testing::GetAllEntries;
using ::sessiond::testing::IsOk;
using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

// The servers every test of this process shares, started on first use and killed at exit.
RedisServer& SharedServer() {
  static std::unique_ptr<RedisServer> server = [] {
    absl::StatusOr<std::unique_ptr<RedisServer>> started = RedisServer::Start();
    EXPECT_OK(started);
    return started.ok() ? *std::move(started) : nullptr;
  }();
  return *server;
}

RedisCluster& SharedCluster() {
  static std::unique_ptr<RedisCluster> cluster = [] {
    absl::StatusOr<std::unique_ptr<RedisCluster>> started = RedisCluster::Start();
    EXPECT_OK(started);
    return started.ok() ? *std::move(started) : nullptr;
  }();
  return *cluster;
}

// A key prefix no other store of this process uses, so tests never see each other's sessions.
std::string FreshPrefix() {
  static std::atomic<int> next{0};
  return absl::StrCat("t", next.fetch_add(1));
}

RedisStoreOptions OptionsFor(std::vector<std::string> addresses, Clock* clock,
                             const SessionLimits& limits) {
  RedisStoreOptions options;
  options.redis.addresses = std::move(addresses);
  options.redis.cluster = options.redis.addresses.size() > 1;
  options.key_prefix = FreshPrefix();
  options.clock = clock;
  options.limits = limits;
  options.probe_interval = absl::Milliseconds(100);
  return options;
}

INSTANTIATE_TEST_SUITE_P(
    Redis, StoreContractTest,
    ::testing::Values(StoreFactory{"standalone",
                                   [](Clock* clock, const SessionLimits& limits) {
                                     return OpenRedisStore(
                                         OptionsFor({SharedServer().address()}, clock, limits));
                                   }},
                      StoreFactory{"cluster",
                                   [](Clock* clock, const SessionLimits& limits) {
                                     return OpenRedisStore(
                                         OptionsFor(SharedCluster().addresses(), clock, limits));
                                   }}),
    [](const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; });

std::string Id(int n) { return absl::StrCat("redis-test-", n, "-AAAAAAAAAAAAAAAAAAAAA"); }

// A direct connection to `address` for looking at what the store wrote.
std::unique_ptr<RedisClient> Inspect(std::vector<std::string> addresses) {
  RedisOptions options;
  options.addresses = std::move(addresses);
  options.cluster = options.addresses.size() > 1;
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Connect(options);
  EXPECT_OK(client);
  return client.ok() ? *std::move(client) : nullptr;
}

// Waits (at most 10 s) until `store`'s event log holds `count` events: a replica's own calls
// return once their events are in its log, another replica's arrive a moment later.
void AwaitEvents(Store& store, uint64_t count) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (store.Events().next_sequence() <= count && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
}

TEST(RedisStoreTest, TheSweepEndsDueSessionsAndRedisTtlIsOnlyABackstopAfterTheDeadline) {
  FakeClock clock;
  SessionLimits limits;
  limits.gone_retention = absl::Minutes(5);
  const RedisStoreOptions options = OptionsFor({SharedServer().address()}, &clock, limits);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenRedisStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> other_replica, OpenRedisStore(options));
  std::unique_ptr<RedisClient> redis = Inspect({SharedServer().address()});
  const std::string key = absl::StrCat(options.key_prefix, ":{", Id(1), "}");
  const std::vector<absl::string_view> pttl = {"PTTL", key};

  NewSession session = TestSession(Id(1), {{"a", int64_t{1}}});
  session.principal = "ada";
  ASSERT_OK(store->Create(std::move(session)));
  EXPECT_EQ(store->Stats().live_sessions, 1u);
  EXPECT_EQ(store->Stats().principal_index_entries, 1u);
  EXPECT_GT(store->Stats().approximate_bytes, 0u);
  ASSERT_OK_AND_ASSIGN(RedisReply ttl, redis->Run(key, pttl));
  EXPECT_GT(ttl.integer, absl::ToInt64Milliseconds(absl::Minutes(25) - absl::Seconds(5)))
      << "the idle deadline plus the gone retention";
  EXPECT_LE(ttl.integer, absl::ToInt64Milliseconds(absl::Minutes(25)));

  clock.Advance(absl::Minutes(20));
  EXPECT_THAT(other_replica->SweepExpired(), IsOkAndHolds(1)) << "any replica sweeps";
  EXPECT_EQ(store->Stats().live_sessions, 0u);
  EXPECT_EQ(store->Stats().principal_index_entries, 0u);
  absl::Status gone = GetAllEntries(*store, Id(1)).status();
  ASSERT_TRUE(GoneDetailsOf(gone).has_value()) << gone;
  EXPECT_EQ(GoneDetailsOf(gone)->reason, GoneReason::kExpiredIdle);
  ASSERT_OK_AND_ASSIGN(RedisReply stub_ttl, redis->Run(key, pttl));
  EXPECT_LE(stub_ttl.integer, absl::ToInt64Milliseconds(absl::Minutes(5)))
      << "only a small stub stays, for the gone retention";
}

// Session `n` of tenant "a" under a live cap of 3.
NewSession CappedSession(int n) {
  NewSession session = TestSession(Id(n));
  session.live_cap = {TenantPrefix("a"), 3, "tenant a's max_live_sessions"};
  return session;
}

// On one deployment: tenant a's cap of 3 counts sessions created on either of two replicas,
// renewed ones, and idle-expired ones until they end; keys Redis's TTL reclaimed stop counting
// once swept; a create that failed holds no place; and a create the tenant's cap refuses evicts
// none of its principal's sessions under an evicting principal cap.
void ExpectATenantsLiveCapHoldsOnTwoReplicas(std::vector<std::string> addresses) {
  FakeClock clock;
  const RedisStoreOptions options = OptionsFor(addresses, &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenRedisStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenRedisStore(options));
  EXPECT_TRUE(first->CapsLiveSessions());
  TenantStore on_first(first.get(), TenantPrefix("a"));
  TenantStore on_second(second.get(), TenantPrefix("a"));
  const auto over_cap =
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("has 3 live sessions"));
  for (int n = 1; n <= 2; ++n) ASSERT_OK((n % 2 ? on_first : on_second).Create(CappedSession(n)));
  EXPECT_THAT(on_second.Create(CappedSession(2)), StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK(on_second.Create(CappedSession(3))) << "the failed create holds no place";
  EXPECT_THAT(on_second.Create(CappedSession(4)), over_cap);

  // Sessions 1 and 2 are renewed (Touch, a Get), session 3 expires idle: until it ends it counts.
  clock.Advance(absl::Minutes(15));
  ASSERT_OK(on_first.Touch(Id(1)));
  ASSERT_OK(GetAllEntries(on_second, Id(2)));
  clock.Advance(absl::Minutes(10));
  EXPECT_THAT(on_first.Create(CappedSession(4)), over_cap);
  ASSERT_THAT(second->SweepExpired(), IsOkAndHolds(1));
  ASSERT_OK(on_first.Create(CappedSession(4)));
  EXPECT_THAT(on_second.Create(CappedSession(5)), over_cap) << "renewed sessions still count";

  // A create the tenant's cap refuses ends none of its principal's sessions to make room.
  SessionLimits evicting;
  evicting.max_sessions_per_principal = 1;
  evicting.principal_cap_policy = PrincipalCapPolicy::kEvictOldest;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> third,
                       OpenRedisStore(OptionsFor(addresses, &clock, evicting)));
  TenantStore on_third(third.get(), TenantPrefix("b"));
  NewSession owned = CappedSession(1);
  owned.principal = "alice";
  owned.live_cap = {TenantPrefix("b"), 1, "tenant b's max_live_sessions"};
  ASSERT_OK(on_third.Create(owned));
  owned.id = Id(2);
  EXPECT_THAT(on_third.Create(owned), StatusIs(absl::StatusCode::kResourceExhausted,
                                               HasSubstr("tenant b's max_live_sessions")));
  EXPECT_OK(GetAllEntries(on_third, Id(1))) << "not evicted";

  // Keys that Redis's TTL reclaimed (no sweep ended them) stop counting once a sweep passes.
  std::unique_ptr<RedisClient> redis = Inspect(addresses);
  const std::string main = absl::StrCat(options.key_prefix, ":{", TenantPrefix("a"), Id(1), "}");
  const std::vector<absl::string_view> reclaim = {"DEL", main};
  ASSERT_OK(redis->Run(main, reclaim));
  clock.Advance(absl::Minutes(21));
  ASSERT_OK(first->SweepExpired());
  for (int n = 5; n <= 7; ++n) ASSERT_OK(on_second.Create(CappedSession(n)));
  EXPECT_THAT(on_first.Create(CappedSession(8)), over_cap);
}

TEST(RedisStoreTest, ATenantsLiveCapCountsRenewedSessionsOnTwoReplicasAndForgetsReclaimedKeys) {
  for (const std::vector<std::string>& addresses :
       {std::vector<std::string>{SharedServer().address()}, SharedCluster().addresses()}) {
    SCOPED_TRACE(addresses.size() == 1 ? "standalone" : "cluster");
    ExpectATenantsLiveCapHoldsOnTwoReplicas(addresses);
  }
}

TEST(RedisStoreTest, ExpiringAHundredThousandSessionsOfOnePrincipalLeavesTheIndexEmpty) {
  FakeClock clock;
  const RedisStoreOptions options = OptionsFor({SharedServer().address()}, &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenRedisStore(options));
  constexpr int kSessions = 100'000;
  constexpr int kThreads = 8;
  const absl::Time started = absl::Now();
  std::vector<std::thread> creators;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    creators.emplace_back([&, t] {
      for (int i = t; i < kSessions; i += kThreads) {
        NewSession session = TestSession(Id(i));
        session.principal = "ada";
        session.idle_timeout = absl::Minutes(1);
        if (!store->Create(std::move(session)).ok()) ++failures;
      }
    });
  }
  for (std::thread& creator : creators) creator.join();
  const absl::Duration create_time = absl::Now() - started;
  ASSERT_EQ(failures.load(), 0);
  ASSERT_EQ(store->Stats().principal_index_entries, static_cast<size_t>(kSessions));

  clock.Advance(absl::Minutes(1));
  const absl::Time sweep_started = absl::Now();
  EXPECT_THAT(store->SweepExpired(), IsOkAndHolds(kSessions));
  const absl::Duration sweep_time = absl::Now() - sweep_started;
  EXPECT_EQ(store->Stats().principal_index_entries, 0u) << "the index holds nothing afterwards";
  EXPECT_EQ(store->Stats().live_sessions, 0u);
  ASSERT_OK_AND_ASSIGN(SessionPage page, store->ListSessions("ada", 10, ""));
  EXPECT_THAT(page.sessions, IsEmpty());
  std::cout << "100 k sessions of one principal: created in " << absl::FormatDuration(create_time)
            << " (" << kThreads << " threads), expired by SweepExpired in "
            << absl::FormatDuration(sweep_time) << "\n";
}

// 32 logins of one principal at once, half on each of two replicas, under a cap of 5, on one
// deployment.
void ExpectParallelLoginsOnTwoReplicasLeaveExactlyTheCap(
    const std::vector<std::string>& addresses) {
  for (PrincipalCapPolicy policy :
       {PrincipalCapPolicy::kRejectNew, PrincipalCapPolicy::kEvictOldest}) {
    SessionLimits limits;
    limits.max_sessions_per_principal = 5;
    limits.principal_cap_policy = policy;
    const RedisStoreOptions options = OptionsFor(addresses, nullptr, limits);
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenRedisStore(options));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenRedisStore(options));
    std::atomic<int> created{0}, refused{0};
    std::vector<std::thread> logins;
    for (int i = 0; i < 32; ++i) {
      logins.emplace_back([&, i] {
        NewSession session = TestSession(Id(i));
        session.principal = "ada";
        absl::StatusOr<SessionMeta> meta =
            (i % 2 == 0 ? first : second)->Create(std::move(session));
        if (meta.ok()) {
          ++created;
        } else {
          EXPECT_THAT(meta, StatusIs(absl::StatusCode::kResourceExhausted));
          ++refused;
        }
      });
    }
    for (std::thread& login : logins) login.join();
    ASSERT_OK_AND_ASSIGN(SessionPage page, first->ListSessions("ada", 100, ""));
    EXPECT_EQ(page.sessions.size(), 5u);
    EXPECT_EQ(first->Stats().principal_index_entries, 5u);
    if (policy == PrincipalCapPolicy::kRejectNew) {
      EXPECT_EQ(created.load(), 5);
      EXPECT_EQ(refused.load(), 27);
    } else {
      EXPECT_EQ(created.load(), 32);
      // 32 created and 27 evicted events.
      AwaitEvents(*second, 59);
      ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> events, second->Events().Read(1, 100));
      EXPECT_EQ(std::count_if(events.begin(), events.end(),
                              [](const SessionEvent& event) {
                                return event.kind == SessionEvent::Kind::kEvicted;
                              }),
                27);
    }
  }
}

TEST(RedisStoreTest, ThirtyTwoParallelLoginsOnTwoReplicasLeaveExactlyTheCap) {
  for (const std::vector<std::string>& addresses :
       {std::vector<std::string>{SharedServer().address()}, SharedCluster().addresses()}) {
    SCOPED_TRACE(addresses.size() == 1 ? "standalone" : "cluster");
    ExpectParallelLoginsOnTwoReplicasLeaveExactlyTheCap(addresses);
  }
}

// Two replicas writing at once and a third started later see the same events in one order, on
// one deployment.
void ExpectEveryReplicaSeesEveryReplicasEvents(std::vector<std::string> addresses) {
  FakeClock clock;
  const RedisStoreOptions options = OptionsFor(std::move(addresses), &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenRedisStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenRedisStore(options));
  std::vector<std::thread> writers;
  for (Store* store : {first.get(), second.get()}) {
    writers.emplace_back([store, offset = store == first.get() ? 0 : 100] {
      for (int i = 0; i < 50; ++i) {
        ASSERT_OK(store->Create(TestSession(Id(offset + i))));
        ASSERT_OK(SetInt(*store, Id(offset + i), "n", i));
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> late, OpenRedisStore(options));

  for (Store* store : {first.get(), second.get(), late.get()}) AwaitEvents(*store, 200);
  ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> seen_by_first, first->Events().Read(1, 1000));
  ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> seen_by_second, second->Events().Read(1, 1000));
  ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> seen_by_late, late->Events().Read(1, 1000));
  ASSERT_EQ(seen_by_first.size(), 200u);
  EXPECT_EQ(seen_by_first, seen_by_second);
  EXPECT_EQ(seen_by_first, seen_by_late);
  for (size_t i = 0; i < seen_by_first.size(); ++i) {
    EXPECT_EQ(seen_by_first[i].sequence, i + 1);
  }
}

TEST(RedisStoreTest, EveryReplicaSeesEveryReplicasEventsInOneOrderAndALateReplicaReplaysThem) {
  for (const std::vector<std::string>& addresses :
       {std::vector<std::string>{SharedServer().address()}, SharedCluster().addresses()}) {
    SCOPED_TRACE(addresses.size() == 1 ? "standalone" : "cluster");
    ExpectEveryReplicaSeesEveryReplicasEvents(addresses);
  }
}

TEST(RedisStoreTest, InAClusterReplicasShareAPrincipalsSessionsAcrossSlotsAndTheirEvents) {
  FakeClock clock;
  const RedisStoreOptions options = OptionsFor(SharedCluster().addresses(), &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenRedisStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenRedisStore(options));
  constexpr int kSessions = 40;
  std::set<int> slots;
  for (int i = 0; i < kSessions; ++i) {
    NewSession session = TestSession(Id(i));
    session.principal = "ada";
    ASSERT_OK((i % 2 == 0 ? first : second)->Create(std::move(session)));
    slots.insert(RedisKeySlot(absl::StrCat(options.key_prefix, ":{", Id(i), "}")));
  }
  EXPECT_GT(slots.size(), 30u) << "the sessions live in many slots";
  ASSERT_OK_AND_ASSIGN(SessionPage page, second->ListSessions("ada", 100, ""));
  EXPECT_EQ(page.sessions.size(), size_t{kSessions});
  EXPECT_EQ(first->Stats().principal_index_entries, size_t{kSessions});
  const std::vector<std::string> keep = {Id(7)};
  EXPECT_THAT(first->RevokeSessions("ada", keep), IsOkAndHolds(size_t{kSessions - 1}));
  EXPECT_EQ(second->Stats().principal_index_entries, 1u);
  EXPECT_OK(second->Touch(Id(7)));

  // 40 created and 39 revoked events, in one order on both replicas.
  constexpr uint64_t kEvents = 2 * kSessions - 1;
  AwaitEvents(*first, kEvents);
  AwaitEvents(*second, kEvents);
  ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> seen_by_first, first->Events().Read(1, 1000));
  ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> seen_by_second, second->Events().Read(1, 1000));
  ASSERT_EQ(seen_by_first.size(), kEvents);
  EXPECT_EQ(seen_by_first, seen_by_second);
  EXPECT_EQ(std::count_if(seen_by_first.begin(), seen_by_first.end(),
                          [](const SessionEvent& event) {
                            return event.kind == SessionEvent::Kind::kRevoked;
                          }),
            kSessions - 1);
}

TEST(RedisStoreTest, InAClusterTwoReplicasMovingOneSlotsJournalAtOnceApplyEachEntryOnceInOrder) {
  FakeClock clock;
  const RedisStoreOptions options = OptionsFor(SharedCluster().addresses(), &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenRedisStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenRedisStore(options));
  // Sessions whose keys are all in one slot: every write of either replica moves that one journal.
  const auto slot_of = [&](int n) {
    return RedisKeySlot(absl::StrCat(options.key_prefix, ":{", Id(n), "}"));
  };
  std::vector<int> sessions;
  for (int n = 0; sessions.size() < 8; ++n) {
    if (slot_of(n) == slot_of(0)) sessions.push_back(n);
  }
  constexpr int kWrites = 20;
  std::vector<std::thread> writers;
  for (size_t i = 0; i < sessions.size(); ++i) {
    writers.emplace_back([&, i] {
      Store& store = i % 2 == 0 ? *first : *second;
      ASSERT_OK(store.Create(TestSession(Id(sessions[i]))));
      for (int w = 1; w <= kWrites; ++w) ASSERT_OK(SetInt(store, Id(sessions[i]), "n", w));
    });
  }
  for (std::thread& writer : writers) writer.join();

  const uint64_t total = sessions.size() * (1 + kWrites);
  AwaitEvents(*first, total);
  ASSERT_OK(first->SweepExpired());  // moves leftovers, if a move had failed
  ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> events, first->Events().Read(1, 10'000));
  EXPECT_EQ(events.size(), total) << "each journal entry applied once";
  std::map<std::string, uint64_t> last_version;
  for (const SessionEvent& event : events) {
    EXPECT_EQ(event.version, last_version[event.id] + 1) << "a session's events in order";
    last_version[event.id] = event.version;
  }
}

TEST(RedisStoreTest, InAClusterWhatADeadReplicaLeftInAJournalIsAppliedOnceByASweep) {
  const RedisStoreOptions options = OptionsFor(SharedCluster().addresses(), nullptr, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenRedisStore(options));
  std::unique_ptr<RedisClient> redis = Inspect(SharedCluster().addresses());
  // What a Create's script journals in slot 5 (redis_scripts.h) when its replica dies before it
  // moves the journal.
  const std::string journal = absl::StrCat(options.key_prefix, ":j:{", RedisSlotTag(5), "}");
  const std::vector<absl::string_view> created = {"XADD", journal, "*", "o",           "e",
                                                  "k",    "1",     "i", "left-behind", "p",
                                                  "ada",  "v",     "1", "t",           "1000"};
  const std::vector<absl::string_view> indexed = {
      "XADD", journal, "*", "o", "+", "p", "ada", "m", "000000000001000:left-behind"};
  ASSERT_OK(redis->Run(journal, created));
  ASSERT_OK(redis->Run(journal, indexed));

  ASSERT_OK(store->SweepExpired());
  ASSERT_OK(store->SweepExpired());
  AwaitEvents(*store, 1);
  ASSERT_OK_AND_ASSIGN(std::vector<SessionEvent> events, store->Events().Read(1, 10));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "left-behind");
  EXPECT_EQ(events[0].kind, SessionEvent::Kind::kCreated);
  const std::vector<absl::string_view> length = {"XLEN", journal};
  EXPECT_THAT(redis->Run(journal, length), IsOkAndHolds(::testing::Field(&RedisReply::integer, 0)))
      << "applied entries leave the journal";
  EXPECT_EQ(store->Stats().principal_index_entries, 1u);
  // The entry names no live session (the replica died before it could answer, here: the session
  // never was): ListSessions shows nothing and drops it.
  ASSERT_OK_AND_ASSIGN(SessionPage page, store->ListSessions("ada", 10, ""));
  EXPECT_THAT(page.sessions, IsEmpty());
  EXPECT_EQ(store->Stats().principal_index_entries, 0u);
}

TEST(RedisStoreTest, WithWaitReplicasWritesWaitButRenewalsDoNot) {
  // The shared server has no replica, so every WAIT falls short: a write reports UNAVAILABLE
  // ("written, but not confirmed"), a renewal answers at once.
  RedisStoreOptions options = OptionsFor({SharedServer().address()}, nullptr, {});
  options.redis.wait_replicas = 1;
  options.redis.wait_timeout = absl::Milliseconds(50);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenRedisStore(options));

  EXPECT_THAT(store->Create(TestSession(Id(1), {{"a", int64_t{1}}})),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(GetAllEntries(*store, Id(1)), IsOkAndHolds(ElementsAre(Pair("a", Value(int64_t{1})))))
      << "a Get that renews does not WAIT";
  EXPECT_OK(store->Touch(Id(1))) << "a Touch does not WAIT";
  EXPECT_THAT(SetInt(*store, Id(1), "a", 2), StatusIs(absl::StatusCode::kUnavailable))
      << "a write still WAITs";
}

TEST(RedisStoreTest, TwoReplicasShareSessionsAndDetectConflictsPerKey) {
  FakeClock clock;
  RedisStoreOptions options = OptionsFor({SharedServer().address()}, &clock, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, OpenRedisStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, OpenRedisStore(options));

  ExpectReplicasShareSessionsAndConflictsPerKey(*first, *second, Id(1));
}

TEST(RedisStoreTest, ARotationRacingWritesLosesNoAcknowledgedWrite) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store,
                       OpenRedisStore(OptionsFor(SharedCluster().addresses(), nullptr, {})));
  ASSERT_OK(store->Create(TestSession(Id(1))));
  // Set before the Rotate call: the old id dies inside it (at its third step, before it returns).
  std::atomic<bool> rotating{false};
  std::atomic<int> acknowledged{0};
  std::thread writer([&] {
    for (int i = 1; i <= 500; ++i) {
      absl::StatusOr<SessionMeta> written = SetInt(*store, Id(1), absl::StrCat("k", i % 8), i);
      if (!written.ok()) {
        EXPECT_THAT(written, StatusIs(absl::StatusCode::kNotFound)) << "only once rotated";
        EXPECT_TRUE(rotating.load());
        return;
      }
      acknowledged = i;
    }
  });
  absl::SleepFor(absl::Milliseconds(20));
  rotating = true;
  absl::StatusOr<SessionMeta> meta = store->Rotate(Id(1), Id(2), std::nullopt, "", std::nullopt);
  writer.join();
  ASSERT_OK(meta);
  ASSERT_OK_AND_ASSIGN(auto entries, GetAllEntries(*store, Id(2)));
  const int last = acknowledged.load();
  if (last > 0) {
    // The newest acknowledged write before the rotation ended must be in the rotated session.
    EXPECT_THAT(entries, Contains(Pair(absl::StrCat("k", last % 8), Value(int64_t{last}))));
  }
}

// Threads that run until `stop`, stopped and joined at the latest when this goes.
struct Threads {
  ~Threads() { Stop(); }
  void Stop() {
    stop = true;
    for (std::thread& thread : threads) {
      if (thread.joinable()) thread.join();
    }
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
};

TEST(RedisStoreTest, RedisKilledAndRestartedUnderLoadIsUnavailableThenRecoversByItself) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisServer> redis,
                       RedisServer::Start({"--appendonly", "yes", "--appendfsync", "always"}));
  RedisStoreOptions options = OptionsFor({redis->address()}, nullptr, {});
  options.redis.connect_timeout = absl::Milliseconds(200);
  options.redis.command_timeout = absl::Milliseconds(200);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenRedisStore(options));
  ASSERT_OK(store->Create(TestSession(Id(1))));
  const size_t descriptors = OpenDescriptors();

  std::atomic<int> acknowledged{0}, unavailable{0}, other_errors{0};
  Threads load;
  for (int t = 0; t < 4; ++t) {
    load.threads.emplace_back([&, t] {
      for (int i = 1; !load.stop; ++i) {
        absl::StatusOr<SessionMeta> written = SetInt(*store, Id(1), absl::StrCat("t", t), i);
        if (written.ok()) {
          acknowledged = std::max(acknowledged.load(), i);
        } else if (absl::IsUnavailable(written.status())) {
          ++unavailable;
        } else {
          ++other_errors;
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(200));
  redis->Kill();
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_FALSE(store->AcceptsWrites()) << "health reports Redis down";
  ASSERT_OK(redis->Restart());
  const absl::Time restarted = absl::Now();
  while (!store->AcceptsWrites() && absl::Now() < restarted + absl::Seconds(5)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(store->AcceptsWrites()) << "recovered by itself";
  const int before = acknowledged;
  absl::SleepFor(absl::Milliseconds(300));
  load.Stop();
  EXPECT_GT(unavailable.load(), 0);
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_GT(acknowledged.load(), before) << "writes resumed";
  EXPECT_OK(GetAllEntries(*store, Id(1))) << "the session survived (AOF, fsync always)";
  EXPECT_LE(OpenDescriptors(), descriptors + 2 * options.redis.max_connections_per_node)
      << "failed connections are closed, not leaked";
}

// Writes key `key` of session `id` with increasing numbers until `stop`, noting the last one
// acknowledged and how long writes failed (from the first failure to the next success).
class Writer {
 public:
  Writer(Store& store, std::string id, std::string key)
      : thread_([this, &store, id = std::move(id), key = std::move(key)] {
          for (int i = 1; !stop_; ++i) {
            const absl::Time now = absl::Now();
            if (SetInt(store, id, key, i).ok()) {
              acknowledged_ = i;
              absl::MutexLock lock(&mu_);
              if (failed_since_.has_value() && !window_.has_value()) {
                window_ = now - *failed_since_;
              }
            } else {
              absl::MutexLock lock(&mu_);
              if (!failed_since_.has_value()) failed_since_ = now;
            }
          }
        }) {}
  ~Writer() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int acknowledged() const { return acknowledged_; }
  // How long writes failed, once they have succeeded again.
  std::optional<absl::Duration> window() {
    absl::MutexLock lock(&mu_);
    return window_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> acknowledged_{0};
  absl::Mutex mu_;
  std::optional<absl::Time> failed_since_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Duration> window_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

TEST(RedisStoreTest, AFailoverLosesNoWriteAcknowledgedWithWait) {
  // A cluster of its own: the failover changes who is primary.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisCluster> cluster, RedisCluster::Start());
  RedisStoreOptions options = OptionsFor(cluster->addresses(), nullptr, {});
  options.redis.command_timeout = absl::Milliseconds(300);
  options.redis.connect_timeout = absl::Milliseconds(300);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> plain, OpenRedisStore(options));
  options.redis.wait_replicas = 1;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> waiting, OpenRedisStore(options));
  ASSERT_OK(plain->Create(TestSession(Id(1))));
  const std::string key = absl::StrCat(options.key_prefix, ":{", Id(1), "}");

  Writer without_wait(*plain, Id(1), "plain");
  Writer with_wait(*waiting, Id(1), "waited");
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_OK(cluster->KillPrimaryAndAwaitFailover(RedisKeySlot(key), absl::Seconds(15)));
  // The promoted replica has no replica of its own until the killed node rejoins as one: until
  // then WAIT 1 cannot succeed.
  ASSERT_OK(cluster->RestartKilledNodes(absl::Seconds(30)));
  const absl::Time rejoined = absl::Now();
  while ((!with_wait.window() || !without_wait.window()) &&
         absl::Now() < rejoined + absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  without_wait.Stop();
  with_wait.Stop();
  ASSERT_TRUE(without_wait.window().has_value()) << "writes resumed after the promotion";
  ASSERT_TRUE(with_wait.window().has_value()) << "WAIT 1 writes resumed once a replica rejoined";
  std::cout << "failover: writes failed for " << absl::FormatDuration(*without_wait.window())
            << " without WAIT, " << absl::FormatDuration(*with_wait.window())
            << " with --redis_wait_replicas=1 (until the killed node rejoined as a replica)\n";
  ASSERT_OK_AND_ASSIGN(auto entries, GetAllEntries(*plain, Id(1)));
  ASSERT_EQ(entries.count("waited"), 1u);
  EXPECT_GE(std::get<int64_t>(entries.at("waited")), with_wait.acknowledged())
      << "every write acknowledged with WAIT 1 survived the failover";
}

TEST(RedisStoreTest, ReshardingUnderLoadShowsCallersNoError) {
  RedisCluster& cluster = SharedCluster();
  RedisStoreOptions options = OptionsFor(cluster.addresses(), nullptr, {});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenRedisStore(options));
  constexpr int kSessions = 64;
  for (int i = 0; i < kSessions; ++i) ASSERT_OK(store->Create(TestSession(Id(i))));

  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, errors{0};
  std::thread load([&] {
    for (int i = 0; !stop; ++i) {
      const absl::Status status = SetInt(*store, Id(i % kSessions), "n", i).status();
      ++calls;
      if (!status.ok()) {
        ++errors;
        ADD_FAILURE() << status;
      }
    }
  });
  absl::Cleanup stop_load = [&] {
    stop = true;
    load.join();
  };
  ASSERT_OK_AND_ASSIGN(const std::string first, cluster.PrimaryOf(0));
  ASSERT_OK_AND_ASSIGN(const std::string last, cluster.PrimaryOf(16383));
  ASSERT_NE(first, last);
  ASSERT_OK(cluster.Reshard(first, last, 500));
  ASSERT_OK(cluster.Reshard(last, first, 500));
  std::move(stop_load).Invoke();
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  for (int i = 0; i < kSessions; ++i) EXPECT_OK(GetAllEntries(*store, Id(i)));
}

}  // namespace
}  // namespace sessiond::storage
