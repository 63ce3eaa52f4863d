// The near cache's rules without a server: lease, fills, invalidations, writes, LRU bytes, expiry
// and renewals, on times the test passes in. The stream and the Client's use of it are tested
// against the real server in tests/e2e/near_cache_e2e_test.cc.
#include "near_cache.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/values.h"

namespace sessiond::internal {
namespace {

using ::sessiond::testing::Text;
using std::chrono::milliseconds;

const absl::Time kWallNow = absl::FromUnixSeconds(1'800'000'000);
const NearCache::SteadyTime kSteadyNow = NearCache::SteadyTime() + std::chrono::hours(1);

google::protobuf::Timestamp At(absl::Time time) {
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(absl::ToUnixSeconds(time));
  return timestamp;
}

// A Get's answer: session `id` at `version` with one entry of `value_bytes` bytes, last used at
// kWallNow with an idle timeout of 80 s.
v1::GetResponse Answer(const std::string& id, uint64_t version, size_t value_bytes = 10) {
  v1::GetResponse response;
  v1::SessionInfo& info = *response.mutable_session();
  info.set_id(id);
  info.set_version(version);
  *info.mutable_last_access_at() = At(kWallNow);
  *info.mutable_idle_expires_at() = At(kWallNow + absl::Seconds(80));
  *info.mutable_absolute_expires_at() = At(kWallNow + absl::Hours(1));
  info.mutable_idle_timeout()->set_seconds(80);
  (*response.mutable_entries())["k"] = Text(std::string(value_bytes, 'v'));
  (*response.mutable_entries())["other"] = Text("o");
  return response;
}

v1::GetRequest GetOf(const std::string& id) {
  v1::GetRequest request;
  request.set_id(id);
  return request;
}

v1::Invalidation Changed(const std::string& id, uint64_t version, bool gone = false) {
  v1::Invalidation invalidation;
  invalidation.set_id_hash(IdHash(id));
  invalidation.set_version(version);
  invalidation.set_gone(gone);
  return invalidation;
}

// A cache of `max_bytes` holding a lease until kSteadyNow + 100 ms.
class NearCacheTest : public ::testing::Test {
 protected:
  explicit NearCacheTest(size_t max_bytes = 1 << 20) : cache_(max_bytes) {
    cache_.GrantLease(kSteadyNow + milliseconds(100));
  }

  // Fills the cache with `answer` through a fill nothing disturbs.
  void Fill(const v1::GetResponse& answer) {
    const NearCache::Fill fill = cache_.BeginFill(answer.session().id());
    cache_.EndFill(fill, &answer);
  }

  bool Cached(const std::string& id, absl::Time wall_now = kWallNow) {
    return cache_.Lookup(GetOf(id), kSteadyNow, wall_now).has_value();
  }

  NearCache cache_;
};

TEST(IdHashTest, IsTheFirstEightBytesOfSha256BigEndian) {
  // SHA-256("abc") = ba7816bf 8f01cfea 414140de ...
  EXPECT_EQ(IdHash("abc"), 0xba7816bf8f01cfeaULL);
}

TEST_F(NearCacheTest, ServesAFilledSessionOnlyWithinTheLease) {
  Fill(Answer("a", 3));
  std::optional<NearCache::Hit> hit = cache_.Lookup(GetOf("a"), kSteadyNow, kWallNow);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->response.session().version(), 3);
  EXPECT_EQ(hit->response.entries_size(), 2);

  EXPECT_FALSE(cache_.Lookup(GetOf("a"), kSteadyNow + milliseconds(100), kWallNow).has_value());
  cache_.GrantLease(kSteadyNow + milliseconds(300));
  EXPECT_TRUE(cache_.Lookup(GetOf("a"), kSteadyNow + milliseconds(200), kWallNow).has_value());
  // A lease never moves backwards.
  cache_.GrantLease(kSteadyNow);
  EXPECT_TRUE(cache_.Lookup(GetOf("a"), kSteadyNow + milliseconds(200), kWallNow).has_value());

  const NearCacheStats stats = cache_.Stats(kSteadyNow);
  EXPECT_EQ(stats.hits, 3);
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.entries, 1);
  EXPECT_TRUE(stats.leased);
}

TEST_F(NearCacheTest, AKeySubsetGetsOnlyThoseKeys) {
  Fill(Answer("a", 1));
  v1::GetRequest request = GetOf("a");
  request.add_keys("k");
  request.add_keys("absent");
  std::optional<NearCache::Hit> hit = cache_.Lookup(request, kSteadyNow, kWallNow);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->response.entries_size(), 1);
  EXPECT_TRUE(hit->response.entries().contains("k"));
  EXPECT_EQ(hit->response.session().id(), "a");
}

TEST(NearCacheLeaseTest, NothingFillsBeforeTheStreamGrantedALease) {
  NearCache cache(1 << 20);
  const v1::GetResponse answer = Answer("a", 1);
  const NearCache::Fill early = cache.BeginFill("a");
  cache.GrantLease(kSteadyNow + milliseconds(100));
  cache.EndFill(early, &answer);
  EXPECT_FALSE(cache.Lookup(GetOf("a"), kSteadyNow, kWallNow).has_value());

  const NearCache::Fill late = cache.BeginFill("a");
  cache.EndFill(late, &answer);
  EXPECT_TRUE(cache.Lookup(GetOf("a"), kSteadyNow, kWallNow).has_value());
}

TEST_F(NearCacheTest, ResetDropsEverythingAndRefusesFillsInFlight) {
  Fill(Answer("a", 1));
  const v1::GetResponse answer = Answer("b", 1);
  const NearCache::Fill fill = cache_.BeginFill("b");
  cache_.Reset();
  cache_.GrantLease(kSteadyNow + milliseconds(100));
  cache_.EndFill(fill, &answer);
  EXPECT_FALSE(Cached("a"));
  EXPECT_FALSE(Cached("b"));
  EXPECT_EQ(cache_.Stats(kSteadyNow).entries, 0);
}

TEST_F(NearCacheTest, AnInvalidationDropsOnlyOlderVersionsAndEndings) {
  Fill(Answer("a", 5));
  cache_.Apply(Changed("a", 5));
  EXPECT_TRUE(Cached("a"));
  cache_.Apply(Changed("a", 6));
  EXPECT_FALSE(Cached("a"));

  Fill(Answer("b", 5));
  cache_.Apply(Changed("b", 5, /*gone=*/true));
  EXPECT_FALSE(Cached("b"));
}

TEST_F(NearCacheTest, AnInvalidationDuringAFillKeepsAnOlderAnswerOut) {
  const v1::GetResponse answer = Answer("a", 5);
  NearCache::Fill fill = cache_.BeginFill("a");
  cache_.Apply(Changed("a", 6));
  cache_.EndFill(fill, &answer);
  EXPECT_FALSE(Cached("a"));

  fill = cache_.BeginFill("a");
  cache_.Apply(Changed("a", 5));
  cache_.EndFill(fill, &answer);
  EXPECT_TRUE(Cached("a"));

  cache_.Apply(Changed("a", 5, /*gone=*/true));
  fill = cache_.BeginFill("a");
  cache_.Apply(Changed("a", 5, /*gone=*/true));
  cache_.EndFill(fill, &answer);
  EXPECT_FALSE(Cached("a"));
}

TEST_F(NearCacheTest, AWriteDropsTheSessionAndKeepsOverlappingFillsOut) {
  const v1::GetResponse answer = Answer("a", 1);
  Fill(answer);
  NearCache::Write write = cache_.BeginWrite("a");
  EXPECT_FALSE(Cached("a"));
  // A fill that starts during the write and ends after it.
  NearCache::Fill fill = cache_.BeginFill("a");
  cache_.EndWrite(write, nullptr, {});
  cache_.EndFill(fill, &answer);
  EXPECT_FALSE(Cached("a"));
  // A fill that started before the write and ends during it.
  fill = cache_.BeginFill("a");
  write = cache_.BeginWrite("a");
  cache_.EndFill(fill, &answer);
  cache_.EndWrite(write, nullptr, {});
  EXPECT_FALSE(Cached("a"));
  // After the write, fills fill again.
  Fill(Answer("a", 2));
  EXPECT_TRUE(Cached("a"));
}

TEST_F(NearCacheTest, AFillNeverReplacesANewerCachedVersion) {
  Fill(Answer("a", 3));
  Fill(Answer("a", 2));
  const std::optional<NearCache::Hit> hit = cache_.Lookup(GetOf("a"), kSteadyNow, kWallNow);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->response.session().version(), 3u);
}

// Write-through: the SessionInfo a write of session `id` returns at `version`, renewed later than
// Answer's.
v1::SessionInfo Written(const std::string& id, uint64_t version) {
  v1::SessionInfo info = Answer(id, version).session();
  *info.mutable_last_access_at() = At(kWallNow + absl::Seconds(5));
  *info.mutable_idle_expires_at() = At(kWallNow + absl::Seconds(85));
  return info;
}

v1::Operation SetOp(const std::string& key, const std::string& text) {
  v1::Operation operation;
  operation.mutable_set()->set_key(key);
  *operation.mutable_set()->mutable_value() = Text(text);
  return operation;
}

v1::Operation RemoveOp(const std::string& key) {
  v1::Operation operation;
  operation.mutable_remove()->set_key(key);
  return operation;
}

v1::Operation ClearOp() {
  v1::Operation operation;
  operation.mutable_clear();
  return operation;
}

class WriteThroughTest : public NearCacheTest {
 protected:
  // Session "a" cached at version 1 (entries "k" and "other").
  WriteThroughTest() { Fill(Answer("a", 1)); }

  // A write of "a" applying `operations` that returns version `version` (failed if 0); `during`
  // happens while it is in flight.
  void WriteA(
      uint64_t version, const std::vector<v1::Operation>& operations,
      const std::function<void()>& during = [] {}) {
    const NearCache::Write write = cache_.BeginWrite("a");
    during();
    const v1::SessionInfo written = Written("a", version);
    cache_.EndWrite(write, version == 0 ? nullptr : &written, operations);
  }

  // The cached session "a", or nullopt.
  std::optional<v1::GetResponse> CachedA() {
    std::optional<NearCache::Hit> hit = cache_.Lookup(GetOf("a"), kSteadyNow, kWallNow);
    if (!hit.has_value()) return std::nullopt;
    return hit->response;
  }
};

TEST_F(WriteThroughTest, OneChangeStoresTheOperationsAppliedInOrder) {
  WriteA(2, {SetOp("k", "new"), RemoveOp("other"), SetOp("gone", "x"), RemoveOp("gone")});
  std::optional<v1::GetResponse> cached = CachedA();
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->session().version(), 2u);
  EXPECT_EQ(cached->session().last_access_at().seconds(), absl::ToUnixSeconds(kWallNow) + 5);
  ASSERT_EQ(cached->entries().size(), 1u);
  EXPECT_EQ(cached->entries().at("k").string_value(), "new");

  WriteA(3, {SetOp("x", "1"), ClearOp(), SetOp("y", "2")});
  cached = CachedA();
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->session().version(), 3u);
  ASSERT_EQ(cached->entries().size(), 1u);
  EXPECT_EQ(cached->entries().at("y").string_value(), "2");
}

TEST_F(WriteThroughTest, NoChangeKeepsTheCopyWithTheNewSessionInfo) {
  WriteA(1, {RemoveOp("missing")});
  const std::optional<v1::GetResponse> cached = CachedA();
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->session().version(), 1u);
  EXPECT_EQ(cached->session().idle_expires_at().seconds(), absl::ToUnixSeconds(kWallNow) + 85);
  EXPECT_EQ(cached->entries().size(), 2u);
}

TEST_F(WriteThroughTest, AnotherChangeBetweenDropsTheSession) {
  WriteA(2, {SetOp("k", "new")});
  ASSERT_TRUE(CachedA().has_value());
  // Version 3 was someone else's change: the result is 4.
  WriteA(4, {SetOp("k", "newer")});
  EXPECT_FALSE(CachedA().has_value());
}

TEST_F(WriteThroughTest, AFailedWriteDropsTheSession) {
  WriteA(2, {SetOp("k", "new")});
  ASSERT_TRUE(CachedA().has_value());
  WriteA(0, {SetOp("k", "newer")});
  EXPECT_FALSE(CachedA().has_value());
}

TEST_F(WriteThroughTest, WithoutACachedCopyNothingIsStored) {
  WriteA(2, {SetOp("k", "new")});
  ASSERT_TRUE(CachedA().has_value());
  cache_.Apply(Changed("a", 2, /*gone=*/true));
  WriteA(3, {SetOp("k", "newer")});
  EXPECT_FALSE(CachedA().has_value());
}

TEST_F(WriteThroughTest, OwnInvalidationDuringTheWriteStillWritesThrough) {
  WriteA(2, {SetOp("k", "new")}, [&] { cache_.Apply(Changed("a", 2)); });
  const std::optional<v1::GetResponse> cached = CachedA();
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->entries().at("k").string_value(), "new");
}

TEST_F(WriteThroughTest, ANewerInvalidationAnEndingOrABreakDuringTheWriteDropsTheSession) {
  const std::function<void()> disturbances[] = {
      [&] { cache_.Apply(Changed("a", 3)); },
      [&] { cache_.Apply(Changed("a", 0, /*gone=*/true)); },
      [&] {
        cache_.Reset();
        cache_.GrantLease(kSteadyNow + milliseconds(100));
      },
  };
  for (const std::function<void()>& disturbance : disturbances) {
    cache_.Apply(Changed("a", 0, /*gone=*/true));
    Fill(Answer("a", 1));
    WriteA(2, {SetOp("k", "new")}, disturbance);
    EXPECT_FALSE(CachedA().has_value());
    // The same write undisturbed is written through.
    Fill(Answer("a", 1));
    WriteA(2, {SetOp("k", "new")});
    EXPECT_TRUE(CachedA().has_value());
  }
}

TEST_F(WriteThroughTest, AWriteReturningANewerVersionKeepsAnOlderWriteOut) {
  WriteA(2, {SetOp("k", "first")});
  ASSERT_TRUE(CachedA().has_value());
  // Two writes of this client overlap; the later one's result comes back first.
  const NearCache::Write older = cache_.BeginWrite("a");
  const NearCache::Write newer = cache_.BeginWrite("a");
  const v1::SessionInfo newer_written = Written("a", 4);
  cache_.EndWrite(newer, &newer_written, {SetOp("k", "newer")});
  const v1::SessionInfo older_written = Written("a", 3);
  cache_.EndWrite(older, &older_written, {SetOp("k", "older")});
  EXPECT_FALSE(CachedA().has_value());
}

TEST(OperationsOfTest, SetRemoveAndClearBecomeCommitOperations) {
  v1::SetRequest set;
  (*set.mutable_entries())["k"] = Text("v");
  const std::vector<v1::Operation> sets = OperationsOf(set);
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].set().key(), "k");
  EXPECT_EQ(sets[0].set().value().string_value(), "v");
  v1::RemoveRequest remove;
  remove.add_keys("a");
  remove.add_keys("b");
  const std::vector<v1::Operation> removes = OperationsOf(remove);
  ASSERT_EQ(removes.size(), 2u);
  EXPECT_EQ(removes[1].remove().key(), "b");
  const std::vector<v1::Operation> clears = OperationsOf(v1::ClearRequest());
  ASSERT_EQ(clears.size(), 1u);
  EXPECT_TRUE(clears[0].has_clear());
}

class SmallNearCacheTest : public NearCacheTest {
 protected:
  SmallNearCacheTest() : NearCacheTest(3 * (NearCache::kEntryOverhead + 300)) {}
};

TEST_F(SmallNearCacheTest, EvictsTheLeastRecentlyUsedBeyondTheByteBound) {
  Fill(Answer("a", 1, 200));
  Fill(Answer("b", 1, 200));
  Fill(Answer("c", 1, 200));
  EXPECT_TRUE(Cached("a"));  // now the most recently used
  Fill(Answer("d", 1, 200));
  EXPECT_FALSE(Cached("b"));
  EXPECT_TRUE(Cached("a"));
  EXPECT_TRUE(Cached("c"));
  EXPECT_TRUE(Cached("d"));
  EXPECT_LE(cache_.Stats(kSteadyNow).bytes, 3 * (NearCache::kEntryOverhead + 300));

  Fill(Answer("huge", 1, 2000));
  EXPECT_FALSE(Cached("huge"));
  EXPECT_TRUE(Cached("d"));
}

TEST_F(NearCacheTest, AnExpiredSessionIsNotServed) {
  Fill(Answer("a", 1));
  EXPECT_TRUE(Cached("a", kWallNow + absl::Seconds(79)));
  EXPECT_FALSE(Cached("a", kWallNow + absl::Seconds(80)));
}

TEST_F(NearCacheTest, RenewalsAreDueAfterAnEighthOfTheIdleTimeoutOneAtATime) {
  Fill(Answer("a", 1));
  EXPECT_FALSE(cache_.Lookup(GetOf("a"), kSteadyNow, kWallNow + absl::Seconds(9))->renew);
  EXPECT_TRUE(cache_.Lookup(GetOf("a"), kSteadyNow, kWallNow + absl::Seconds(10))->renew);
  EXPECT_FALSE(cache_.Lookup(GetOf("a"), kSteadyNow, kWallNow + absl::Seconds(11))->renew);
  v1::GetRequest peek = GetOf("a");
  peek.set_no_renew(true);

  v1::TouchResponse touched;
  *touched.mutable_session() = Answer("a", 1).session();
  *touched.mutable_session()->mutable_last_access_at() = At(kWallNow + absl::Seconds(10));
  *touched.mutable_session()->mutable_idle_expires_at() = At(kWallNow + absl::Seconds(90));
  cache_.RenewalDone("a", touched);
  EXPECT_FALSE(cache_.Lookup(peek, kSteadyNow, kWallNow + absl::Seconds(30))->renew);
  EXPECT_FALSE(cache_.Lookup(GetOf("a"), kSteadyNow, kWallNow + absl::Seconds(19))->renew);
  // The renewal moved the idle expiry.
  EXPECT_TRUE(Cached("a", kWallNow + absl::Seconds(85)));

  cache_.RenewalDone("a", absl::NotFoundError("gone"));
  EXPECT_FALSE(Cached("a"));
}

}  // namespace
}  // namespace sessiond::internal
