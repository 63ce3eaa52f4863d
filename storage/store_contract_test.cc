#include "storage/store_contract_test.h"

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "storage/conflict.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_entries.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::IsOk;
using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kIdle = absl::Minutes(20);
constexpr absl::Duration kAbsolute = absl::Hours(12);

using Entries = std::map<std::string, Value>;

// A well-formed id distinct per call (the service generates real ones; the store does not care).
std::string TestId(int n) { return absl::StrCat("id-", n, "-AAAAAAAAAAAAAAAAAAAAAAAAAA"); }

NewSession Session(std::string id, std::vector<Entry> entries = {}) {
  return NewSession{std::move(id), "user-1", kIdle, kAbsolute, std::move(entries)};
}

// Every entry of `id`, renewing the idle timer unless told not to.
absl::StatusOr<Entries> GetAll(Store& store, absl::string_view id,
                               Renewal renewal = Renewal::kRenew) {
  return ::sessiond::testing::GetAllEntries(store, id, renewal);
}

std::vector<Mutation> Sets(std::vector<std::pair<std::string, Value>> pairs) {
  std::vector<Mutation> mutations;
  for (auto& [key, value] : pairs) mutations.push_back(Mutation::Set(key, value));
  return mutations;
}

absl::StatusOr<SessionMeta> SetOne(Store& store, absl::string_view id, std::string key, Value value,
                                   Conditions conditions = {}) {
  return store.Apply(id, Sets({{std::move(key), std::move(value)}}), conditions);
}

}  // namespace

std::vector<SessionEvent> AwaitEvents(Store& store, uint64_t from, size_t count) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (;;) {
    // A log fed by a tail (Redis) may not have reached `from` yet: Read refuses a sequence past
    // the log's end.
    if (store.Events().next_sequence() < from && absl::Now() <= deadline) {
      absl::SleepFor(absl::Milliseconds(5));
      continue;
    }
    absl::StatusOr<std::vector<SessionEvent>> events = store.Events().Read(from, 1'000'000);
    if (!events.ok()) return {};
    if (events->size() >= count || absl::Now() > deadline) return *std::move(events);
    absl::SleepFor(absl::Milliseconds(5));
  }
}

void StoreContractTest::SetUp() {
  absl::StatusOr<std::unique_ptr<Store>> store = GetParam().make(&clock_, kLimits);
  ASSERT_OK(store);
  store_ = *std::move(store);
}

namespace {

TEST_P(StoreContractTest, CreateStartsAtVersionOneWithExpiryFromNow) {
  const absl::Time now = clock_.Now();
  ASSERT_OK_AND_ASSIGN(SessionMeta meta, store_->Create(Session(TestId(1), {{"a", int64_t{1}}})));
  EXPECT_EQ(meta.id, TestId(1));
  EXPECT_EQ(meta.principal, "user-1");
  EXPECT_EQ(meta.version, 1u);
  EXPECT_EQ(meta.created_at, now);
  EXPECT_EQ(meta.idle_expires_at, now + kIdle);
  EXPECT_EQ(meta.absolute_expires_at, now + kAbsolute);
  EXPECT_EQ(meta.idle_timeout, kIdle);
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(ElementsAre(Pair("a", Value(int64_t{1})))));
}

TEST_P(StoreContractTest, CreateWithATakenIdFails) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", true}})));
  EXPECT_THAT(store_->Create(Session(TestId(1))), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(ElementsAre(Pair("a", Value(true)))));
}

TEST_P(StoreContractTest, EveryValueTypeRoundTrips) {
  const Entries written = {{"s", std::string("text")},
                           {"b", Bytes{std::string("\0\xff", 2)}},
                           {"i", int64_t{-7}},
                           {"d", 2.5},
                           {"t", true}};
  std::vector<Entry> entries;
  for (const auto& [key, value] : written) entries.push_back({key, value});
  ASSERT_OK(store_->Create(Session(TestId(1), std::move(entries))));
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(written));
}

TEST_P(StoreContractTest, GetReturnsOnlyListedKeysThatExist) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{1}}, {"b", int64_t{2}}})));
  std::vector<std::string> seen;
  const std::vector<absl::string_view> keys = {"b", "missing"};
  ASSERT_OK(store_->Get(TestId(1), keys, Renewal::kRenew,
                        [&](absl::string_view key, ValueView) { seen.emplace_back(key); }));
  EXPECT_THAT(seen, ElementsAre("b"));
}

TEST_P(StoreContractTest, UnknownSessionIsNotFoundEverywhere) {
  EXPECT_THAT(GetAll(*store_, TestId(9)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(SetOne(*store_, TestId(9), "a", true), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Touch(TestId(9)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Rotate(TestId(9), TestId(10), std::nullopt, "", std::nullopt),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Delete(TestId(9), std::nullopt, ""), IsOkAndHolds(false));
}

TEST_P(StoreContractTest, SetUpsertsAndBumpsVersion) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{1}}})));
  ASSERT_OK_AND_ASSIGN(SessionMeta meta,
                       store_->Apply(TestId(1), Sets({{"a", std::string("x")}, {"b", 1.5}}), {}));
  EXPECT_EQ(meta.version, 2u);
  EXPECT_THAT(GetAll(*store_, TestId(1)),
              IsOkAndHolds(
                  UnorderedElementsAre(Pair("a", Value(std::string("x"))), Pair("b", Value(1.5)))));
}

TEST_P(StoreContractTest, RemovingAbsentKeysChangesNothing) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{1}}})));
  ASSERT_OK_AND_ASSIGN(SessionMeta meta, store_->Apply(TestId(1), {Mutation::Remove("zz")}, {}));
  EXPECT_EQ(meta.version, 1u);
  ASSERT_OK_AND_ASSIGN(meta, store_->Apply(TestId(1), {Mutation::Remove("a")}, {}));
  EXPECT_EQ(meta.version, 2u);
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(IsEmpty()));
}

TEST_P(StoreContractTest, ClearEmptiesButKeepsTheSession) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{1}}, {"b", int64_t{2}}})));
  ASSERT_OK_AND_ASSIGN(SessionMeta meta, store_->Apply(TestId(1), {Mutation::Clear()}, {}));
  EXPECT_EQ(meta.version, 2u);
  EXPECT_EQ(meta.principal, "user-1");
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(IsEmpty()));
  ASSERT_OK_AND_ASSIGN(meta, store_->Apply(TestId(1), {Mutation::Clear()}, {}));
  EXPECT_EQ(meta.version, 2u) << "clearing an empty session is not a change";
}

TEST_P(StoreContractTest, MutationsApplyInOrder) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"old", true}})));
  std::vector<Mutation> batch;
  batch.push_back(Mutation::Set("a", int64_t{1}));
  batch.push_back(Mutation::Clear());
  batch.push_back(Mutation::Set("b", int64_t{2}));
  batch.push_back(Mutation::Set("c", int64_t{3}));
  batch.push_back(Mutation::Remove("c"));
  ASSERT_OK_AND_ASSIGN(SessionMeta meta, store_->Apply(TestId(1), std::move(batch), {}));
  EXPECT_EQ(meta.version, 2u) << "one batch is one version";
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(ElementsAre(Pair("b", Value(int64_t{2})))));
}

TEST_P(StoreContractTest, StaleIfVersionIsAbortedWithTheCurrentVersion) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{1}}})));
  ASSERT_OK(SetOne(*store_, TestId(1), "a", int64_t{2}));
  const absl::StatusOr<SessionMeta> stale =
      SetOne(*store_, TestId(1), "a", int64_t{3}, Conditions{.if_version = 1});
  ASSERT_THAT(stale, StatusIs(absl::StatusCode::kAborted));
  ASSERT_TRUE(GetConflict(stale.status()).has_value());
  EXPECT_EQ(GetConflict(stale.status())->current_version, 2u);
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(ElementsAre(Pair("a", Value(int64_t{2})))));
  EXPECT_OK(SetOne(*store_, TestId(1), "a", int64_t{3}, Conditions{.if_version = 2}));
}

TEST_P(StoreContractTest, CommitsOfDifferentKeysFromOneReadBothSucceed) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{0}}, {"b", int64_t{0}}})));
  const Conditions read_at_one{.read_version = 1};
  ASSERT_OK(SetOne(*store_, TestId(1), "a", int64_t{1}, read_at_one));
  ASSERT_OK_AND_ASSIGN(SessionMeta meta, SetOne(*store_, TestId(1), "b", int64_t{2}, read_at_one));
  EXPECT_EQ(meta.version, 3u);
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(ElementsAre(Pair("a", Value(int64_t{1})),
                                                                   Pair("b", Value(int64_t{2})))));
}

TEST_P(StoreContractTest, CommitOfAKeyChangedSinceTheReadIsAbortedNamingIt) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{0}}, {"b", int64_t{0}}})));
  const Conditions read_at_one{.read_version = 1};
  ASSERT_OK(SetOne(*store_, TestId(1), "a", int64_t{1}, read_at_one));
  std::vector<Mutation> batch = Sets({{"a", int64_t{9}}, {"b", int64_t{9}}});
  const absl::StatusOr<SessionMeta> result =
      store_->Apply(TestId(1), std::move(batch), read_at_one);
  ASSERT_THAT(result, StatusIs(absl::StatusCode::kAborted));
  const std::optional<Conflict> conflict = GetConflict(result.status());
  ASSERT_TRUE(conflict.has_value());
  EXPECT_EQ(conflict->current_version, 2u);
  EXPECT_THAT(conflict->keys, ElementsAre("a"));
  EXPECT_THAT(GetAll(*store_, TestId(1)),
              IsOkAndHolds(ElementsAre(Pair("a", Value(int64_t{1})), Pair("b", Value(int64_t{0})))))
      << "a conflicting commit writes nothing";
}

TEST_P(StoreContractTest, ARemovalSinceTheReadConflictsWithASetOfThatKey) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"cart", int64_t{1}}})));
  ASSERT_OK(store_->Apply(TestId(1), {Mutation::Remove("cart")}, {}));
  EXPECT_THAT(SetOne(*store_, TestId(1), "cart", int64_t{2}, Conditions{.read_version = 1}),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_OK(SetOne(*store_, TestId(1), "other", int64_t{2}, Conditions{.read_version = 1}));
}

TEST_P(StoreContractTest, AClearConflictsWithEveryKeyChangedSinceTheRead) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{0}}, {"b", int64_t{0}}})));
  ASSERT_OK(SetOne(*store_, TestId(1), "b", int64_t{1}));
  const absl::StatusOr<SessionMeta> result =
      store_->Apply(TestId(1), {Mutation::Clear()}, Conditions{.read_version = 1});
  ASSERT_THAT(result, StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(GetConflict(result.status())->keys, ElementsAre("b"));
}

// ---- Exact conflict detection, read_version checks and rotation renewal (issue 7 i, j, k) ----

// The written keys a failed Apply's Conflict names; empty if the status carries none.
std::vector<std::string> ConflictingKeys(const absl::StatusOr<SessionMeta>& result) {
  const std::optional<Conflict> conflict = GetConflict(result.status());
  return conflict.has_value() ? conflict->keys : std::vector<std::string>();
}

TEST_P(StoreContractTest, ASetOfANeverWrittenKeyAfterAClearDoesNotConflict) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{0}}})));
  ASSERT_OK(store_->Apply(TestId(1), {Mutation::Clear()}, {}));
  EXPECT_OK(SetOne(*store_, TestId(1), "never", true, Conditions{.read_version = 1}));
  EXPECT_THAT(ConflictingKeys(SetOne(*store_, TestId(1), "a", true, Conditions{.read_version = 1})),
              ElementsAre("a"))
      << "the key the clear removed does conflict";
}

TEST_P(StoreContractTest, RemovalsWithinTheWindowConflictOnlyOnTheRemovedKeys) {
  // The window is the last max_keys removals; 34 single-key removals fit in a 64-key session.
  constexpr SessionLimits kWide{/*max_keys=*/64, /*max_session_bytes=*/1 << 16};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, GetParam().make(&clock_, kWide));
  std::vector<Entry> entries;
  for (int i = 0; i < 40; ++i) entries.push_back({absl::StrCat("k", i), int64_t{i}});
  ASSERT_OK(store->Create(Session(TestId(1), std::move(entries))));
  for (int i = 0; i < 34; ++i) {
    ASSERT_OK(store->Apply(TestId(1), {Mutation::Remove(absl::StrCat("k", i))}, {}));
  }
  const Conditions read_at_one{.read_version = 1};
  EXPECT_THAT(ConflictingKeys(store->Apply(TestId(1), Sets({{"k0", true}}), read_at_one)),
              ElementsAre("k0"));
  EXPECT_OK(store->Apply(TestId(1), Sets({{"k39", true}, {"fresh", true}}), read_at_one));
}

TEST_P(StoreContractTest, AClearAfterAClearConflictsNamingTheClearedKeys) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{0}}, {"b", int64_t{0}}})));
  ASSERT_OK(store_->Apply(TestId(1), {Mutation::Clear()}, {}));
  const absl::StatusOr<SessionMeta> result =
      store_->Apply(TestId(1), {Mutation::Clear()}, Conditions{.read_version = 1});
  ASSERT_THAT(result, StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(ConflictingKeys(result), ElementsAre("a", "b"));
}

TEST_P(StoreContractTest, BeyondTheWindowConflictsAreConservativeButNameKeys) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"early", true}})));
  ASSERT_OK(store_->Apply(TestId(1), {Mutation::Remove("early")}, {}));
  // More than max_keys later removals push the removal of "early" out of the window.
  for (size_t i = 0; i <= kLimits.max_keys; ++i) {
    ASSERT_OK(SetOne(*store_, TestId(1), absl::StrCat("k", i), true));
    ASSERT_OK(store_->Apply(TestId(1), {Mutation::Remove(absl::StrCat("k", i))}, {}));
  }
  const Conditions read_at_one{.read_version = 1};
  EXPECT_THAT(ConflictingKeys(SetOne(*store_, TestId(1), "never", true, read_at_one)),
              ElementsAre("never"))
      << "beyond the window a key without a record may have changed";
  EXPECT_THAT(ConflictingKeys(store_->Apply(TestId(1), {Mutation::Clear()}, read_at_one)),
              Not(IsEmpty()));
}

TEST_P(StoreContractTest, AReadVersionAheadOfTheSessionIsAFailedPrecondition) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{0}}})));
  ASSERT_OK(SetOne(*store_, TestId(1), "a", int64_t{1}));
  EXPECT_THAT(SetOne(*store_, TestId(1), "b", true, Conditions{.read_version = 7}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(ElementsAre(Pair("a", Value(int64_t{1})))));
  EXPECT_OK(SetOne(*store_, TestId(1), "b", true, Conditions{.read_version = 2}));
}

TEST_P(StoreContractTest, RotateRenewsTheIdleTimer) {
  ASSERT_OK_AND_ASSIGN(SessionMeta created, store_->Create(Session(TestId(1))));
  clock_.Advance(absl::Minutes(15));
  ASSERT_OK_AND_ASSIGN(SessionMeta rotated,
                       store_->Rotate(TestId(1), TestId(2), std::nullopt, "", std::nullopt));
  EXPECT_EQ(rotated.idle_expires_at, clock_.Now() + kIdle);
  EXPECT_EQ(rotated.absolute_expires_at, created.absolute_expires_at);
  clock_.Advance(absl::Minutes(10));
  EXPECT_OK(GetAll(*store_, TestId(2))) << "alive past the idle deadline it had before rotation";
}

// ---- End of issue 7 i, j, k ----

// ---- Idempotent retries with a request_id (issue 7 l) ----

Conditions WithRequestId(std::string request_id, Conditions conditions = {}) {
  conditions.request_id = std::move(request_id);
  return conditions;
}

TEST_P(StoreContractTest, ARetriedMutationAppliesOnceAndReturnsTheFirstVersion) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"n", int64_t{0}}})));
  ASSERT_OK_AND_ASSIGN(SessionMeta first, SetOne(*store_, TestId(1), "n", int64_t{1},
                                                 WithRequestId("r1", {.if_version = 1})));
  EXPECT_EQ(first.version, 2u);
  ASSERT_OK(SetOne(*store_, TestId(1), "other", true));
  // The retry's condition no longer holds, and its batch differs: neither matters.
  ASSERT_OK_AND_ASSIGN(SessionMeta retried, SetOne(*store_, TestId(1), "n", int64_t{5},
                                                   WithRequestId("r1", {.if_version = 1})));
  EXPECT_EQ(retried.version, 2u) << "the first attempt's version";
  EXPECT_THAT(GetAll(*store_, TestId(1)),
              IsOkAndHolds(ElementsAre(Pair("n", Value(int64_t{1})), Pair("other", Value(true)))));
  ASSERT_OK_AND_ASSIGN(SessionMeta fresh,
                       SetOne(*store_, TestId(1), "n", int64_t{2}, WithRequestId("r2")));
  EXPECT_EQ(fresh.version, 4u) << "another request_id applies";
}

TEST_P(StoreContractTest, ARequestThatChangedNothingIsRememberedToo) {
  ASSERT_OK(store_->Create(Session(TestId(1))));
  ASSERT_OK(store_->Apply(TestId(1), {Mutation::Remove("a")}, WithRequestId("r1")));
  ASSERT_OK(SetOne(*store_, TestId(1), "a", true));
  ASSERT_OK_AND_ASSIGN(SessionMeta retried,
                       store_->Apply(TestId(1), {Mutation::Remove("a")}, WithRequestId("r1")));
  EXPECT_EQ(retried.version, 1u);
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(ElementsAre(Pair("a", Value(true)))));
}

TEST_P(StoreContractTest, AFailedMutationIsNotRemembered) {
  ASSERT_OK(store_->Create(Session(TestId(1))));
  EXPECT_THAT(SetOne(*store_, TestId(1), "a", true, WithRequestId("r1", {.if_version = 7})),
              StatusIs(absl::StatusCode::kAborted));
  ASSERT_OK_AND_ASSIGN(SessionMeta retried,
                       SetOne(*store_, TestId(1), "a", true, WithRequestId("r1")));
  EXPECT_EQ(retried.version, 2u);
}

TEST_P(StoreContractTest, ARequestIdIsForgottenAfterTheWindow) {
  ASSERT_OK(store_->Create(Session(TestId(1))));
  ASSERT_OK(SetOne(*store_, TestId(1), "a", int64_t{1}, WithRequestId("r1")));
  clock_.Advance(kLimits.idempotency_window - absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(SessionMeta within,
                       SetOne(*store_, TestId(1), "a", int64_t{2}, WithRequestId("r1")));
  EXPECT_EQ(within.version, 2u);
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(SessionMeta after,
                       SetOne(*store_, TestId(1), "a", int64_t{2}, WithRequestId("r1")));
  EXPECT_EQ(after.version, 3u);
}

TEST_P(StoreContractTest, ASessionRemembersAtMostMaxRequestIds) {
  ASSERT_OK(store_->Create(Session(TestId(1))));
  for (size_t i = 0; i <= kLimits.max_request_ids; ++i) {
    ASSERT_OK(SetOne(*store_, TestId(1), "a", int64_t(i), WithRequestId(absl::StrCat("r", i))));
  }
  const uint64_t version = 2 + kLimits.max_request_ids;
  ASSERT_OK_AND_ASSIGN(SessionMeta newest,
                       SetOne(*store_, TestId(1), "a", int64_t{-1},
                              WithRequestId(absl::StrCat("r", kLimits.max_request_ids))));
  EXPECT_EQ(newest.version, version);
  ASSERT_OK_AND_ASSIGN(SessionMeta oldest,
                       SetOne(*store_, TestId(1), "a", int64_t{-1}, WithRequestId("r0")));
  EXPECT_EQ(oldest.version, version + 1) << "the oldest request_id was forgotten";
}

TEST_P(StoreContractTest, ARetriedDeleteReturnsTrueForTheWindow) {
  ASSERT_OK(store_->Create(Session(TestId(1))));
  EXPECT_THAT(store_->Delete(TestId(1), 1, "d1"), IsOkAndHolds(true));
  EXPECT_THAT(store_->Delete(TestId(1), 1, "d1"), IsOkAndHolds(true));
  EXPECT_THAT(store_->Delete(TestId(1), std::nullopt, "d2"), IsOkAndHolds(false));
  EXPECT_THAT(GetAll(*store_, TestId(1)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(SetOne(*store_, TestId(1), "a", true, WithRequestId("d1")),
              StatusIs(absl::StatusCode::kNotFound));
  clock_.Advance(kLimits.idempotency_window);
  EXPECT_THAT(store_->Delete(TestId(1), 1, "d1"), IsOkAndHolds(false));
}

TEST_P(StoreContractTest, ARetriedRotateReturnsTheSessionUnderItsFirstNewId) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", true}})));
  ASSERT_OK_AND_ASSIGN(SessionMeta first,
                       store_->Rotate(TestId(1), TestId(2), 1, "x1", std::nullopt));
  ASSERT_OK_AND_ASSIGN(SessionMeta retried,
                       store_->Rotate(TestId(1), TestId(3), 1, "x1", std::nullopt));
  EXPECT_EQ(retried.id, TestId(2));
  EXPECT_EQ(retried.version, first.version);
  EXPECT_THAT(GetAll(*store_, TestId(3)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(GetAll(*store_, TestId(1)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Rotate(TestId(1), TestId(3), std::nullopt, "x2", std::nullopt),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(GetAll(*store_, TestId(2)), IsOkAndHolds(ElementsAre(Pair("a", Value(true)))));
}

TEST_P(StoreContractTest, ARetriedCreateReturnsTheSessionItCreated) {
  NewSession first = Session(TestId(1), {{"a", true}});
  first.request_id = "c1";
  ASSERT_OK(store_->Create(std::move(first)));
  ASSERT_OK(SetOne(*store_, TestId(1), "b", true));
  NewSession retry = Session(TestId(2), {{"a", false}});
  retry.request_id = "c1";
  ASSERT_OK_AND_ASSIGN(SessionMeta retried, store_->Create(std::move(retry)));
  EXPECT_EQ(retried.id, TestId(1));
  EXPECT_EQ(retried.version, 2u) << "as it is now";
  EXPECT_THAT(GetAll(*store_, TestId(2)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(GetAll(*store_, TestId(1)),
              IsOkAndHolds(ElementsAre(Pair("a", Value(true)), Pair("b", Value(true)))));
}

// ---- End of issue 7 l ----

TEST_P(StoreContractTest, ABatchOverALimitIsRejectedWhole) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", int64_t{1}}})));
  std::vector<Mutation> batch;
  batch.push_back(Mutation::Set("small", int64_t{1}));
  batch.push_back(Mutation::Set("big", std::string(kLimits.max_session_bytes, 'x')));
  EXPECT_THAT(store_->Apply(TestId(1), std::move(batch), {}),
              StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_OK_AND_ASSIGN(SessionMeta meta, store_->Touch(TestId(1)));
  EXPECT_EQ(meta.version, 1u);
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(ElementsAre(Pair("a", Value(int64_t{1})))));
}

TEST_P(StoreContractTest, KeyCountLimitCountsTheResultNotTheRequest) {
  std::vector<Entry> full;
  for (size_t i = 0; i < kLimits.max_keys; ++i) full.push_back({absl::StrCat("k", i), true});
  ASSERT_OK(store_->Create(Session(TestId(1), full)));
  EXPECT_THAT(SetOne(*store_, TestId(1), "one-too-many", true),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_OK(SetOne(*store_, TestId(1), "k0", false)) << "replacing a key adds none";
  std::vector<Mutation> swap;
  swap.push_back(Mutation::Remove("k1"));
  swap.push_back(Mutation::Set("new", true));
  EXPECT_OK(store_->Apply(TestId(1), std::move(swap), {}));
  full.push_back({"extra", true});
  EXPECT_THAT(store_->Create(Session(TestId(2), full)),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_P(StoreContractTest, IdleTimeoutExpiresAnUnusedSession) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", true}})));
  clock_.Advance(kIdle - absl::Milliseconds(1));
  EXPECT_OK(GetAll(*store_, TestId(1), Renewal::kNoRenew));
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_THAT(GetAll(*store_, TestId(1)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(SetOne(*store_, TestId(1), "a", false), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Touch(TestId(1)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Delete(TestId(1), std::nullopt, ""), IsOkAndHolds(false));
}

TEST_P(StoreContractTest, GetRenewsTheIdleTimerUnlessAskedNotTo) {
  ASSERT_OK(store_->Create(Session(TestId(1))));
  clock_.Advance(absl::Minutes(15));
  ASSERT_OK(GetAll(*store_, TestId(1), Renewal::kNoRenew));
  clock_.Advance(absl::Minutes(10));
  EXPECT_THAT(GetAll(*store_, TestId(1)), StatusIs(absl::StatusCode::kNotFound));

  ASSERT_OK(store_->Create(Session(TestId(2))));
  clock_.Advance(absl::Minutes(15));
  ASSERT_OK(GetAll(*store_, TestId(2)));
  clock_.Advance(absl::Minutes(15));
  EXPECT_OK(GetAll(*store_, TestId(2)));
}

TEST_P(StoreContractTest, WritesRenewTheIdleTimer) {
  ASSERT_OK(store_->Create(Session(TestId(1))));
  clock_.Advance(absl::Minutes(15));
  ASSERT_OK_AND_ASSIGN(SessionMeta meta, SetOne(*store_, TestId(1), "a", true));
  EXPECT_EQ(meta.idle_expires_at, clock_.Now() + kIdle);
}

TEST_P(StoreContractTest, TouchRenewsWithoutAChangeButNeverPastTheAbsoluteExpiry) {
  ASSERT_OK_AND_ASSIGN(SessionMeta created, store_->Create(Session(TestId(1))));
  for (absl::Duration elapsed; elapsed < kAbsolute - kIdle; elapsed += absl::Minutes(10)) {
    clock_.Advance(absl::Minutes(10));
    ASSERT_OK_AND_ASSIGN(SessionMeta touched, store_->Touch(TestId(1)));
    EXPECT_EQ(touched.version, 1u);
    EXPECT_EQ(touched.idle_expires_at, std::min(clock_.Now() + kIdle, created.absolute_expires_at));
  }
  clock_.Advance(kIdle - absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(SessionMeta last, store_->Touch(TestId(1)));
  EXPECT_EQ(last.idle_expires_at, created.absolute_expires_at);
  clock_.Advance(absl::Minutes(1));
  EXPECT_THAT(store_->Touch(TestId(1)), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, ASessionMayAskForShorterTimeouts) {
  NewSession request = Session(TestId(1));
  request.idle_timeout = absl::Seconds(30);
  request.absolute_timeout = absl::Minutes(1);
  ASSERT_OK_AND_ASSIGN(SessionMeta meta, store_->Create(std::move(request)));
  EXPECT_EQ(meta.idle_timeout, absl::Seconds(30));
  clock_.Advance(absl::Seconds(29));
  ASSERT_OK(store_->Touch(TestId(1)));
  clock_.Advance(absl::Seconds(29));
  ASSERT_OK_AND_ASSIGN(meta, store_->Touch(TestId(1)));
  EXPECT_EQ(meta.idle_expires_at, meta.absolute_expires_at) << "capped by the 1 min lifetime";
  clock_.Advance(absl::Seconds(2));
  EXPECT_THAT(store_->Touch(TestId(1)), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, DeleteEndsTheSessionAndIsIdempotent) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", true}})));
  EXPECT_THAT(store_->Delete(TestId(1), std::nullopt, ""), IsOkAndHolds(true));
  EXPECT_THAT(GetAll(*store_, TestId(1)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Delete(TestId(1), std::nullopt, ""), IsOkAndHolds(false));
}

TEST_P(StoreContractTest, DeleteWithAStaleIfVersionKeepsTheSession) {
  ASSERT_OK(store_->Create(Session(TestId(1))));
  ASSERT_OK(SetOne(*store_, TestId(1), "a", true));
  EXPECT_THAT(store_->Delete(TestId(1), 1, ""), StatusIs(absl::StatusCode::kAborted));
  EXPECT_OK(store_->Touch(TestId(1)));
  EXPECT_THAT(store_->Delete(TestId(1), 2, ""), IsOkAndHolds(true));
}

TEST_P(StoreContractTest, RotateMovesTheDataAndKillsTheOldIdAtOnce) {
  ASSERT_OK_AND_ASSIGN(SessionMeta created,
                       store_->Create(Session(TestId(1), {{"cart", std::string("3 items")}})));
  ASSERT_OK_AND_ASSIGN(SessionMeta rotated,
                       store_->Rotate(TestId(1), TestId(2), std::nullopt, "", std::nullopt));
  EXPECT_EQ(rotated.id, TestId(2));
  EXPECT_EQ(rotated.version, 2u);
  EXPECT_EQ(rotated.principal, created.principal);
  EXPECT_EQ(rotated.created_at, created.created_at);
  EXPECT_EQ(rotated.absolute_expires_at, created.absolute_expires_at);
  EXPECT_THAT(GetAll(*store_, TestId(1)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(GetAll(*store_, TestId(2)),
              IsOkAndHolds(ElementsAre(Pair("cart", Value(std::string("3 items"))))));
}

TEST_P(StoreContractTest, RotateRefusesATakenIdAndAStaleVersion) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"a", true}})));
  ASSERT_OK(store_->Create(Session(TestId(2), {{"b", true}})));
  EXPECT_THAT(store_->Rotate(TestId(1), TestId(2), std::nullopt, "", std::nullopt),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store_->Rotate(TestId(1), TestId(3), 7, "", std::nullopt),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(GetAll(*store_, TestId(1)), IsOkAndHolds(ElementsAre(Pair("a", Value(true)))));
  EXPECT_THAT(GetAll(*store_, TestId(2)), IsOkAndHolds(ElementsAre(Pair("b", Value(true)))));
}

TEST_P(StoreContractTest, SweepReclaimsOnlyExpiredSessions) {
  ASSERT_OK(store_->Create(Session(TestId(1))));
  NewSession short_lived = Session(TestId(2));
  short_lived.idle_timeout = absl::Seconds(5);
  ASSERT_OK(store_->Create(std::move(short_lived)));
  clock_.Advance(absl::Seconds(10));
  EXPECT_THAT(store_->SweepExpired(), IsOkAndHolds(1u));
  EXPECT_THAT(store_->SweepExpired(), IsOkAndHolds(0u)) << "each expired session is reclaimed once";
  EXPECT_OK(GetAll(*store_, TestId(1)));
  EXPECT_THAT(GetAll(*store_, TestId(2)), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, ConcurrentCommitsOfDifferentKeysLoseNoUpdate) {
  ASSERT_OK(store_->Create(Session(TestId(1))));
  constexpr int kThreads = 8;
  constexpr int kRounds = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each round is a web request: read the session, then commit one key against that read.
      for (int round = 1; round <= kRounds; ++round) {
        absl::StatusOr<SessionMeta> read = store_->Touch(TestId(1));
        ASSERT_OK(read);
        EXPECT_OK(SetOne(*store_, TestId(1), absl::StrCat("k", t), int64_t{round},
                         Conditions{.read_version = read->version}));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_OK_AND_ASSIGN(Entries entries, GetAll(*store_, TestId(1)));
  ASSERT_EQ(entries.size(), size_t{kThreads});
  for (const auto& [key, value] : entries) EXPECT_EQ(value, Value(int64_t{kRounds})) << key;
  ASSERT_OK_AND_ASSIGN(SessionMeta meta, store_->Touch(TestId(1)));
  EXPECT_EQ(meta.version, 1u + kThreads * kRounds);
}

TEST_P(StoreContractTest, ConcurrentCommitsOfOneKeyReportConflictsInsteadOfOverwriting) {
  ASSERT_OK(store_->Create(Session(TestId(1), {{"n", int64_t{0}}})));
  // Each thread reads, then commits n+1 against what it read; a conflict means retry.
  constexpr int kThreads = 8;
  constexpr int kIncrements = 25;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int done = 0; done < kIncrements;) {
        int64_t n = 0;
        absl::StatusOr<SessionMeta> read =
            store_->Get(TestId(1), {}, Renewal::kRenew,
                        [&](absl::string_view, ValueView value) { n = value.int64(); });
        ASSERT_OK(read);
        absl::StatusOr<SessionMeta> write =
            SetOne(*store_, TestId(1), "n", n + 1, Conditions{.read_version = read->version});
        if (write.ok()) {
          ++done;
        } else {
          ASSERT_THAT(write, StatusIs(absl::StatusCode::kAborted));
          ++conflicts;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(GetAll(*store_, TestId(1)),
              IsOkAndHolds(ElementsAre(Pair("n", Value(int64_t{kThreads * kIncrements})))));
  RecordProperty("conflicts", conflicts.load());
}

TEST_P(StoreContractTest, RenewalsShorterThanASecondKeepTheSessionAlive) {
  ASSERT_OK(store_->Create(
      NewSession{TestId(1), "user-1", absl::Seconds(1), kAbsolute, {{"a", int64_t{1}}}}));
  // 5 s of a client touching its session every 300 ms: each renewal moves the deadline by 300 ms.
  for (int i = 0; i < 17; ++i) {
    clock_.Advance(absl::Milliseconds(300));
    SCOPED_TRACE(absl::StrCat("touch ", i));
    ASSERT_OK_AND_ASSIGN(SessionMeta touched, store_->Touch(TestId(1)));
    EXPECT_EQ(touched.idle_expires_at, clock_.Now() + absl::Seconds(1));
  }
  clock_.Advance(absl::Milliseconds(900));
  EXPECT_THAT(GetAll(*store_, TestId(1), Renewal::kNoRenew),
              IsOkAndHolds(ElementsAre(Pair("a", Value(int64_t{1})))));
  EXPECT_THAT(store_->SweepExpired(), IsOkAndHolds(0u));
  clock_.Advance(absl::Milliseconds(100));
  EXPECT_THAT(store_->Touch(TestId(1)), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace sessiond::storage
