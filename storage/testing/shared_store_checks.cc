#include "storage/testing/shared_store_checks.h"

#include <dirent.h>

#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/conflict.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_entries.h"

namespace sessiond::storage::testing {

using ::sessiond::testing::GetAllEntries;
using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Pair;

NewSession TestSession(std::string id, std::vector<Entry> entries) {
  NewSession session;
  session.id = std::move(id);
  session.idle_timeout = absl::Minutes(20);
  session.absolute_timeout = absl::Hours(12);
  session.entries = std::move(entries);
  return session;
}

absl::StatusOr<SessionMeta> SetInt(Store& store, absl::string_view id, std::string key,
                                   int64_t value, std::optional<uint64_t> read_version) {
  std::vector<Mutation> mutations;
  mutations.push_back(Mutation::Set(std::move(key), value));
  Conditions conditions;
  conditions.read_version = read_version;
  return store.Apply(id, std::move(mutations), conditions);
}

size_t OpenDescriptors() {
  size_t count = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (readdir(dir) != nullptr) ++count;
    closedir(dir);
  }
  return count;
}

void ExpectReplicasShareSessionsAndConflictsPerKey(Store& first, Store& second,
                                                   const std::string& id) {
  absl::StatusOr<SessionMeta> created = first.Create(TestSession(id, {{"cart", int64_t{0}}}));
  ASSERT_OK(created);
  EXPECT_THAT(GetAllEntries(second, id),
              IsOkAndHolds(ElementsAre(Pair("cart", Value(int64_t{0})))));

  // Both replicas serve requests that read version 1; they write different keys, then the same.
  EXPECT_OK(SetInt(first, id, "theme", 1, created->version));
  EXPECT_OK(SetInt(second, id, "lang", 2, created->version)) << "different keys both commit";
  EXPECT_OK(SetInt(first, id, "cart", 3, created->version));
  absl::StatusOr<SessionMeta> lost = SetInt(second, id, "cart", 4, created->version);
  EXPECT_THAT(lost, StatusIs(absl::StatusCode::kAborted));
  ASSERT_TRUE(GetConflict(lost.status()).has_value());
  EXPECT_THAT(GetConflict(lost.status())->keys, ElementsAre("cart"));

  EXPECT_THAT(
      GetAllEntries(first, id),
      IsOkAndHolds(ElementsAre(Pair("cart", Value(int64_t{3})), Pair("lang", Value(int64_t{2})),
                               Pair("theme", Value(int64_t{1})))));
  EXPECT_THAT(second.Delete(id, std::nullopt, ""), IsOkAndHolds(true));
  EXPECT_THAT(GetAllEntries(first, id), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace sessiond::storage::testing
