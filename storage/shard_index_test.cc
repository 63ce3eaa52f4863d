#include "storage/shard_index.h"

#include <set>
#include <string>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sessiond::storage {
namespace {

constexpr int kShardBits = 5;  // 32 shards, as on a machine with 8 hardware threads

TEST(ShardIndexTest, SpreadsKeysOverEveryShard) {
  std::set<size_t> shards;
  for (int i = 0; i < 10'000; ++i) {
    const size_t shard = ShardIndex(absl::HashOf(absl::StrCat("session-", i)), kShardBits);
    ASSERT_LT(shard, size_t{1} << kShardBits);
    shards.insert(shard);
  }
  EXPECT_EQ(shards.size(), size_t{1} << kShardBits);
}

TEST(ShardIndexTest, KeysOfOneShardKeepEveryHashTableControlByte) {
  // flat_hash_map's control byte is the hash's low 7 bits: within one shard they must still take
  // all 128 values, or probes compare against more false candidates.
  std::set<uint64_t> control_bytes;
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t hash = absl::HashOf(absl::StrCat("session-", i));
    if (ShardIndex(hash, kShardBits) == 0) control_bytes.insert(hash & 0x7F);
  }
  EXPECT_EQ(control_bytes.size(), 128u);
}

}  // namespace
}  // namespace sessiond::storage
