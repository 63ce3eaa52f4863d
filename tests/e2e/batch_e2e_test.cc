// The Batch rpc through the real binary: each operation ends exactly as its own call would (code,
// message, details), results come back in order, only a malformed batch is refused as a whole,
// request_id retries apply once across batches, and a blocking store (RocksDB, --durability=sync)
// runs a batch on its executor's threads. The C++ client's automatic batching is exercised by every
// other e2e test (it is on by default) and by metrics_e2e_test.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "sessiond/status.h"
#include "tests/support/server_test.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/values.h"

namespace sessiond {
namespace {

using ::sessiond::testing::Int;
using ::sessiond::testing::StatusIs;
using ::testing::HasSubstr;

class BatchE2eTest : public testing::ServerTest {
 protected:
  // A client that sends every call alone, to compare a batch with.
  Client Unbatched() {
    ClientOptions options;
    options.batching = false;
    return Client(server_->NewChannel(), options);
  }

  std::string NewSession() {
    absl::StatusOr<v1::CreateSessionResponse> created = client_->CreateSession({});
    EXPECT_OK(created);
    return created.ok() ? created->session().id() : "";
  }

  static v1::CommitRequest SetCounter(const std::string& id, int64_t value) {
    v1::CommitRequest commit;
    commit.set_id(id);
    v1::Operation* op = commit.add_ops();
    op->mutable_set()->set_key("counter");
    *op->mutable_set()->mutable_value() = Int(value);
    return commit;
  }
};

// Code, message and details of two outcomes, for comparison.
std::string Describe(const absl::Status& status) {
  std::string text = status.ToString(absl::StatusToStringMode::kWithNoExtraData);
  if (auto conflict = GetConflictDetails(status)) {
    absl::StrAppend(&text, " conflict ", conflict->ShortDebugString());
  }
  if (auto gone = GetNotFoundDetails(status)) {
    absl::StrAppend(&text, " reason ", v1::NotFoundDetails::Reason_Name(gone->reason()));
  }
  return text;
}

TEST_F(BatchE2eTest, EachOperationEndsExactlyAsItsOwnCallWould) {
  StartServer();
  Client unbatched = Unbatched();
  const std::string live = NewSession();
  const std::string deleted = NewSession();
  v1::DeleteRequest logout;
  logout.set_id(deleted);
  ASSERT_OK(unbatched.Delete(logout));

  v1::GetRequest get_live, get_deleted, get_malformed;
  get_live.set_id(live);
  get_deleted.set_id(deleted);
  get_malformed.set_id("not-an-id");
  v1::CommitRequest stale = SetCounter(live, 1);
  stale.set_if_version(7);
  v1::ListSessionsRequest list_without_principal;

  v1::BatchRequest batch;
  *batch.add_operations()->mutable_get() = get_deleted;
  *batch.add_operations()->mutable_commit() = stale;
  *batch.add_operations()->mutable_get() = get_malformed;
  *batch.add_operations()->mutable_list_sessions() = list_without_principal;
  *batch.add_operations()->mutable_get() = get_live;
  absl::StatusOr<v1::BatchResponse> response = unbatched.Batch(batch);
  ASSERT_OK(response);
  ASSERT_EQ(response->results_size(), 5);

  const std::vector<absl::Status> alone = {unbatched.Get(get_deleted).status(),
                                           unbatched.Commit(stale).status(),
                                           unbatched.Get(get_malformed).status(),
                                           unbatched.ListSessions(list_without_principal).status()};
  for (size_t i = 0; i < alone.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_FALSE(alone[i].ok());
    EXPECT_EQ(Describe(FromBatchResult(response->results(static_cast<int>(i)))),
              Describe(alone[i]));
  }
  EXPECT_EQ(GetNotFoundDetails(FromBatchResult(response->results(0)))->reason(),
            v1::NotFoundDetails::DELETED);
  EXPECT_EQ(GetConflictDetails(FromBatchResult(response->results(1)))->current_version(), 1);

  const v1::BatchResult& ok = response->results(4);
  EXPECT_EQ(ok.code(), 0);
  EXPECT_TRUE(ok.message().empty());
  ASSERT_TRUE(ok.has_get());
  EXPECT_EQ(ok.get().session().id(), live);
  EXPECT_EQ(ok.get().session().version(), 1);
}

TEST_F(BatchE2eTest, OnlyAMalformedBatchIsRefusedAsAWhole) {
  StartServer({"--max_batch_operations=3"});
  Client unbatched = Unbatched();
  EXPECT_THAT(unbatched.Batch({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("operations: empty")));

  v1::BatchRequest four;
  for (int i = 0; i < 4; ++i) four.add_operations()->mutable_get()->set_id(NewSession());
  EXPECT_THAT(unbatched.Batch(four),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("operations: 4; the limit is 3 (--max_batch_operations)")));

  v1::BatchRequest hole;
  hole.add_operations()->mutable_get()->set_id(NewSession());
  hole.add_operations();
  EXPECT_THAT(unbatched.Batch(hole),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("operations[1]: no request set; set one of create_session")));
}

TEST_F(BatchE2eTest, ARetriedCommitAppliesOnceAcrossBatches) {
  StartServer();
  Client unbatched = Unbatched();
  const std::string id = NewSession();
  v1::CommitRequest commit = SetCounter(id, 5);
  commit.set_request_id("retry-of-one-commit");
  v1::BatchRequest batch;
  *batch.add_operations()->mutable_commit() = commit;
  batch.add_operations()->mutable_touch()->set_id(id);

  absl::StatusOr<v1::BatchResponse> first = unbatched.Batch(batch);
  absl::StatusOr<v1::BatchResponse> retry = unbatched.Batch(batch);
  ASSERT_OK(first);
  ASSERT_OK(retry);
  EXPECT_EQ(first->results(0).commit().session().version(), 2);
  EXPECT_EQ(retry->results(0).commit().session().version(), 2);
  v1::GetRequest get;
  get.set_id(id);
  EXPECT_EQ(unbatched.Get(get)->session().version(), 2);
}

TEST_F(BatchE2eTest, ABlockingStoreRunsEveryOperationOfABatch) {
  testing::TempDir data_dir;
  StartServer(
      {"--store=rocksdb", absl::StrCat("--data_dir=", data_dir.path()), "--durability=sync"});
  Client unbatched = Unbatched();
  std::vector<std::string> ids;
  v1::BatchRequest batch;
  for (int i = 0; i < 64; ++i) {
    ids.push_back(NewSession());
    *batch.add_operations()->mutable_commit() = SetCounter(ids.back(), i);
  }
  absl::StatusOr<v1::BatchResponse> response = unbatched.Batch(batch);
  ASSERT_OK(response);
  ASSERT_EQ(response->results_size(), 64);
  for (int i = 0; i < 64; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(response->results(i).code(), 0) << response->results(i).message();
    EXPECT_EQ(response->results(i).commit().session().id(), ids[i]);
    v1::GetRequest get;
    get.set_id(ids[i]);
    absl::StatusOr<v1::GetResponse> read = unbatched.Get(get);
    ASSERT_OK(read);
    EXPECT_EQ(read->entries().at("counter").int64_value(), i);
  }
}

}  // namespace
}  // namespace sessiond
