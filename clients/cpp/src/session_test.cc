// Session's local behaviour: typed reads, change recording and the Commit request it builds. The
// Client points at a port where nothing listens, so a test also proves when no rpc is made (an rpc
// would fail with UNAVAILABLE). Commit against a real server is covered by tests/e2e/.
#include "sessiond/session.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace sessiond {
namespace {

using ::sessiond::testing::IsOk;
using ::sessiond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;

constexpr char kId[] = "S3ss10n1dS3ss10n1dS3ss10n1dS3ss1";
constexpr int64_t kTooBigForInt32 = int64_t{1} << 40;

class SessionTest : public ::testing::Test {
 protected:
  // A session loaded at version 4 with one entry of each type.
  Session Loaded() const {
    v1::GetResponse loaded;
    loaded.mutable_session()->set_id(kId);
    loaded.mutable_session()->set_version(4);
    auto& entries = *loaded.mutable_entries();
    entries["name"].set_string_value("ada");
    entries["avatar"].set_bytes_value(std::string("\x00\xff", 2));
    entries["visits"].set_int64_value(3);
    entries["big"].set_int64_value(kTooBigForInt32);
    entries["ratio"].set_double_value(0.5);
    entries["admin"].set_bool_value(true);
    return Session(client_, std::move(loaded));
  }

  const Client client_{grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()),
                       {.timeout = absl::Seconds(10)}};
};

TEST_F(SessionTest, ReadsLoadedValuesByType) {
  Session session = Loaded();

  EXPECT_EQ(session.Id(), kId);
  EXPECT_EQ(session.Info().version(), 4u);
  EXPECT_TRUE(session.IsAvailable());
  EXPECT_THAT(session.Keys(), ElementsAre("admin", "avatar", "big", "name", "ratio", "visits"));
  EXPECT_THAT(session.GetString("name"), Optional(std::string("ada")));
  EXPECT_THAT(session.GetBytes("avatar"), Optional(std::string("\x00\xff", 2)));
  EXPECT_THAT(session.GetInt32("visits"), Optional(3));
  EXPECT_THAT(session.GetInt64("big"), Optional(kTooBigForInt32));
  EXPECT_THAT(session.GetDouble("ratio"), Optional(0.5));
  EXPECT_THAT(session.GetBool("admin"), Optional(true));
  EXPECT_FALSE(session.HasPendingChanges());
}

TEST_F(SessionTest, WrongTypeOrAbsentKeyIsNullopt) {
  Session session = Loaded();

  EXPECT_EQ(session.GetString("missing"), std::nullopt);
  EXPECT_EQ(session.GetString("avatar"), std::nullopt);
  EXPECT_EQ(session.GetBytes("name"), std::nullopt);
  EXPECT_EQ(session.GetInt64("name"), std::nullopt);
  EXPECT_EQ(session.GetDouble("visits"), std::nullopt);
  EXPECT_EQ(session.GetInt64("ratio"), std::nullopt);
  EXPECT_EQ(session.GetBool("visits"), std::nullopt);
}

TEST_F(SessionTest, GetInt32IsRangeChecked) {
  Session session = Loaded();
  session.SetInt64("max", std::numeric_limits<int32_t>::max());
  session.SetInt64("min", std::numeric_limits<int32_t>::min());
  session.SetInt64("above", int64_t{std::numeric_limits<int32_t>::max()} + 1);
  session.SetInt64("below", int64_t{std::numeric_limits<int32_t>::min()} - 1);

  EXPECT_THAT(session.GetInt32("max"), Optional(std::numeric_limits<int32_t>::max()));
  EXPECT_THAT(session.GetInt32("min"), Optional(std::numeric_limits<int32_t>::min()));
  EXPECT_EQ(session.GetInt32("above"), std::nullopt);
  EXPECT_EQ(session.GetInt32("below"), std::nullopt);
  EXPECT_EQ(session.GetInt32("big"), std::nullopt);
}

TEST_F(SessionTest, ReadsSeeChangesAtOnce) {
  Session session = Loaded();

  session.SetInt32("visits", 4);
  session.SetString("theme", "dark");
  session.SetBool("name", false);
  session.SetDouble("ratio", 0.25);
  session.SetBytes("avatar", "png");

  EXPECT_TRUE(session.HasPendingChanges());
  EXPECT_THAT(session.GetInt32("visits"), Optional(4));
  EXPECT_THAT(session.GetString("theme"), Optional(std::string("dark")));
  EXPECT_EQ(session.GetString("name"), std::nullopt);
  EXPECT_THAT(session.GetBool("name"), Optional(false));
  EXPECT_THAT(session.GetDouble("ratio"), Optional(0.25));
  EXPECT_THAT(session.GetBytes("avatar"), Optional(std::string("png")));
  EXPECT_THAT(session.Keys(),
              ElementsAre("admin", "avatar", "big", "name", "ratio", "theme", "visits"));
}

TEST_F(SessionTest, RemoveHidesAKeyUntilSetAgain) {
  Session session = Loaded();

  session.Remove("name");
  session.Remove("never-there");
  EXPECT_EQ(session.GetString("name"), std::nullopt);
  EXPECT_THAT(session.Keys(), ElementsAre("admin", "avatar", "big", "ratio", "visits"));

  session.SetString("name", "grace");
  EXPECT_THAT(session.GetString("name"), Optional(std::string("grace")));
}

TEST_F(SessionTest, ClearHidesLoadedEntriesButNotLaterSets) {
  Session session = Loaded();

  session.Clear();
  EXPECT_TRUE(session.HasPendingChanges());
  EXPECT_THAT(session.Keys(), IsEmpty());
  EXPECT_EQ(session.GetString("name"), std::nullopt);

  session.SetInt64("visits", 1);
  EXPECT_THAT(session.Keys(), ElementsAre("visits"));
  EXPECT_THAT(session.GetInt64("visits"), Optional(1));
}

TEST_F(SessionTest, PendingCommitSendsTheLastChangeOfEachKeyInKeyOrder) {
  Session session = Loaded();
  session.SetInt32("visits", 4);
  session.Remove("name");
  session.SetString("temp", "x");
  session.Remove("temp");
  session.SetString("visits", "many");

  const v1::CommitRequest request = session.PendingCommit();

  EXPECT_EQ(request.id(), kId);
  ASSERT_TRUE(request.has_read_version());
  EXPECT_EQ(request.read_version(), 4u);
  EXPECT_FALSE(request.has_if_version());
  ASSERT_EQ(request.ops_size(), 3);
  EXPECT_EQ(request.ops(0).remove().key(), "name");
  EXPECT_EQ(request.ops(1).remove().key(), "temp");
  EXPECT_EQ(request.ops(2).set().key(), "visits");
  EXPECT_EQ(request.ops(2).set().value().string_value(), "many");
}

TEST_F(SessionTest, PendingCommitAfterClearClearsFirstAndDropsRemovals) {
  Session session = Loaded();
  session.SetString("before", "dropped by the clear");
  session.Clear();
  session.SetString("cart", "[]");
  session.SetBool("gone", true);
  session.Remove("gone");
  session.Remove("name");

  const v1::CommitRequest request = session.PendingCommit();

  ASSERT_EQ(request.ops_size(), 2);
  EXPECT_TRUE(request.ops(0).has_clear());
  EXPECT_EQ(request.ops(1).set().key(), "cart");
  EXPECT_EQ(request.ops(1).set().value().string_value(), "[]");
}

TEST_F(SessionTest, CommitWithNothingPendingCallsNoServer) {
  Session session = Loaded();

  EXPECT_THAT(session.Commit(), IsOk());
  EXPECT_EQ(session.Info().version(), 4u);
}

TEST_F(SessionTest, FailedCommitKeepsChangesPending) {
  Session session = Loaded();
  session.SetString("name", "grace");

  EXPECT_THAT(session.Commit(), StatusIs(absl::StatusCode::kUnavailable));

  EXPECT_TRUE(session.HasPendingChanges());
  EXPECT_THAT(session.ConflictingKeys(), IsEmpty());
  EXPECT_THAT(session.GetString("name"), Optional(std::string("grace")));
  EXPECT_EQ(session.PendingCommit().ops_size(), 1);
  EXPECT_EQ(session.Info().version(), 4u);
}

TEST_F(SessionTest, ACommitKeepsItsRequestIdUntilItsChangesChange) {
  Session session = Loaded();
  session.SetString("name", "grace");
  EXPECT_THAT(session.PendingCommit().request_id(), IsEmpty()) << "drawn by the first attempt";

  // Each Commit below retries on its own; every attempt and every later Commit of the same
  // changes carries one request_id, so the server applies them at most once.
  ASSERT_THAT(session.Commit(), StatusIs(absl::StatusCode::kUnavailable));
  const std::string first = session.PendingCommit().request_id();
  EXPECT_THAT(first, Not(IsEmpty()));
  EXPECT_LE(first.size(), 64u);
  ASSERT_THAT(session.Commit(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(session.PendingCommit().request_id(), first);

  session.SetInt64("visits", 4);
  EXPECT_THAT(session.PendingCommit().request_id(), IsEmpty()) << "new changes, new request";
  ASSERT_THAT(session.Commit(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_NE(session.PendingCommit().request_id(), first);
}

TEST_F(SessionTest, SettersOfAnUnloadedSessionCallNoServerAndCommitBlind) {
  Session session(client_, kId);

  session.SetString("flash", "saved");

  EXPECT_EQ(session.Id(), kId);
  const v1::CommitRequest request = session.PendingCommit();
  EXPECT_FALSE(request.has_read_version());
  ASSERT_EQ(request.ops_size(), 1);
  EXPECT_EQ(request.ops(0).set().key(), "flash");
}

TEST_F(SessionTest, ReadsOfASessionThatCannotLoadSeeNothing) {
  Session session(client_, kId);
  session.SetString("flash", "saved");

  EXPECT_FALSE(session.IsAvailable());
  EXPECT_THAT(session.Load(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(session.GetString("flash"), std::nullopt);
  EXPECT_THAT(session.Keys(), IsEmpty());
  EXPECT_THAT(session.Commit(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(session.HasPendingChanges());
}

TEST_F(SessionTest, ReloadDiscardsPendingChanges) {
  Session session = Loaded();
  session.SetString("name", "grace");

  EXPECT_THAT(session.Reload(), StatusIs(absl::StatusCode::kUnavailable));

  EXPECT_FALSE(session.HasPendingChanges());
  EXPECT_FALSE(session.IsAvailable());
  EXPECT_FALSE(session.PendingCommit().has_read_version());
}

TEST_F(SessionTest, CreateReportsTheServerError) {
  EXPECT_THAT(Session::Create(client_), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace sessiond
