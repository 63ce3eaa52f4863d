// The Store contract, part four: a tenant's cap on live sessions (NewSession::live_cap), for the
// stores that enforce it themselves (CapsLiveSessions(): those shared by replicas). The server
// counts the other stores from their event logs (service/tenant_session_counts.h).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "storage/store_contract_test.h"
#include "storage/tenant_store.h"
#include "tests/support/status_matchers.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;

constexpr absl::string_view kCapName = "tenant a's max_live_sessions";

std::string CappedId(int n) { return absl::StrCat("cap-", n, "-AAAAAAAAAAAAAAAAAAAAAAAAAAAA"); }

// Session `n` for the tenant named `tenant`, under a cap of `max` (0: none).
NewSession Capped(absl::string_view tenant, int n, size_t max, std::string request_id = "") {
  NewSession session;
  session.id = CappedId(n);
  session.idle_timeout = absl::Minutes(20);
  session.absolute_timeout = absl::Hours(12);
  session.request_id = std::move(request_id);
  session.live_cap = {TenantPrefix(tenant), max, kCapName};
  return session;
}

const auto kOverCap = StatusIs(absl::StatusCode::kResourceExhausted,
                               ::testing::AllOf(::testing::HasSubstr(std::string(kCapName)),
                                                ::testing::HasSubstr("has 3 live sessions")));

TEST_P(StoreContractTest, ATenantsLiveCapRefusesCreatesOverItUntilSessionsEnd) {
  if (!store_->CapsLiveSessions()) GTEST_SKIP() << "the server counts this store's sessions";
  TenantStore a(store_.get(), TenantPrefix("a"));
  TenantStore b(store_.get(), TenantPrefix("b"));
  // Sessions created before the cap was set count under it.
  ASSERT_OK(a.Create(Capped("a", 1, 0)));
  for (int n = 2; n <= 3; ++n) ASSERT_OK(a.Create(Capped("a", n, 3)));
  EXPECT_THAT(a.Create(Capped("a", 4, 3)), kOverCap);
  // Another tenant's sessions are counted apart.
  for (int n = 1; n <= 3; ++n) ASSERT_OK(b.Create(Capped("b", n, 3)));
  // A deleted session frees its place.
  ASSERT_THAT(a.Delete(CappedId(1), std::nullopt, ""), IsOkAndHolds(true));
  ASSERT_OK(a.Create(Capped("a", 4, 3)));
  EXPECT_THAT(a.Create(Capped("a", 5, 3)), kOverCap);
  // Expired sessions free theirs (at the latest once swept).
  clock_.Advance(absl::Minutes(21));
  ASSERT_OK(store_->SweepExpired());
  for (int n = 5; n <= 7; ++n) ASSERT_OK(a.Create(Capped("a", n, 3)));
  EXPECT_THAT(a.Create(Capped("a", 8, 3)), kOverCap);
}

TEST_P(StoreContractTest, AtItsLiveCapATenantStillRetriesAndRotates) {
  if (!store_->CapsLiveSessions()) GTEST_SKIP() << "the server counts this store's sessions";
  TenantStore a(store_.get(), TenantPrefix("a"));
  ASSERT_OK(a.Create(Capped("a", 1, 3, "login-1")));
  for (int n = 2; n <= 3; ++n) ASSERT_OK(a.Create(Capped("a", n, 3)));
  // The retry of a create that succeeded returns its session.
  EXPECT_THAT(a.Create(Capped("a", 9, 3, "login-1")),
              IsOkAndHolds(::testing::Field(&SessionMeta::id, CappedId(1))));
  // A rotation replaces one live session with another.
  EXPECT_OK(a.Rotate(CappedId(1), CappedId(4), std::nullopt, "", std::nullopt));
  EXPECT_THAT(a.Create(Capped("a", 5, 3)), kOverCap);
}

TEST_P(StoreContractTest, ConcurrentCreatesNeverPassATenantsLiveCap) {
  if (!store_->CapsLiveSessions()) GTEST_SKIP() << "the server counts this store's sessions";
  TenantStore a(store_.get(), TenantPrefix("a"));
  constexpr int kThreads = 4, kEach = 10, kCap = 7;
  std::atomic<int> created{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        absl::StatusOr<SessionMeta> meta = a.Create(Capped("a", t * kEach + i, kCap));
        if (meta.ok()) {
          ++created;
        } else {
          ++refused;
          EXPECT_EQ(meta.status().code(), absl::StatusCode::kResourceExhausted);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(created.load(), kCap);
  EXPECT_EQ(refused.load(), kThreads * kEach - kCap);
}

}  // namespace
}  // namespace sessiond::storage
