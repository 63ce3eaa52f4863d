#include "bench/loadgen/histogram.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace sessiond::bench {
namespace {

TEST(LatencyHistogramTest, EmptyReportsZero) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0);
  EXPECT_EQ(histogram.Percentile(0.99), 0);
  EXPECT_EQ(histogram.mean(), 0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (int64_t v = 1; v <= 100; ++v) histogram.Record(v);
  EXPECT_EQ(histogram.Percentile(0.5), 50);
  EXPECT_EQ(histogram.Percentile(0.99), 99);
  EXPECT_EQ(histogram.Percentile(1.0), 100);
  EXPECT_DOUBLE_EQ(histogram.mean(), 50.5);
}

TEST(LatencyHistogramTest, LargeValuesWithinOneSubBucket) {
  LatencyHistogram histogram;
  // 1 µs .. 10 ms in 1 µs steps: the p-th percentile is p * 10 ms.
  for (int64_t us = 1; us <= 10'000; ++us) histogram.Record(us * 1000);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double expected = q * 10'000'000;
    EXPECT_NEAR(histogram.Percentile(q), expected, expected / 64) << q;
  }
  EXPECT_EQ(histogram.Percentile(1.0), 10'000'000);
  EXPECT_EQ(histogram.max(), 10'000'000);
}

TEST(LatencyHistogramTest, ExtremesDoNotOverflow) {
  LatencyHistogram histogram;
  histogram.Record(-5);
  histogram.Record(INT64_MAX);
  EXPECT_EQ(histogram.Percentile(0.5), 0);
  EXPECT_GE(histogram.Percentile(1.0), INT64_MAX - INT64_MAX / 64);
  EXPECT_GT(histogram.mean(), 0);
}

}  // namespace
}  // namespace sessiond::bench
