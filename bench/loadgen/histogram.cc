#include "bench/loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sessiond::bench {

int LatencyHistogram::BucketOf(uint64_t value) {
  if (value < kLinearLimit) return static_cast<int>(value);
  // Keep the top 7 bits: a leading 1 and the 6 bits that pick one of 64 sub-buckets.
  const int shift = std::bit_width(value) - (kSubBucketBits + 1);
  const int sub_bucket = static_cast<int>(value >> shift) - (1 << kSubBucketBits);
  return kLinearLimit + (shift - 1) * (1 << kSubBucketBits) + sub_bucket;
}

uint64_t LatencyHistogram::BucketStart(int index) {
  if (index < kLinearLimit) return static_cast<uint64_t>(index);
  const int offset = index - kLinearLimit;
  const int shift = offset / (1 << kSubBucketBits) + 1;
  const uint64_t mantissa = (1 << kSubBucketBits) + offset % (1 << kSubBucketBits);
  return mantissa << shift;
}

uint64_t LatencyHistogram::BucketWidth(int index) {
  if (index < kLinearLimit) return 1;
  return uint64_t{1} << ((index - kLinearLimit) / (1 << kSubBucketBits) + 1);
}

void LatencyHistogram::Record(int64_t nanos) {
  nanos = std::max<int64_t>(nanos, 0);
  ++counts_[BucketOf(static_cast<uint64_t>(nanos))];
  ++count_;
  sum_ += nanos;
  max_ = std::max(max_, nanos);
}

int64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * count_)));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::min(static_cast<int64_t>(BucketStart(i) + BucketWidth(i) / 2), max_);
    }
  }
  return max_;
}

}  // namespace sessiond::bench
