#include "service/cancel_account.h"

#include "gtest/gtest.h"

namespace sessiond::service {
namespace {

constexpr absl::Duration kTick = absl::Milliseconds(100);

TEST(CancelAccountTest, ABurstOverTheLimitIsAbusive) {
  CancelAccount account(1000);
  EXPECT_FALSE(account.Add(1000, kTick));
  EXPECT_TRUE(account.Add(200, kTick)) << "1,190 after ten forgiven";
}

TEST(CancelAccountTest, ATenthOfTheLimitPerSecondIsForgiven) {
  CancelAccount account(1000);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(account.Add(10, kTick)) << "100 a second, interval " << i;
  }
  EXPECT_LE(account.level(), 10.0);
}

TEST(CancelAccountTest, SustainedCancellingAboveTheForgivenRateIsAbusive) {
  CancelAccount account(1000);
  int intervals = 0;
  while (!account.Add(20, kTick)) ++intervals;
  EXPECT_EQ(intervals, 99) << "200 a second: 100 more than forgiven, over the limit in 10 s";
}

TEST(CancelAccountTest, ForgivenessDoesNotBankCredit) {
  CancelAccount account(1000);
  EXPECT_FALSE(account.Add(0, absl::Hours(1)));
  EXPECT_TRUE(account.Add(1001, absl::ZeroDuration()));
}

}  // namespace
}  // namespace sessiond::service
