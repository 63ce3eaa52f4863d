// Every rpc, the Session class and real-time expiry, against the real sessiond binary.
#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "sessiond/session.h"
#include "sessiond/status.h"
#include "tests/support/server_test.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/values.h"

namespace sessiond {
namespace {

using ::sessiond::testing::Int;
using ::sessiond::testing::IsOk;
using ::sessiond::testing::SessiondProcess;
using ::sessiond::testing::StatusIs;
using ::sessiond::testing::Text;
using ::testing::ElementsAre;
using ::testing::Optional;
using ::testing::UnorderedElementsAre;

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

class RpcE2eTest : public testing::ServerTest {
 protected:
  void SetUp() override { StartServer(); }
};

TEST_F(RpcE2eTest, EveryRpcDoesWhatTheApiSays) {
  const absl::Time before = absl::Now();
  v1::CreateSessionRequest create;
  (*create.mutable_entries())["user"] = Text("alice");
  create.set_principal("alice");
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse created, client_->CreateSession(create));
  const v1::SessionInfo& info = created.session();
  const std::string id = info.id();
  EXPECT_EQ(info.version(), 1u);
  EXPECT_EQ(info.principal(), "alice");
  EXPECT_GE(FromProto(info.created_at()), before - absl::Seconds(1));
  EXPECT_EQ(FromProto(info.idle_expires_at()) - FromProto(info.created_at()), absl::Minutes(20));
  EXPECT_EQ(FromProto(info.absolute_expires_at()) - FromProto(info.created_at()), absl::Hours(12));

  v1::SetRequest set;
  set.set_id(id);
  (*set.mutable_entries())["cart"] = Int(3);
  (*set.mutable_entries())["theme"] = Text("dark");
  ASSERT_OK_AND_ASSIGN(v1::SetResponse after_set, client_->Set(set));
  EXPECT_EQ(after_set.session().version(), 2u);

  v1::GetRequest get;
  get.set_id(id);
  get.add_keys("cart");
  get.add_keys("missing");
  ASSERT_OK_AND_ASSIGN(v1::GetResponse got, client_->Get(get));
  EXPECT_EQ(got.session().version(), 2u);
  ASSERT_EQ(got.entries().size(), 1u);
  EXPECT_EQ(got.entries().at("cart").int64_value(), 3);

  v1::RemoveRequest remove;
  remove.set_id(id);
  remove.add_keys("theme");
  ASSERT_OK_AND_ASSIGN(v1::RemoveResponse removed, client_->Remove(remove));
  EXPECT_EQ(removed.session().version(), 3u);

  v1::CommitRequest commit;
  commit.set_id(id);
  commit.set_read_version(3);
  auto* op = commit.add_ops()->mutable_set();
  op->set_key("cart");
  *op->mutable_value() = Int(4);
  commit.add_ops()->mutable_remove()->set_key("user");
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse committed, client_->Commit(commit));
  EXPECT_EQ(committed.session().version(), 4u);

  v1::TouchRequest touch;
  touch.set_id(id);
  ASSERT_OK_AND_ASSIGN(v1::TouchResponse touched, client_->Touch(touch));
  EXPECT_EQ(touched.session().version(), 4u);
  EXPECT_GE(FromProto(touched.session().idle_expires_at()),
            FromProto(committed.session().idle_expires_at()));

  v1::RotateIdRequest rotate;
  rotate.set_id(id);
  ASSERT_OK_AND_ASSIGN(v1::RotateIdResponse rotated, client_->RotateId(rotate));
  const std::string new_id = rotated.session().id();
  EXPECT_NE(new_id, id);
  EXPECT_EQ(rotated.session().version(), 5u);
  EXPECT_THAT(client_->Get(get), StatusIs(absl::StatusCode::kNotFound)) << "old id dead at once";
  get.set_id(new_id);
  get.clear_keys();
  ASSERT_OK_AND_ASSIGN(got, client_->Get(get));
  EXPECT_THAT(got.entries(), UnorderedElementsAre(::testing::Key("cart")));

  v1::ClearRequest clear;
  clear.set_id(new_id);
  ASSERT_OK_AND_ASSIGN(v1::ClearResponse cleared, client_->Clear(clear));
  EXPECT_EQ(cleared.session().version(), 6u);

  v1::DeleteRequest del;
  del.set_id(new_id);
  ASSERT_OK_AND_ASSIGN(v1::DeleteResponse deleted, client_->Delete(del));
  EXPECT_TRUE(deleted.deleted());
  ASSERT_OK_AND_ASSIGN(deleted, client_->Delete(del));
  EXPECT_FALSE(deleted.deleted()) << "Delete is idempotent";
  EXPECT_THAT(client_->Get(get), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RpcE2eTest, TheSessionClassRecordsLocallyAndCommitsOnce) {
  ASSERT_OK_AND_ASSIGN(Session writer, Session::Create(*client_));
  writer.SetString("name", "Zoë");
  writer.SetInt32("visits", 1);
  writer.SetInt64("big", int64_t{1} << 40);
  writer.SetDouble("ratio", 0.25);
  writer.SetBool("admin", false);
  writer.SetBytes("blob", std::string("\0\x01", 2));
  writer.SetJson("cart", R"([{"sku":"A-1","qty":2}])");
  writer.SetString("looks-like-json", "[1]");
  EXPECT_THAT(writer.GetInt32("visits"), Optional(1)) << "reads see local changes";
  ASSERT_OK(writer.Commit());
  EXPECT_EQ(writer.Info().version(), 2u) << "one Commit rpc for all eight changes";

  Session reader(*client_, writer.Id());
  EXPECT_THAT(reader.Keys(), UnorderedElementsAre("name", "visits", "big", "ratio", "admin", "blob",
                                                  "cart", "looks-like-json"));
  EXPECT_THAT(reader.GetString("name"), Optional(std::string("Zoë")));
  EXPECT_THAT(reader.GetInt32("visits"), Optional(1));
  EXPECT_THAT(reader.GetInt64("big"), Optional(int64_t{1} << 40));
  EXPECT_THAT(reader.GetDouble("ratio"), Optional(0.25));
  EXPECT_THAT(reader.GetBool("admin"), Optional(false));
  EXPECT_THAT(reader.GetBytes("blob"), Optional(std::string("\0\x01", 2)));
  EXPECT_THAT(reader.GetJson("cart"), Optional(std::string(R"([{"sku":"A-1","qty":2}])")));
  EXPECT_EQ(reader.GetInt32("name"), std::nullopt) << "no conversion between types";
  EXPECT_EQ(reader.GetJson("looks-like-json"), std::nullopt) << "a string is not a document";
  EXPECT_EQ(reader.GetString("cart"), std::nullopt) << "a document is not a string";

  reader.Remove("blob");
  reader.SetInt32("visits", 2);
  ASSERT_OK(reader.Commit());
  ASSERT_OK(writer.Reload());
  EXPECT_EQ(writer.GetBytes("blob"), std::nullopt);
  EXPECT_THAT(writer.GetInt32("visits"), Optional(2));
}

TEST_F(RpcE2eTest, ACallerMayProposeAFreshIdButNeverOneThatIsTakenOrMalformed) {
  const std::string proposed = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAproposedIdOfTheWebTier1";
  v1::CreateSessionRequest create;
  create.set_id(proposed.substr(proposed.size() - 32));
  (*create.mutable_entries())["user"] = Text("alice");
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse created, client_->CreateSession(create));
  EXPECT_EQ(created.session().id(), create.id());
  Session session(*client_, create.id());
  EXPECT_THAT(session.GetString("user"), Optional(std::string("alice")));

  create.clear_entries();
  EXPECT_THAT(client_->CreateSession(create), StatusIs(absl::StatusCode::kAlreadyExists))
      << "a live session's id is never handed to a second creator";
  EXPECT_THAT(session.Reload(), IsOk());
  EXPECT_THAT(session.GetString("user"), Optional(std::string("alice"))) << "and it is untouched";

  create.set_id("too-short");
  absl::StatusOr<v1::CreateSessionResponse> malformed = client_->CreateSession(create);
  EXPECT_THAT(malformed, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(malformed.status().message()), ::testing::StartsWith("id: "));
}

TEST_F(RpcE2eTest, AnUnknownSessionIsNotAvailable) {
  Session session(*client_, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_FALSE(session.IsAvailable());
  EXPECT_THAT(session.Load(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RpcE2eTest, SessionsExpireInRealTimeAndTouchNeverPassesTheAbsoluteLimit) {
  StartServer({"--idle_timeout=1s", "--max_idle_timeout=2s", "--absolute_timeout=3s",
               "--max_absolute_timeout=3s", "--sweep_interval=100ms"});
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse idle, client_->CreateSession({}));
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse kept, client_->CreateSession({}));
  v1::TouchRequest touch;
  touch.set_id(kept.session().id());
  // Keep one alive with touches every 400 ms; the other is left idle.
  const absl::Time absolute = FromProto(kept.session().absolute_expires_at());
  while (absl::Now() + absl::Milliseconds(500) < absolute) {
    absl::SleepFor(absl::Milliseconds(400));
    ASSERT_OK_AND_ASSIGN(v1::TouchResponse touched, client_->Touch(touch));
    EXPECT_LE(FromProto(touched.session().idle_expires_at()), absolute);
  }
  v1::GetRequest get_idle;
  get_idle.set_id(idle.session().id());
  EXPECT_THAT(client_->Get(get_idle), StatusIs(absl::StatusCode::kNotFound)) << "idle for > 1 s";
  absl::SleepFor(absolute - absl::Now() + absl::Milliseconds(100));
  EXPECT_THAT(client_->Touch(touch), StatusIs(absl::StatusCode::kNotFound))
      << "the absolute lifetime ends the session however often it is used";
}

TEST_F(RpcE2eTest, ASessionMayAskForLessThanTheServerDefault) {
  v1::CreateSessionRequest create;
  create.mutable_idle_timeout()->set_seconds(1);
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse created, client_->CreateSession(create));
  EXPECT_EQ(created.session().idle_timeout().seconds(), 1);
  absl::SleepFor(absl::Milliseconds(1300));
  v1::TouchRequest touch;
  touch.set_id(created.session().id());
  EXPECT_THAT(client_->Touch(touch), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RpcE2eTest, FlagsComeFromSessiondEnvironmentVariablesAndTheCommandLineWins) {
  absl::StatusOr<std::unique_ptr<SessiondProcess>> server =
      SessiondProcess::Start({"--drain_grace=0s", "--absolute_timeout=30m"},
                             {"SESSIOND_IDLE_TIMEOUT=90s", "SESSIOND_MAX_IDLE_TIMEOUT=2m",
                              "SESSIOND_ABSOLUTE_TIMEOUT=1h"});
  ASSERT_OK(server);
  Client client((*server)->NewChannel());
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse created, client.CreateSession({}));
  EXPECT_EQ(created.session().idle_timeout().seconds(), 90);
  EXPECT_EQ(FromProto(created.session().absolute_expires_at()) -
                FromProto(created.session().created_at()),
            absl::Minutes(30));
}

TEST(SessiondHelpTest, HelpListsTheServerFlagsAndTheEnvironmentVariables) {
  std::string help;
  FILE* out = popen((SessiondProcess::BinaryPath() + " --help 2>&1").c_str(), "r");
  ASSERT_NE(out, nullptr);
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), out)) > 0;) help.append(buffer, n);
  pclose(out);
  for (const char* flag : {"--listen", "--store", "--idle_timeout", "--max_memory_bytes",
                           "--durability", "--drain_grace"}) {
    EXPECT_THAT(help, ::testing::HasSubstr(flag));
  }
  EXPECT_THAT(help, ::testing::HasSubstr("SESSIOND_"));
}

TEST_F(RpcE2eTest, GetWithNoRenewDoesNotExtendTheSession) {
  StartServer({"--idle_timeout=1s"});
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse created, client_->CreateSession({}));
  v1::GetRequest peek;
  peek.set_id(created.session().id());
  peek.set_no_renew(true);
  absl::SleepFor(absl::Milliseconds(600));
  ASSERT_OK_AND_ASSIGN(v1::GetResponse peeked, client_->Get(peek));
  EXPECT_EQ(peeked.session().idle_expires_at().seconds(),
            created.session().idle_expires_at().seconds());
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_THAT(client_->Get(peek), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RpcE2eTest, EveryMutationRetriedWithItsRequestIdAppliesOnce) {
  v1::CreateSessionRequest create;
  create.set_request_id("create-1");
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse created, client_->CreateSession(create));
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse recreated, client_->CreateSession(create));
  const std::string id = created.session().id();
  EXPECT_EQ(recreated.session().id(), id);

  v1::SetRequest set;
  set.set_id(id);
  set.set_request_id("set-1");
  (*set.mutable_entries())["n"] = Int(1);
  ASSERT_OK_AND_ASSIGN(v1::SetResponse first, client_->Set(set));
  ASSERT_OK_AND_ASSIGN(v1::SetResponse retried, client_->Set(set));
  EXPECT_EQ(retried.session().version(), first.session().version());

  v1::CommitRequest commit;
  commit.set_id(id);
  commit.set_request_id("commit-1");
  commit.set_read_version(first.session().version());
  commit.add_ops()->mutable_remove()->set_key("n");
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse committed, client_->Commit(commit));
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse recommitted, client_->Commit(commit));
  EXPECT_EQ(recommitted.session().version(), committed.session().version());

  v1::RotateIdRequest rotate;
  rotate.set_id(id);
  rotate.set_request_id("rotate-1");
  ASSERT_OK_AND_ASSIGN(v1::RotateIdResponse rotated, client_->RotateId(rotate));
  ASSERT_OK_AND_ASSIGN(v1::RotateIdResponse rerotated, client_->RotateId(rotate));
  EXPECT_EQ(rerotated.session().id(), rotated.session().id());

  v1::DeleteRequest del;
  del.set_id(rotated.session().id());
  del.set_request_id("delete-1");
  ASSERT_OK_AND_ASSIGN(v1::DeleteResponse deleted, client_->Delete(del));
  ASSERT_OK_AND_ASSIGN(v1::DeleteResponse redeleted, client_->Delete(del));
  EXPECT_TRUE(deleted.deleted());
  EXPECT_TRUE(redeleted.deleted()) << "the first outcome, not \"there was none\"";
}

}  // namespace
}  // namespace sessiond
