// LatencyHistogram: an HDR-style histogram of latencies in nanoseconds with log-spaced buckets.
//
// Values below 128 ns have a bucket each; above, every power of two is split into 64 equal
// buckets, so a reported percentile is within 1/64 (1.6%) of the true value whatever its
// magnitude, from nanoseconds to centuries, in a fixed 30 KiB. Recording is O(1) and allocates
// nothing. Not thread-safe: the load generator records from its one driver thread.
#ifndef SESSIOND_BENCH_LOADGEN_HISTOGRAM_H_
#define SESSIOND_BENCH_LOADGEN_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace sessiond::bench {

class LatencyHistogram {
 public:
  // Counts one latency; negative values count as 0.
  void Record(int64_t nanos);

  int64_t count() const { return count_; }
  // 0 when empty.
  int64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0 : sum_ / count_; }

  // The value below which a fraction `q` (0 < q <= 1) of the recorded values lie: the midpoint of
  // the bucket holding the ceil(q * count)-th smallest value, capped at max(). 0 when empty.
  int64_t Percentile(double q) const;

 private:
  static constexpr int kSubBucketBits = 6;
  static constexpr int kLinearLimit = 2 << kSubBucketBits;  // 128: one bucket per nanosecond
  // 128 linear buckets, then 64 per power of two from 2^7 to 2^63.
  static constexpr int kBuckets = kLinearLimit + (63 - kSubBucketBits) * (1 << kSubBucketBits);

  static int BucketOf(uint64_t value);
  // The smallest value bucket `index` holds, and its width.
  static uint64_t BucketStart(int index);
  static uint64_t BucketWidth(int index);

  std::array<int64_t, kBuckets> counts_{};
  int64_t count_ = 0;
  double sum_ = 0;
  int64_t max_ = 0;
};

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_HISTOGRAM_H_
