// sessiond on a real PostgreSQL that requires a password (scram-sha-256): the password comes from
// --postgres_password_file, and a wrong one stops the start (replicas sharing a PostgreSQL are in
// replicas_e2e_test.cc).
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "storage/testing/postgres_server.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace sessiond {
namespace {

using ::sessiond::storage::testing::PostgresServer;
using ::sessiond::testing::SessiondProcess;
using ::sessiond::testing::TempDir;

TEST(PostgresAuthE2eTest, SessiondAuthenticatesWithThePasswordFileAndRefusesToStartWithAWrongOne) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PostgresServer> postgres, PostgresServer::Start("s3cret"));
  TempDir dir;
  std::ofstream(dir.File("right")) << "s3cret\n";
  std::ofstream(dir.File("wrong")) << "guess\n";
  const std::vector<std::string> flags = {"--store=postgres", "--postgres_dsn=" + postgres->Dsn(),
                                          "--drain_grace=0s"};

  std::vector<std::string> with_right = flags;
  with_right.push_back("--postgres_password_file=" + dir.File("right"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> server, SessiondProcess::Start(with_right));
  Client client(server->NewChannel());
  EXPECT_OK(client.CreateSession(v1::CreateSessionRequest()));

  std::vector<std::string> with_wrong = flags;
  with_wrong.push_back("--postgres_password_file=" + dir.File("wrong"));
  EXPECT_FALSE(SessiondProcess::Start(with_wrong).ok()) << "a wrong password stops the start";
  std::vector<std::string> without = flags;
  EXPECT_FALSE(SessiondProcess::Start(without).ok()) << "so does none";
}

}  // namespace
}  // namespace sessiond
