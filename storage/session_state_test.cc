#include "storage/session_state.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/conflict.h"
#include "tests/support/status_matchers.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::IsOk;
using ::sessiond::testing::StatusIs;

constexpr SessionLimits kLimits{/*max_keys=*/100, /*max_session_bytes=*/10'000};

absl::Status Write(SessionState& state, std::vector<Mutation> batch, Conditions conditions = {}) {
  absl::StatusOr<SessionState::Plan> plan = state.Check(batch, conditions, kLimits);
  if (!plan.ok()) return plan.status();
  state.Commit(std::move(batch), *plan, kLimits);
  return absl::OkStatus();
}

TEST(SessionStateTest, LaterDuplicateKeysWinAtCreation) {
  absl::StatusOr<SessionState> state =
      SessionState::Create({{"a", int64_t{1}}, {"a", int64_t{2}}}, kLimits);
  ASSERT_OK(state);
  EXPECT_EQ(state->key_count(), 1u);
  EXPECT_EQ(state->data_bytes(), 1u + 8u);
  Value seen;
  state->Visit({}, [&](absl::string_view, ValueView value) { seen = value.ToValue(); });
  EXPECT_EQ(seen, Value(int64_t{2}));
}

TEST(SessionStateTest, DataBytesFollowEveryChange) {
  absl::StatusOr<SessionState> state = SessionState::Create({}, kLimits);
  ASSERT_OK(state);
  ASSERT_OK(Write(*state, {Mutation::Set("ab", std::string("xyz"))}));
  EXPECT_EQ(state->data_bytes(), 5u);
  ASSERT_OK(Write(*state, {Mutation::Set("ab", true)}));
  EXPECT_EQ(state->data_bytes(), 3u);
  ASSERT_OK(Write(*state, {Mutation::Remove("ab")}));
  EXPECT_EQ(state->data_bytes(), 0u);
}

TEST(SessionStateTest, VisitNamesEachExistingKeyOnceWhateverTheOrderAndRepeats) {
  absl::StatusOr<SessionState> state =
      SessionState::Create({{"a", int64_t{1}}, {"b", int64_t{2}}, {"c", int64_t{3}}}, kLimits);
  ASSERT_OK(state);
  std::vector<absl::string_view> keys = {"c", "zz", "a", "c", "a"};
  keys.insert(keys.end(), 100'000, "zz");
  std::vector<std::string> seen;
  state->Visit(keys, [&](absl::string_view key, ValueView) { seen.emplace_back(key); });
  EXPECT_THAT(seen, ::testing::ElementsAre("a", "c"));
}

TEST(SessionStateTest, RepeatedKeysInABatchCountOnce) {
  absl::StatusOr<SessionState> state = SessionState::Create({{"a", std::string("xy")}}, kLimits);
  ASSERT_OK(state);
  std::vector<Mutation> batch;
  for (int i = 0; i < 1000; ++i) {
    batch.push_back(Mutation::Remove("a"));
    batch.push_back(Mutation::Set("b", std::string("xyz")));
    batch.push_back(Mutation::Set("a", std::string("x")));
  }
  ASSERT_OK(Write(*state, std::move(batch), {.read_version = 1}));
  EXPECT_EQ(state->key_count(), 2u);
  EXPECT_EQ(state->data_bytes(), 2u + 4u);
  EXPECT_EQ(state->version(), 2u);
}

TEST(SessionStateTest, ForgottenRemovalsStillConflictConservatively) {
  absl::StatusOr<SessionState> state = SessionState::Create({{"early", true}}, kLimits);
  ASSERT_OK(state);
  const uint64_t read = state->version();
  ASSERT_OK(Write(*state, {Mutation::Remove("early")}));
  // More removals than tombstones are kept (max_keys) push "early" out of the record.
  for (size_t i = 0; i < kLimits.max_keys + 1; ++i) {
    ASSERT_OK(Write(*state, {Mutation::Set(absl::StrCat("k", i), true)}));
    ASSERT_OK(Write(*state, {Mutation::Remove(absl::StrCat("k", i))}));
  }
  EXPECT_THAT(Write(*state, {Mutation::Set("early", true)}, {.read_version = read}),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_OK(Write(*state, {Mutation::Set("early", true)}, {.read_version = state->version()}));
}

}  // namespace
}  // namespace sessiond::storage
