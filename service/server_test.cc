#include "service/server.h"

#include <fstream>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace sessiond::service {
namespace {

using ::sessiond::testing::StatusIs;
using ::sessiond::testing::TempDir;
using ::testing::HasSubstr;

// A server over a store that is not the memory store and cannot cap a tenant's live sessions
// (Store::CapsLiveSessions is false) refuses to start with tenants rather than leave their
// max_live_sessions unenforced.
TEST(ServerTest, TenantsNeedAStoreThatCountsTheirLiveSessions) {
  TempDir dir;
  Server::Options options;
  options.listen_address = "127.0.0.1:0";
  options.tenants_file = dir.File("tenants.json");
  std::ofstream(options.tenants_file)
      << R"({"tenants": [{"name": "shop", "token_sha256": [")" << std::string(64, 'a')
      << R"("], "limits": {"max_live_sessions": 5}}]})";
  options.store = "uncounted";
  options.open_store = [](absl::string_view, const storage::SessionLimits&) {
    return absl::StatusOr<std::unique_ptr<storage::Store>>(storage::NewMemoryStore({}));
  };
  EXPECT_THAT(Server::BuildAndStart(options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("--store=uncounted cannot cap a tenant's live sessions")));
}

}  // namespace
}  // namespace sessiond::service
