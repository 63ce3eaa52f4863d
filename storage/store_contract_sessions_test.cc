// The Store contract, part two: a user's sessions. Labels and last access, binding a principal at
// rotation, the principal index (ListSessions, RevokeSessions, the per-principal cap), why a
// session is gone, and the event log. Every backend runs these with the rest of the suite.
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "storage/page_token.h"
#include "storage/session_gone.h"
#include "storage/store_contract_test.h"
#include "tests/support/status_matchers.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr absl::Duration kIdle = absl::Minutes(20);
constexpr absl::Duration kAbsolute = absl::Hours(12);
// How long a test waits for events to reach the log (a networked backend delivers them from its
// engine a little after the call returns).
constexpr absl::Duration kEventWait = absl::Seconds(10);

std::string SessionId(int n) { return absl::StrCat("us-", n, "-AAAAAAAAAAAAAAAAAAAAAAAAAAAA"); }

NewSession OfPrincipal(int n, std::string principal, absl::Duration idle = kIdle) {
  NewSession session;
  session.id = SessionId(n);
  session.principal = std::move(principal);
  session.idle_timeout = idle;
  session.absolute_timeout = kAbsolute;
  return session;
}

// The ids of a page, in order.
std::vector<std::string> IdsOf(const SessionPage& page) {
  std::vector<std::string> ids;
  for (const SessionMeta& meta : page.sessions) ids.push_back(meta.id);
  return ids;
}

// Why `status` says a session is gone (kUnknown when it does not say).
GoneReason ReasonOf(const absl::Status& status) {
  std::optional<GoneDetails> details = GoneDetailsOf(status);
  return details.has_value() ? details->reason : GoneReason::kUnknown;
}

absl::Status TouchStatus(Store& store, absl::string_view id) { return store.Touch(id).status(); }

// The events from `from` on, once there are at least `count` of them (or whatever there is after
// kEventWait).
std::vector<SessionEvent> AwaitEvents(Store& store, uint64_t from, size_t count) {
  const absl::Time deadline = absl::Now() + kEventWait;
  for (;;) {
    absl::StatusOr<std::vector<SessionEvent>> events = store.Events().Read(from, 1'000'000);
    if (!events.ok()) return {};
    if (events->size() >= count || absl::Now() > deadline) return *std::move(events);
    absl::SleepFor(absl::Milliseconds(5));
  }
}

std::vector<SessionEvent::Kind> KindsOf(const std::vector<SessionEvent>& events) {
  std::vector<SessionEvent::Kind> kinds;
  for (const SessionEvent& event : events) kinds.push_back(event.kind);
  return kinds;
}

// A second store of the backend under test, with other limits than the fixture's.
std::unique_ptr<Store> MakeStore(const StoreFactory& factory, Clock* clock,
                                 const SessionLimits& limits) {
  absl::StatusOr<std::unique_ptr<Store>> store = factory.make(clock, limits);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

SessionLimits Capped(SessionLimits limits, size_t cap, PrincipalCapPolicy policy) {
  limits.max_sessions_per_principal = cap;
  limits.principal_cap_policy = policy;
  return limits;
}

}  // namespace

TEST_P(StoreContractTest, LabelsAndLastAccessAreKept) {
  NewSession session = OfPrincipal(1, "alice");
  session.labels = {{"device", "phone"}, {"ip_prefix", "192.0.2.0/24"}};
  const absl::Time created = clock_.Now();
  ASSERT_OK_AND_ASSIGN(SessionMeta meta, store_->Create(session));
  EXPECT_EQ(meta.labels, session.labels);
  EXPECT_EQ(meta.last_access_at, created);
  clock_.Advance(absl::Minutes(1));
  const absl::Time used = clock_.Now();
  ASSERT_OK_AND_ASSIGN(meta, store_->Touch(SessionId(1)));
  EXPECT_EQ(meta.last_access_at, used);
  EXPECT_EQ(meta.labels, session.labels);
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(
      meta, store_->Get(SessionId(1), {}, Renewal::kNoRenew, [](absl::string_view, ValueView) {}));
  EXPECT_EQ(meta.last_access_at, used);
}

TEST_P(StoreContractTest, RotateBindsAPrincipalInTheSameStep) {
  ASSERT_OK(store_->Create(OfPrincipal(1, "")));
  ASSERT_OK_AND_ASSIGN(SessionMeta rotated,
                       store_->Rotate(SessionId(1), SessionId(2), std::nullopt, "", "alice"));
  EXPECT_EQ(rotated.principal, "alice");
  EXPECT_EQ(rotated.version, 2u);
  ASSERT_OK_AND_ASSIGN(SessionPage page, store_->ListSessions("alice", 10, ""));
  EXPECT_THAT(IdsOf(page), ElementsAre(SessionId(2)));
  EXPECT_EQ(ReasonOf(TouchStatus(*store_, SessionId(1))), GoneReason::kRotated);

  // Rotating without a principal keeps it; binding "" unbinds it.
  ASSERT_OK_AND_ASSIGN(rotated,
                       store_->Rotate(SessionId(2), SessionId(3), std::nullopt, "", std::nullopt));
  EXPECT_EQ(rotated.principal, "alice");
  ASSERT_OK_AND_ASSIGN(page, store_->ListSessions("alice", 10, ""));
  EXPECT_THAT(IdsOf(page), ElementsAre(SessionId(3)));
  ASSERT_OK_AND_ASSIGN(rotated, store_->Rotate(SessionId(3), SessionId(4), std::nullopt, "", ""));
  EXPECT_EQ(rotated.principal, "");
  EXPECT_THAT(store_->ListSessions("alice", 10, ""),
              IsOkAndHolds(::testing::Field(&SessionPage::sessions, IsEmpty())));
  EXPECT_EQ(store_->Stats().principal_index_entries, 0u);
}

TEST_P(StoreContractTest, ListSessionsIsNewestFirstInPages) {
  for (int n = 1; n <= 5; ++n) {
    ASSERT_OK(store_->Create(OfPrincipal(n, "alice")));
    clock_.Advance(absl::Seconds(1));
  }
  ASSERT_OK(store_->Create(OfPrincipal(6, "bob")));
  ASSERT_OK_AND_ASSIGN(SessionPage page, store_->ListSessions("alice", 2, ""));
  EXPECT_THAT(IdsOf(page), ElementsAre(SessionId(5), SessionId(4)));
  ASSERT_FALSE(page.next_page_token.empty());
  ASSERT_OK_AND_ASSIGN(page, store_->ListSessions("alice", 2, page.next_page_token));
  EXPECT_THAT(IdsOf(page), ElementsAre(SessionId(3), SessionId(2)));
  ASSERT_OK_AND_ASSIGN(page, store_->ListSessions("alice", 2, page.next_page_token));
  EXPECT_THAT(IdsOf(page), ElementsAre(SessionId(1)));
  EXPECT_EQ(page.next_page_token, "");
  ASSERT_OK_AND_ASSIGN(page, store_->ListSessions("bob", 10, ""));
  ASSERT_THAT(page.sessions, SizeIs(1));
  EXPECT_EQ(page.sessions[0].principal, "bob");
  EXPECT_THAT(store_->ListSessions("nobody", 10, ""),
              IsOkAndHolds(::testing::Field(&SessionPage::sessions, IsEmpty())));
  EXPECT_THAT(store_->ListSessions("alice", 2, "not a token"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

TEST_P(StoreContractTest, ListSessionsNeverShowsEndedSessions) {
  ASSERT_OK(store_->Create(OfPrincipal(1, "alice")));
  ASSERT_OK(store_->Create(OfPrincipal(2, "alice", absl::Seconds(1))));
  ASSERT_OK(store_->Create(OfPrincipal(3, "alice")));
  ASSERT_OK(store_->Delete(SessionId(3), std::nullopt, ""));
  clock_.Advance(absl::Seconds(2));
  // Session 2 has expired but nothing has swept it yet.
  ASSERT_OK_AND_ASSIGN(SessionPage page, store_->ListSessions("alice", 10, ""));
  EXPECT_THAT(IdsOf(page), ElementsAre(SessionId(1)));
  ASSERT_OK(store_->SweepExpired());
  EXPECT_EQ(store_->Stats().principal_index_entries, 1u);
}

TEST_P(StoreContractTest, TheIndexHoldsNothingOnceAPrincipalsSessionsExpire) {
  constexpr int kSessions = 2'000;
  for (int n = 0; n < kSessions; ++n) {
    ASSERT_OK(store_->Create(OfPrincipal(n, "alice", absl::Minutes(1))));
  }
  EXPECT_EQ(store_->Stats().principal_index_entries, size_t{kSessions});
  clock_.Advance(absl::Minutes(2));
  ASSERT_OK(store_->SweepExpired());
  EXPECT_EQ(store_->Stats().principal_index_entries, 0u);
  EXPECT_THAT(store_->ListSessions("alice", 10, ""),
              IsOkAndHolds(::testing::Field(&SessionPage::sessions, IsEmpty())));
}

TEST_P(StoreContractTest, RevokeSessionsEndsAllButTheOnesKept) {
  for (int n = 1; n <= 3; ++n) ASSERT_OK(store_->Create(OfPrincipal(n, "alice")));
  ASSERT_OK(store_->Create(OfPrincipal(4, "bob")));
  const std::vector<std::string> keep = {SessionId(2)};
  EXPECT_THAT(store_->RevokeSessions("alice", keep), IsOkAndHolds(2u));
  for (int n : {1, 3}) {
    SCOPED_TRACE(n);
    absl::Status status = TouchStatus(*store_, SessionId(n));
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
    EXPECT_EQ(ReasonOf(status), GoneReason::kRevoked);
    EXPECT_THAT(store_->Apply(SessionId(n), {Mutation::Set("k", true)}, {}),
                StatusIs(absl::StatusCode::kNotFound));
  }
  EXPECT_OK(store_->Touch(SessionId(2)));
  EXPECT_OK(store_->Touch(SessionId(4)));
  ASSERT_OK_AND_ASSIGN(SessionPage page, store_->ListSessions("alice", 10, ""));
  EXPECT_THAT(IdsOf(page), ElementsAre(SessionId(2)));
  EXPECT_THAT(store_->RevokeSessions("alice", {}), IsOkAndHolds(1u));
  EXPECT_THAT(store_->RevokeSessions("alice", {}), IsOkAndHolds(0u));
}

TEST_P(StoreContractTest, NotFoundSaysWhyTheSessionIsGone) {
  ASSERT_OK(store_->Create(OfPrincipal(1, "alice")));
  ASSERT_OK(store_->Delete(SessionId(1), std::nullopt, ""));
  const absl::Time deleted_at = clock_.Now();
  ASSERT_OK(store_->Create(OfPrincipal(2, "alice", absl::Seconds(1))));
  NewSession short_lived = OfPrincipal(3, "alice");
  short_lived.absolute_timeout = absl::Seconds(2);
  ASSERT_OK(store_->Create(short_lived));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(store_->Touch(SessionId(3)));
  clock_.Advance(absl::Seconds(2));

  absl::Status deleted = TouchStatus(*store_, SessionId(1));
  ASSERT_TRUE(GoneDetailsOf(deleted).has_value()) << deleted;
  EXPECT_EQ(GoneDetailsOf(deleted)->reason, GoneReason::kDeleted);
  EXPECT_EQ(GoneDetailsOf(deleted)->ended_at, deleted_at);
  // One expiry is found by a read, the other by the sweeper; both say why.
  absl::Status idle = TouchStatus(*store_, SessionId(2));
  EXPECT_EQ(ReasonOf(idle), GoneReason::kExpiredIdle) << idle;
  ASSERT_OK(store_->SweepExpired());
  absl::Status absolute = TouchStatus(*store_, SessionId(3));
  EXPECT_EQ(ReasonOf(absolute), GoneReason::kExpiredAbsolute) << absolute;
  EXPECT_EQ(ReasonOf(TouchStatus(*store_, SessionId(9))), GoneReason::kUnknown);

  // Past the retention window the reason is forgotten.
  clock_.Advance(kLimits.gone_retention + absl::Minutes(1));
  ASSERT_OK(store_->SweepExpired());
  absl::Status forgotten = TouchStatus(*store_, SessionId(1));
  EXPECT_THAT(forgotten, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(ReasonOf(forgotten), GoneReason::kUnknown);
}

TEST_P(StoreContractTest, WithoutRetentionNoReasonIsKept) {
  SessionLimits limits = kLimits;
  limits.gone_retention = absl::ZeroDuration();
  std::unique_ptr<Store> store = MakeStore(GetParam(), &clock_, limits);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Create(OfPrincipal(1, "alice")));
  ASSERT_OK(store->Delete(SessionId(1), std::nullopt, ""));
  absl::Status status = TouchStatus(*store, SessionId(1));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(ReasonOf(status), GoneReason::kUnknown);
}

TEST_P(StoreContractTest, ThePrincipalCapRejectsNewSessions) {
  std::unique_ptr<Store> store =
      MakeStore(GetParam(), &clock_, Capped(kLimits, 2, PrincipalCapPolicy::kRejectNew));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Create(OfPrincipal(1, "alice")));
  ASSERT_OK(store->Create(OfPrincipal(2, "alice")));
  EXPECT_THAT(
      store->Create(OfPrincipal(3, "alice")),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("--max_sessions_per_principal")));
  EXPECT_OK(store->Create(OfPrincipal(4, "bob")));
  // Binding at rotation counts too, and a refused binding changes nothing.
  ASSERT_OK(store->Create(OfPrincipal(5, "")));
  EXPECT_THAT(store->Rotate(SessionId(5), SessionId(6), std::nullopt, "", "alice"),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_OK(store->Touch(SessionId(5)));
  // Rotating one of alice's own sessions is not a new one.
  EXPECT_OK(store->Rotate(SessionId(1), SessionId(7), std::nullopt, "", "alice"));
  ASSERT_OK(store->Delete(SessionId(2), std::nullopt, ""));
  EXPECT_OK(store->Create(OfPrincipal(3, "alice")));
}

TEST_P(StoreContractTest, ExpiredSessionsDoNotCountAgainstTheCap) {
  std::unique_ptr<Store> store =
      MakeStore(GetParam(), &clock_, Capped(kLimits, 2, PrincipalCapPolicy::kRejectNew));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Create(OfPrincipal(1, "alice", absl::Minutes(1))));
  ASSERT_OK(store->Create(OfPrincipal(2, "alice", absl::Minutes(1))));
  // Both expire; nothing has swept them yet.
  clock_.Advance(absl::Minutes(2));
  // A login that binds alice at rotation, then a new session of hers: both fit.
  ASSERT_OK(store->Create(OfPrincipal(3, "")));
  EXPECT_OK(store->Rotate(SessionId(3), SessionId(4), std::nullopt, "", "alice"));
  EXPECT_OK(store->Create(OfPrincipal(5, "alice")));
  EXPECT_THAT(store->Create(OfPrincipal(6, "alice")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_OK_AND_ASSIGN(SessionPage page, store->ListSessions("alice", 10, ""));
  EXPECT_THAT(IdsOf(page), ElementsAre(SessionId(5), SessionId(4)));
}

TEST_P(StoreContractTest, ThePrincipalCapEvictsTheLeastRecentlyUsed) {
  std::unique_ptr<Store> store =
      MakeStore(GetParam(), &clock_, Capped(kLimits, 2, PrincipalCapPolicy::kEvictOldest));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Create(OfPrincipal(1, "alice")));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(store->Create(OfPrincipal(2, "alice")));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(store->Touch(SessionId(1)));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(store->Create(OfPrincipal(3, "alice")));
  absl::Status evicted = TouchStatus(*store, SessionId(2));
  EXPECT_THAT(evicted, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(ReasonOf(evicted), GoneReason::kEvicted);
  EXPECT_OK(store->Touch(SessionId(1)));
  EXPECT_OK(store->Touch(SessionId(3)));
  ASSERT_OK_AND_ASSIGN(SessionPage page, store->ListSessions("alice", 10, ""));
  EXPECT_THAT(IdsOf(page), ElementsAre(SessionId(3), SessionId(1)));
}

TEST_P(StoreContractTest, ConcurrentLoginsLeaveExactlyTheCap) {
  for (PrincipalCapPolicy policy :
       {PrincipalCapPolicy::kRejectNew, PrincipalCapPolicy::kEvictOldest}) {
    SCOPED_TRACE(policy == PrincipalCapPolicy::kRejectNew ? "reject_new" : "evict_oldest");
    std::unique_ptr<Store> store = MakeStore(GetParam(), &clock_, Capped(kLimits, 5, policy));
    ASSERT_NE(store, nullptr);
    constexpr int kLogins = 32;
    std::atomic<int> created{0};
    std::atomic<int> other_errors{0};
    std::vector<std::thread> threads;
    absl::Notification go;
    {
      absl::Cleanup join = [&] {
        for (std::thread& thread : threads) thread.join();
      };
      for (int n = 0; n < kLogins; ++n) {
        threads.emplace_back([&, n] {
          go.WaitForNotification();
          absl::StatusOr<SessionMeta> meta = store->Create(OfPrincipal(100 + n, "alice"));
          if (meta.ok()) {
            ++created;
          } else if (meta.status().code() != absl::StatusCode::kResourceExhausted) {
            ++other_errors;
          }
        });
      }
      go.Notify();
    }
    EXPECT_EQ(other_errors.load(), 0);
    EXPECT_EQ(created.load(), policy == PrincipalCapPolicy::kRejectNew ? 5 : kLogins);
    ASSERT_OK_AND_ASSIGN(SessionPage page, store->ListSessions("alice", 100, ""));
    EXPECT_THAT(page.sessions, SizeIs(5));
    EXPECT_EQ(store->Stats().principal_index_entries, 5u);
  }
}

TEST_P(StoreContractTest, EveryChangeIsAnEventInOrder) {
  const uint64_t first = store_->Events().next_sequence();
  NewSession created = OfPrincipal(1, "alice");
  created.request_id = "create-1";
  ASSERT_OK(store_->Create(created));
  ASSERT_OK(store_->Create(created));  // a retry: no second event
  ASSERT_OK(store_->Apply(SessionId(1), {Mutation::Set("b", true), Mutation::Set("a", true)}, {}));
  ASSERT_OK(store_->Apply(SessionId(1), {Mutation::Remove("absent")}, {}));  // no change
  ASSERT_OK(store_->Apply(SessionId(1), {Mutation::Clear()}, {}));
  ASSERT_OK(store_->Touch(SessionId(1)));  // renewals are not events by default
  ASSERT_OK(store_->Rotate(SessionId(1), SessionId(2), std::nullopt, "", std::nullopt));
  ASSERT_OK(store_->Delete(SessionId(2), std::nullopt, ""));
  ASSERT_OK(store_->Create(OfPrincipal(3, "alice")));
  ASSERT_OK(store_->RevokeSessions("alice", {}));
  ASSERT_OK(store_->Create(OfPrincipal(4, "bob", absl::Seconds(1))));
  clock_.Advance(absl::Seconds(2));
  ASSERT_OK(store_->SweepExpired());

  const std::vector<SessionEvent> events = AwaitEvents(*store_, first, 9);
  using Kind = SessionEvent::Kind;
  ASSERT_THAT(KindsOf(events), ElementsAre(Kind::kCreated, Kind::kUpdated, Kind::kUpdated,
                                           Kind::kRotated, Kind::kDeleted, Kind::kCreated,
                                           Kind::kRevoked, Kind::kCreated, Kind::kExpired));
  for (size_t i = 1; i < events.size(); ++i) EXPECT_GT(events[i].sequence, events[i - 1].sequence);
  EXPECT_EQ(events[0].sequence, first);
  EXPECT_EQ(events[0].id, SessionId(1));
  EXPECT_EQ(events[0].principal, "alice");
  EXPECT_EQ(events[0].version, 1u);
  EXPECT_THAT(events[1].changed_keys, ElementsAre("a", "b"));
  EXPECT_EQ(events[1].version, 2u);
  EXPECT_TRUE(events[2].cleared);
  EXPECT_EQ(events[2].version, 3u);
  EXPECT_EQ(events[3].id, SessionId(1));
  EXPECT_EQ(events[3].new_id, SessionId(2));
  EXPECT_EQ(events[3].version, 4u);
  EXPECT_EQ(events[4].id, SessionId(2));
  EXPECT_EQ(events[4].reason, GoneReason::kDeleted);
  EXPECT_EQ(events[6].id, SessionId(3));
  EXPECT_EQ(events[6].reason, GoneReason::kRevoked);
  EXPECT_EQ(events[8].id, SessionId(4));
  EXPECT_EQ(events[8].principal, "bob");
  EXPECT_EQ(events[8].reason, GoneReason::kExpiredIdle);
}

TEST_P(StoreContractTest, RenewalsAreEventsWhenAsked) {
  SessionLimits limits = kLimits;
  limits.record_touches = true;
  std::unique_ptr<Store> store = MakeStore(GetParam(), &clock_, limits);
  ASSERT_NE(store, nullptr);
  const uint64_t first = store->Events().next_sequence();
  ASSERT_OK(store->Create(OfPrincipal(1, "alice")));
  ASSERT_OK(store->Touch(SessionId(1)));
  ASSERT_OK(store->Get(SessionId(1), {}, Renewal::kRenew, [](absl::string_view, ValueView) {}));
  ASSERT_OK(store->Get(SessionId(1), {}, Renewal::kNoRenew, [](absl::string_view, ValueView) {}));
  using Kind = SessionEvent::Kind;
  EXPECT_THAT(KindsOf(AwaitEvents(*store, first, 3)),
              ElementsAre(Kind::kCreated, Kind::kTouched, Kind::kTouched));
}

TEST_P(StoreContractTest, TheEventLogKeepsItsRetentionAndRefusesOutsideIt) {
  SessionLimits limits = kLimits;
  limits.event_retention = 4;
  std::unique_ptr<Store> store = MakeStore(GetParam(), &clock_, limits);
  ASSERT_NE(store, nullptr);
  const uint64_t first = store->Events().next_sequence();
  for (int n = 0; n < 10; ++n) ASSERT_OK(store->Create(OfPrincipal(n, "alice")));
  const uint64_t next = first + 10;
  ASSERT_THAT(AwaitEvents(*store, first + 6, 4), SizeIs(4));
  EXPECT_THAT(store->Events().Read(first, 100), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(store->Events().Read(next, 100), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store->Events().Read(next + 1, 100), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_P(StoreContractTest, AWaiterIsWokenByTheNextEvent) {
  struct Flag : EventLog::Waiter {
    void Wake() override { woken.Notify(); }
    absl::Notification woken;
  };
  auto waiter = std::make_shared<Flag>();
  const uint64_t next = store_->Events().next_sequence();
  ASSERT_TRUE(store_->Events().WaitFor(next, waiter));
  ASSERT_OK(store_->Create(OfPrincipal(1, "alice")));
  EXPECT_TRUE(waiter->woken.WaitForNotificationWithTimeout(kEventWait));
  EXPECT_FALSE(store_->Events().WaitFor(next, waiter));
}

}  // namespace sessiond::storage
