#include "storage/memory_store.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/store_contract_test.h"
#include "storage/testing/fake_clock.h"
#include "tests/support/status_matchers.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::StatusIs;

absl::StatusOr<std::unique_ptr<Store>> MakeMemoryStore(Clock* clock, const SessionLimits& limits) {
  return NewMemoryStore(MemoryStoreOptions{.clock = clock, .limits = limits});
}

INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
                         ::testing::Values(StoreFactory{"memory", &MakeMemoryStore}),
                         [](const auto& info) { return info.param.name; });

NewSession Sized(int n, size_t value_bytes) {
  return NewSession{absl::StrCat("session-", n),
                    "",
                    absl::Minutes(20),
                    absl::Hours(12),
                    {{"v", std::string(value_bytes, 'x')}}};
}

TEST(MemoryStoreTest, AtTheMemoryCapNewSessionsAreRejectedAndLiveOnesKept) {
  FakeClock clock;
  std::unique_ptr<Store> store =
      NewMemoryStore({.clock = &clock, .max_memory_bytes = 64 * 1024, .shards = 4});
  int created = 0;
  while (store->Create(Sized(created, 1000)).ok()) ++created;
  EXPECT_GT(created, 30);
  EXPECT_LE(store->Stats().approximate_bytes, 64u * 1024);
  EXPECT_THAT(store->Create(Sized(created, 1000)), StatusIs(absl::StatusCode::kResourceExhausted));
  for (int i = 0; i < created; ++i) {
    ASSERT_OK(store->Touch(absl::StrCat("session-", i))) << "live session " << i << " evicted";
  }
  // Growing a live session is refused too; deleting frees room (less the records of why the
  // sessions ended and their events, which the cap counts too: about half of a 1 KB session, so
  // three deletes make room for one, whatever the slack left under the cap).
  EXPECT_THAT(store->Apply("session-0", {Mutation::Set("more", std::string(4000, 'y'))}, {}),
              StatusIs(absl::StatusCode::kResourceExhausted));
  for (int i = 1; i <= 3; ++i) ASSERT_OK(store->Delete(absl::StrCat("session-", i), {}, ""));
  EXPECT_OK(store->Create(Sized(created, 1000)));
}

TEST(MemoryStoreTest, MemoryAccountingReturnsToZeroWhenEverythingIsGone) {
  FakeClock clock;
  std::unique_ptr<Store> store = NewMemoryStore({.clock = &clock});
  for (int i = 0; i < 100; ++i) ASSERT_OK(store->Create(Sized(i, 100 + i)));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        store->Apply(absl::StrCat("session-", i), {Mutation::Set("w", std::string(i, 'z'))}, {})
            .ok());
  }
  EXPECT_GT(store->Stats().approximate_bytes, 100u * 100);
  for (int i = 0; i < 50; ++i) ASSERT_OK(store->Delete(absl::StrCat("session-", i), {}, ""));
  // The rest expire; then what remains are the records of why each ended, kept for
  // --gone_retention (and the wheel's 1 s slots).
  clock.Advance(absl::Hours(1));
  ASSERT_OK(store->SweepExpired());
  EXPECT_EQ(store->Stats().live_sessions, 0u);
  EXPECT_GT(store->Stats().approximate_bytes, 0u);
  clock.Advance(SessionLimits{}.gone_retention + absl::Seconds(1));
  ASSERT_OK(store->SweepExpired());
  EXPECT_EQ(store->Stats().approximate_bytes, 0u);
}

TEST(MemoryStoreTest, RetryRecordsCountAsMemoryNotAsSessionsAndGoAfterTheWindow) {
  FakeClock clock;
  std::unique_ptr<Store> store = NewMemoryStore({.clock = &clock});
  for (int i = 0; i < 10; ++i) {
    NewSession session = Sized(i, 100);
    session.request_id = absl::StrCat("create-", i);
    ASSERT_OK(store->Create(std::move(session)));
  }
  EXPECT_EQ(store->Stats().live_sessions, 10u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(store->Delete(absl::StrCat("session-", i), {}, absl::StrCat("delete-", i)));
  }
  EXPECT_EQ(store->Stats().live_sessions, 0u);
  EXPECT_GT(store->Stats().approximate_bytes, 0u) << "the records of the creates and deletes";
  // A delete's record also says why the session is gone, for the longer of the two windows (and
  // the wheel's 1 s slots).
  clock.Advance(std::max(SessionLimits{}.idempotency_window, SessionLimits{}.gone_retention) +
                absl::Seconds(1));
  ASSERT_OK(store->SweepExpired());
  EXPECT_EQ(store->Stats().approximate_bytes, 0u);
}

TEST(MemoryStoreTest, TheIndexHoldsNothingAfterAHundredThousandSessionsOfOnePrincipalExpire) {
  FakeClock clock;
  std::unique_ptr<Store> store = NewMemoryStore({.clock = &clock});
  constexpr int kSessions = 100'000;
  for (int i = 0; i < kSessions; ++i) {
    NewSession session = Sized(i, 10);
    session.principal = "alice";
    session.idle_timeout = absl::Minutes(1);
    ASSERT_OK(store->Create(std::move(session)));
  }
  EXPECT_EQ(store->Stats().principal_index_entries, size_t{kSessions});
  clock.Advance(absl::Minutes(2));
  EXPECT_THAT(store->SweepExpired(), ::sessiond::testing::IsOkAndHolds(size_t{kSessions}));
  EXPECT_EQ(store->Stats().principal_index_entries, 0u);
  EXPECT_EQ(store->Stats().live_sessions, 0u);
}

TEST(MemoryStoreTest, SweepFindsSessionsWhoseDeadlineMovedAfterTheyWereFiled) {
  FakeClock clock;
  std::unique_ptr<Store> store = NewMemoryStore({.clock = &clock, .shards = 1});
  ASSERT_OK(store->Create(Sized(1, 10)));
  ASSERT_OK(store->Create(Sized(2, 10)));
  clock.Advance(absl::Minutes(10));
  ASSERT_OK(store->Touch("session-1"));  // now due at 30 min, filed under 20 min
  clock.Advance(absl::Minutes(11));
  EXPECT_EQ(*store->SweepExpired(), 1u);
  EXPECT_EQ(store->Stats().live_sessions, 1u);
  clock.Advance(absl::Minutes(10));
  EXPECT_EQ(*store->SweepExpired(), 1u);
  EXPECT_EQ(store->Stats().live_sessions, 0u);
}

}  // namespace
}  // namespace sessiond::storage
