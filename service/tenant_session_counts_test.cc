#include "service/tenant_session_counts.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"
#include "storage/tenant_store.h"
#include "storage/testing/fake_clock.h"
#include "tests/support/status_matchers.h"

namespace sessiond::service {
namespace {

using ::sessiond::testing::StatusIs;
using ::testing::HasSubstr;

storage::NewSession Numbered(int n) {
  return {.id = absl::StrCat("session-", n),
          .idle_timeout = absl::Minutes(20),
          .absolute_timeout = absl::Hours(1)};
}

class TenantSessionCountsTest : public ::testing::Test {
 protected:
  // Creates session `n` in tenant `name`'s view under a limit of `max`.
  absl::StatusOr<storage::SessionMeta> Create(const std::string& name, int n, size_t max) {
    storage::TenantStore view(store_.get(), storage::TenantPrefix(name));
    return counts_.CreateWithin({storage::TenantPrefix(name), max, "max_live_sessions"},
                                [&] { return view.Create(Numbered(n)); });
  }

  storage::FakeClock clock_;
  std::unique_ptr<storage::Store> store_ = storage::NewMemoryStore({.clock = &clock_});
  storage::TenantStore shop_{store_.get(), storage::TenantPrefix("shop")};
  TenantSessionCounts counts_{&store_->Events()};
};

TEST_F(TenantSessionCountsTest, ATenantGetsNoMoreThanItsLiveSessions) {
  for (int n = 0; n < 3; ++n) ASSERT_OK(Create("shop", n, 3));
  EXPECT_THAT(Create("shop", 3, 3),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("max_live_sessions")));
  // Another tenant's count is its own.
  ASSERT_OK(Create("blog", 0, 1));
  EXPECT_EQ(counts_.Live(storage::TenantPrefix("blog")), 1u);
  // An ending makes room; a rotation does not.
  ASSERT_OK(shop_.Rotate("session-0", "session-9", std::nullopt, "", std::nullopt));
  EXPECT_THAT(Create("shop", 3, 3), StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_OK(shop_.Delete("session-9", std::nullopt, ""));
  EXPECT_OK(Create("shop", 3, 3));
  EXPECT_EQ(counts_.Live(storage::TenantPrefix("shop")), 3u);
}

TEST_F(TenantSessionCountsTest, ConcurrentCreatesNeverPassTheLimit) {
  std::atomic<int> created = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (Create("shop", t * 100 + i, 10).ok()) ++created;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(created.load(), 10);
  EXPECT_EQ(counts_.Live(storage::TenantPrefix("shop")), 10u);
}

}  // namespace
}  // namespace sessiond::service
