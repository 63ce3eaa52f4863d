#include "storage/session_codec.h"

#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;

TEST(SessionCodecTest, ASessionRoundTripsWithEveryValueTypeAndItsHistory) {
  absl::StatusOr<SessionState> state = SessionState::Create({{"b", Bytes{std::string("\0\1", 2)}},
                                                             {"d", 0.5},
                                                             {"i", int64_t{-3}},
                                                             {"j", Json{"[1,{\"a\":null}]"}},
                                                             {"s", std::string("x")},
                                                             {"t", true},
                                                             {"gone", true}},
                                                            SessionLimits{});
  ASSERT_OK(state);
  std::vector<Mutation> remove;
  remove.push_back(Mutation::Remove("gone"));
  absl::StatusOr<SessionState::Plan> plan = state->Check(remove, {}, SessionLimits{});
  ASSERT_OK(plan);
  state->Commit(std::move(remove), *plan, SessionLimits{});
  const absl::Time t = absl::FromUnixMillis(1'800'000'000'123);
  StoredSession session{SessionMeta{"id", "alice", state->version(), t, t + absl::Minutes(20),
                                    t + absl::Hours(12), absl::Minutes(20)},
                        *std::move(state)};

  ASSERT_OK_AND_ASSIGN(StoredSession decoded, DecodeSession("id", EncodeSession(session)));
  EXPECT_EQ(decoded.meta.id, "id");
  EXPECT_EQ(decoded.meta.principal, "alice");
  EXPECT_EQ(decoded.meta.version, 2u);
  EXPECT_EQ(decoded.meta.created_at, t);
  EXPECT_EQ(decoded.meta.idle_expires_at, t + absl::Minutes(20));
  EXPECT_EQ(decoded.meta.absolute_expires_at, t + absl::Hours(12));
  EXPECT_EQ(decoded.meta.idle_timeout, absl::Minutes(20));
  EXPECT_EQ(decoded.state.packed_entries(), session.state.packed_entries());
  std::vector<std::pair<std::string, Value>> entries;
  decoded.state.Visit({}, [&](absl::string_view key, ValueView value) {
    entries.emplace_back(std::string(key), value.ToValue());
  });
  EXPECT_THAT(entries,
              ::testing::ElementsAre(::testing::Pair("b", Value(Bytes{std::string("\0\1", 2)})),
                                     ::testing::Pair("d", Value(0.5)),
                                     ::testing::Pair("i", Value(int64_t{-3})),
                                     ::testing::Pair("j", Value(Json{"[1,{\"a\":null}]"})),
                                     ::testing::Pair("s", Value(std::string("x"))),
                                     ::testing::Pair("t", Value(true))));
  ASSERT_EQ(decoded.state.tombstones().size(), 1u);
  EXPECT_EQ(decoded.state.tombstones()[0].key, "gone");
  EXPECT_EQ(decoded.state.data_bytes(), session.state.data_bytes());
}

TEST(SessionCodecTest, RequestIdsAndStubsRoundTrip) {
  const absl::Time t = absl::FromUnixMillis(1'800'000'000'123);
  StoredSession stub{SessionMeta{"old-id", "", 3, t, t, t, absl::Minutes(10)},
                     SessionState::Stub(3, "retry-me", t, SessionLimits{})};
  stub.stub = true;
  stub.successor = "new-id";
  ASSERT_OK_AND_ASSIGN(StoredSession decoded, DecodeSession("old-id", EncodeSession(stub)));
  EXPECT_TRUE(decoded.stub);
  EXPECT_EQ(decoded.successor, "new-id");
  EXPECT_EQ(decoded.state.FindRequest("retry-me", t), std::optional<uint64_t>(3));
  EXPECT_EQ(decoded.state.FindRequest("retry-me", t + SessionLimits{}.idempotency_window),
            std::nullopt);
}

TEST(SessionCodecTest, LabelsLastAccessAndGoneReasonsRoundTrip) {
  const absl::Time t = absl::FromUnixMillis(1'800'000'000'123);
  StoredSession session{
      SessionMeta{"id", "alice", 2, t, t + absl::Minutes(20), t + absl::Hours(12),
                  absl::Minutes(20), t, Labels{{"device", "phone"}, {"ip", "::1"}}},
      SessionState::Stub(2, "", t, SessionLimits{})};
  session.gone = {GoneReason::kRevoked, t};
  ASSERT_OK_AND_ASSIGN(StoredSession decoded, DecodeSession("id", EncodeSession(session)));
  EXPECT_EQ(decoded.meta.labels, session.meta.labels);
  EXPECT_EQ(decoded.meta.last_access_at, t);
  EXPECT_EQ(decoded.gone.reason, GoneReason::kRevoked);
  EXPECT_EQ(decoded.gone.ended_at, t);
}

TEST(SessionCodecTest, ARecordFromBeforeLastAccessWasKeptInfersIt) {
  const absl::Time t = absl::FromUnixMillis(1'800'000'000'123);
  StoredSession session{SessionMeta{"id", "", 1, t, t + absl::Minutes(25), t + absl::Hours(12),
                                    absl::Minutes(20), absl::UnixEpoch()},
                        SessionState::Stub(1, "", t, SessionLimits{})};
  // A last access of 0 ms is what a record written before the field existed decodes with.
  ASSERT_OK_AND_ASSIGN(StoredSession decoded, DecodeSession("id", EncodeSession(session)));
  EXPECT_EQ(decoded.meta.last_access_at, t + absl::Minutes(5)) << "the renewal that set the expiry";
  EXPECT_TRUE(decoded.meta.labels.empty());
  EXPECT_EQ(decoded.gone.reason, GoneReason::kUnknown);
}

TEST(SessionCodecTest, EventsRoundTrip) {
  SessionEvent event;
  event.kind = SessionEvent::Kind::kUpdated;
  event.id = "id";
  event.principal = "alice";
  event.version = 7;
  event.changed_keys = {"a", "b"};
  event.cleared = true;
  event.at = absl::FromUnixMillis(1'800'000'000'123);
  EXPECT_THAT(DecodeEvent(42, EncodeEvent(event)),
              IsOkAndHolds(::testing::AllOf(::testing::Field(&SessionEvent::sequence, 42u),
                                            ::testing::Field(&SessionEvent::changed_keys,
                                                             ::testing::ElementsAre("a", "b")))));
  event.sequence = 42;
  EXPECT_EQ(*DecodeEvent(42, EncodeEvent(event)), event);
  EXPECT_THAT(DecodeEvent(1, "\xff\xff"), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(SessionCodecTest, GarbageIsDataLoss) {
  EXPECT_THAT(DecodeSession("id", "\xff\xff\xff"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(SessionState::Restore(1, "\x09garbage", {}, 0, {}),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(SessionCodecTest, TimesAreKeptToTheMillisecond) {
  EXPECT_EQ(TruncateToMillis(absl::FromUnixNanos(1'500'999'999)), absl::FromUnixMillis(1'500));
}

}  // namespace
}  // namespace sessiond::storage
