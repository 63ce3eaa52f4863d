#include "bench/loadgen/session_pool.h"

#include "bench/loadgen/workload.h"
#include "gtest/gtest.h"

namespace sessiond::bench {
namespace {

constexpr int kDraws = 100000;

int CountChances(SessionPool& pool, double probability) {
  int count = 0;
  for (int i = 0; i < kDraws; ++i) count += pool.Chance(probability) ? 1 : 0;
  return count;
}

TEST(SessionPoolTest, WebAlwaysWritesAndGetNever) {
  SessionPool pool;
  EXPECT_EQ(CountChances(pool, WriteShare(Op::kWeb)), kDraws);
  EXPECT_EQ(CountChances(pool, WriteShare(Op::kGet)), 0);
}

TEST(SessionPoolTest, ReadMostlyWritesOneRequestInFive) {
  SessionPool pool;
  // 100,000 draws at 0.2: the standard deviation of the share is 0.0013, so ±0.01 is 8 of them.
  const double share =
      static_cast<double>(CountChances(pool, WriteShare(Op::kWebReadMostly))) / kDraws;
  EXPECT_NEAR(share, 0.2, 0.01);
}

}  // namespace
}  // namespace sessiond::bench
