// sessiond on a real Redis that requires a password: the password file (replicas sharing the Redis
// are in replicas_e2e_test.cc).
#include <fstream>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "storage/testing/redis_servers.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace sessiond {
namespace {

using ::sessiond::storage::testing::RedisServer;
using ::sessiond::testing::SessiondProcess;
using ::sessiond::testing::TempDir;

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
