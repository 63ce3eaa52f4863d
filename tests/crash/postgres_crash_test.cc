// The crash test of the PostgreSQL backend (crash_model.h): sessiond --store=postgres killed with
// SIGKILL at random moments under load and started again on the same database (a real PostgreSQL
// 15 with synchronous_commit on). What PostgreSQL committed before sessiond answered must be
// there; a transaction the kill cut short is rolled back by PostgreSQL when the connection drops.
// SESSIOND_CRASH_CYCLES sets the number of cycles (default 20).
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/testing/postgres_server.h"
#include "tests/crash/crash_model.h"
#include "tests/support/status_matchers.h"

namespace sessiond {
namespace {

using ::sessiond::storage::testing::PostgresServer;

TEST(PostgresCrashTest, KillNineNeverLosesAnAcknowledgedOperation) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PostgresServer> postgres, PostgresServer::Start());
  KillNineCycles(CrashCycles(), [&](int) {
    return std::vector<std::string>{"--store=postgres", "--postgres_dsn=" + postgres->Dsn()};
  });
}

}  // namespace
}  // namespace sessiond
