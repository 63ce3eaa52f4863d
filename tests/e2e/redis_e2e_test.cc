// Two real sessiond replicas over one real Redis, driven through the C++ client: a session created
// through one is read, changed and deleted through the other, per-key conflicts across replicas
// are exact, and health follows Redis going down and coming back.
#include <fstream>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "sessiond/session.h"
#include "storage/testing/redis_servers.h"
#include "tests/support/health.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace sessiond {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::sessiond::storage::testing::RedisServer;
using ::sessiond::testing::HealthOf;
using ::sessiond::testing::SessiondProcess;
using ::sessiond::testing::StatusIs;
using ::sessiond::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::Optional;

class RedisE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(redis_, RedisServer::Start());
    for (auto* replica : {&first_, &second_}) {
      ASSERT_OK_AND_ASSIGN(
          *replica, SessiondProcess::Start({"--store=redis", "--redis_addrs=" + redis_->address(),
                                            "--redis_timeout=300ms",
                                            "--redis_connect_timeout=300ms", "--drain_grace=0s"}));
    }
    first_client_ = std::make_unique<Client>(first_->NewChannel());
    second_client_ = std::make_unique<Client>(second_->NewChannel());
  }

  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<SessiondProcess> first_, second_;
  std::unique_ptr<Client> first_client_, second_client_;
};

TEST_F(RedisE2eTest, ASessionWrittenThroughOneReplicaIsReadChangedAndDeletedThroughTheOther) {
  ASSERT_OK_AND_ASSIGN(Session created, Session::Create(*first_client_));
  created.SetString("user", "alice");
  created.SetJson("cart", R"(["book"])");
  ASSERT_OK(created.Commit());

  Session elsewhere(*second_client_, created.Id());
  EXPECT_THAT(elsewhere.GetString("user"), Optional(std::string("alice")));
  EXPECT_THAT(elsewhere.GetJson("cart"), Optional(std::string(R"(["book"])")));
  elsewhere.SetInt64("visits", 2);
  ASSERT_OK(elsewhere.Commit());

  Session back(*first_client_, created.Id());
  EXPECT_THAT(back.GetInt64("visits"), Optional(2));
  EXPECT_THAT(back.Keys(), ElementsAre("cart", "user", "visits"));

  v1::DeleteRequest remove;
  remove.set_id(created.Id());
  ASSERT_OK(second_client_->Delete(remove));
  Session gone(*first_client_, created.Id());
  EXPECT_THAT(gone.Load(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RedisE2eTest, ConflictsAcrossReplicasAreDetectedPerKey) {
  ASSERT_OK_AND_ASSIGN(Session created, Session::Create(*first_client_));
  Session on_first(*first_client_, created.Id());
  Session on_second(*second_client_, created.Id());
  ASSERT_OK(on_first.Load());
  ASSERT_OK(on_second.Load());

  on_first.SetString("theme", "dark");
  on_second.SetString("lang", "fr");
  ASSERT_OK(on_first.Commit());
  ASSERT_OK(on_second.Commit()) << "different keys: both commit";

  on_first.SetString("cart", "1 item");
  on_second.SetString("cart", "2 items");
  ASSERT_OK(on_first.Commit());
  EXPECT_THAT(on_second.Commit(), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(on_second.ConflictingKeys(), ElementsAre("cart"));
}

TEST_F(RedisE2eTest, HealthFollowsRedisDownAndBackUp) {
  const std::string service = "sessiond.v1.SessionService";
  EXPECT_EQ(HealthOf(first_->NewChannel(), service), HealthCheckResponse::SERVING);
  redis_->Kill();
  const absl::Time killed = absl::Now();
  while (HealthOf(first_->NewChannel(), service) == HealthCheckResponse::SERVING &&
         absl::Now() < killed + absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(HealthOf(first_->NewChannel(), service), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(first_->NewChannel(), ""), HealthCheckResponse::SERVING)
      << "the process itself is fine";
  v1::CreateSessionRequest create;
  EXPECT_THAT(first_client_->CreateSession(create), StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_OK(redis_->Restart());
  const absl::Time restarted = absl::Now();
  while (HealthOf(first_->NewChannel(), service) != HealthCheckResponse::SERVING &&
         absl::Now() < restarted + absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(HealthOf(first_->NewChannel(), service), HealthCheckResponse::SERVING);
  EXPECT_OK(first_client_->CreateSession(create)) << "recovered by itself";
}

TEST(RedisAuthE2eTest, SessiondAuthenticatesWithThePasswordFileAndRefusesToStartWithAWrongOne) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisServer> redis,
                       RedisServer::Start({"--requirepass", "s3cret"}));
  TempDir dir;
  std::ofstream(dir.File("right")) << "s3cret\n";
  std::ofstream(dir.File("wrong")) << "guess\n";
  const std::vector<std::string> flags = {"--store=redis", "--redis_addrs=" + redis->address(),
                                          "--drain_grace=0s"};

  std::vector<std::string> with_right = flags;
  with_right.push_back("--redis_password_file=" + dir.File("right"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> server, SessiondProcess::Start(with_right));
  Client client(server->NewChannel());
  EXPECT_OK(client.CreateSession(v1::CreateSessionRequest()));

  std::vector<std::string> with_wrong = flags;
  with_wrong.push_back("--redis_password_file=" + dir.File("wrong"));
  EXPECT_FALSE(SessiondProcess::Start(with_wrong).ok()) << "a wrong password stops the start";
}

}  // namespace
}  // namespace sessiond
