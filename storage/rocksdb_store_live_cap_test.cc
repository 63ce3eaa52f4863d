// The RocksDB store's cap on a tenant's live sessions across reopens: the count starts from what
// the database holds (rocksdb_store.h, LiveSessionCounts). The contract suite covers one run.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/rocksdb_store.h"
#include "storage/tenant_store.h"
#include "storage/testing/fake_clock.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;

constexpr absl::string_view kCapName = "tenant a's max_live_sessions";

// Tenant `tenant`'s session `n` (its id in the store), idle for `idle`, under a cap of `max`.
NewSession Session(absl::string_view tenant, int n, size_t max,
                   absl::Duration idle = absl::Minutes(20)) {
  NewSession session;
  session.id = absl::StrCat(TenantPrefix(tenant), "s", n);
  session.idle_timeout = idle;
  session.absolute_timeout = absl::Hours(12);
  session.live_cap = {TenantPrefix(tenant), max, kCapName};
  return session;
}

auto OverCapWith(int live) {
  return StatusIs(absl::StatusCode::kResourceExhausted,
                  ::testing::AllOf(::testing::HasSubstr(std::string(kCapName)),
                                   ::testing::HasSubstr(absl::StrCat("has ", live, " live"))));
}

class RocksDbLiveCapTest : public ::testing::Test {
 protected:
  // Opens the test's database, counting tenants' sessions if `tenants`; aborts if that fails.
  std::unique_ptr<Store> Open(bool tenants = true) {
    SessionLimits limits;
    limits.count_tenant_sessions = tenants;
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenRocksDbStore({.path = dir_.File("db"),
                          .clock = &clock_,
                          .limits = limits,
                          .min_free_disk_bytes = uint64_t{16} << 20});
    if (!store.ok()) {
      ADD_FAILURE() << store.status();
      std::abort();
    }
    return *std::move(store);
  }

  FakeClock clock_;
  ::sessiond::testing::TempDir dir_{"sessiond-rocksdb-live-cap"};
};

TEST_F(RocksDbLiveCapTest, ACapCountsTheSessionsTheStoreHeldWhenReopened) {
  {
    std::unique_ptr<Store> store = Open();
    // Created without a cap, by a server without tenants, or with one: all count after a reopen.
    ASSERT_OK(store->Create(Session("a", 1, 0)));
    ASSERT_OK(store->Create(Session("a", 2, 5)));
    ASSERT_OK(store->Create(Session("a", 3, 5)));
    ASSERT_THAT(store->Delete(Session("a", 3, 0).id, std::nullopt, ""), IsOkAndHolds(true));
    ASSERT_OK(store->Create(Session("b", 1, 5)));
    ASSERT_OK(store->Rotate(Session("a", 2, 0).id, Session("a", 4, 0).id, std::nullopt, "",
                            std::nullopt));
  }
  {
    std::unique_ptr<Store> without_tenants = Open(/*tenants=*/false);
    EXPECT_FALSE(without_tenants->CapsLiveSessions());
    ASSERT_OK(without_tenants->Create(Session("a", 5, 0)));
  }
  std::unique_ptr<Store> store = Open();
  ASSERT_TRUE(store->CapsLiveSessions());
  // a~s1, a~s4 (rotated from a~s2) and a~s5 are live; b's session is counted apart.
  EXPECT_THAT(store->Create(Session("a", 6, 3)), OverCapWith(3));
  ASSERT_OK(store->Create(Session("a", 6, 4)));
  EXPECT_THAT(store->Create(Session("a", 7, 4)), OverCapWith(4));
  ASSERT_OK(store->Create(Session("b", 2, 2)));
  EXPECT_THAT(store->Create(Session("b", 3, 2)), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(RocksDbLiveCapTest, SessionsThatExpiredBeforeTheReopenAreNotCounted) {
  {
    std::unique_ptr<Store> store = Open();
    for (int n = 1; n <= 3; ++n) ASSERT_OK(store->Create(Session("a", n, 0, absl::Minutes(1))));
    ASSERT_OK(store->Create(Session("a", 4, 0, absl::Minutes(10))));
  }
  // s1..s3 expire while the store is closed; nothing swept them.
  clock_.Advance(absl::Minutes(2));
  std::unique_ptr<Store> store = Open();
  ASSERT_OK(store->Create(Session("a", 5, 2)));
  EXPECT_THAT(store->Create(Session("a", 6, 2)), OverCapWith(2));
  // Sweeping them now ends sessions that were never counted: the count stays.
  ASSERT_THAT(store->SweepExpired(), IsOkAndHolds(3u));
  EXPECT_THAT(store->Create(Session("a", 6, 2)), OverCapWith(2));
  // A session counted at the open that expires later frees its place once ended.
  clock_.Advance(absl::Minutes(10));
  ASSERT_THAT(store->SweepExpired(), IsOkAndHolds(1u));
  ASSERT_OK(store->Create(Session("a", 6, 2)));
  EXPECT_THAT(store->Create(Session("a", 7, 2)), OverCapWith(2));
}

}  // namespace
}  // namespace sessiond::storage
