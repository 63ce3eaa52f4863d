// Bad input against the real server: each gets the documented code and a message naming the
// field, nothing is written, and the server keeps serving.
#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "sessiond/session.h"
#include "sessiond/status.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/values.h"

namespace sessiond {
namespace {

using ::sessiond::testing::IsOk;
using ::sessiond::testing::SessiondProcess;
using ::sessiond::testing::StatusIs;
using ::sessiond::testing::Text;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::Property;

// A status whose code is `code` and whose message contains `text`.
::testing::Matcher<absl::Status> Error(absl::StatusCode code, const std::string& text) {
  return AllOf(Property(&absl::Status::code, code),
               Property(&absl::Status::message, HasSubstr(text)));
}

class BadInputE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SessiondProcess>> server = SessiondProcess::Start(
        {"--drain_grace=0s", "--max_keys=4", "--max_value_bytes=1000", "--max_session_bytes=2500",
         "--max_message_bytes=65536", "--max_idle_timeout=1h"});
    ASSERT_OK(server);
    server_ = *std::move(server);
    client_ = std::make_unique<Client>(server_->NewChannel());
    v1::CreateSessionRequest create;
    (*create.mutable_entries())["kept"] = Text("original");
    absl::StatusOr<v1::CreateSessionResponse> created = client_->CreateSession(create);
    ASSERT_OK(created);
    id_ = created->session().id();
  }

  void TearDown() override {
    // Whatever was sent, the server is up and the session is exactly as created.
    Session session(*client_, id_);
    EXPECT_THAT(session.Keys(), ::testing::ElementsAre("kept"));
    EXPECT_THAT(session.GetString("kept"), Optional(std::string("original")));
    EXPECT_EQ(session.Info().version(), 1u);
  }

  absl::Status SetEntries(const std::map<std::string, v1::Value>& entries) {
    v1::SetRequest set;
    set.set_id(id_);
    for (const auto& [key, value] : entries) (*set.mutable_entries())[key] = value;
    return client_->Set(set).status();
  }

  std::unique_ptr<SessiondProcess> server_;
  std::unique_ptr<Client> client_;
  std::string id_;
};

TEST_F(BadInputE2eTest, MalformedIdsAreInvalidAndUnknownOnesNotFound) {
  v1::GetRequest get;
  EXPECT_THAT(client_->Get(get).status(), Error(absl::StatusCode::kInvalidArgument, "id"));
  get.set_id(id_ + "A");
  EXPECT_THAT(client_->Get(get).status(), Error(absl::StatusCode::kInvalidArgument, "id"));
  get.set_id(std::string(31, 'A') + "!");
  EXPECT_THAT(client_->Get(get).status(), Error(absl::StatusCode::kInvalidArgument, "id"));
  get.set_id(std::string(32, 'A'));
  EXPECT_THAT(client_->Get(get), StatusIs(absl::StatusCode::kNotFound));
  v1::DeleteRequest del;
  del.set_id("not an id");
  EXPECT_THAT(client_->Delete(del).status(), Error(absl::StatusCode::kInvalidArgument, "id"));
}

TEST_F(BadInputE2eTest, EmptyAndOverlongKeysAreInvalid) {
  EXPECT_THAT(SetEntries({{"", Text("x")}}), Error(absl::StatusCode::kInvalidArgument, "entries"));
  EXPECT_THAT(SetEntries({{std::string(257, 'k'), Text("x")}, {"fine", Text("y")}}),
              Error(absl::StatusCode::kInvalidArgument, "256"));
  v1::GetRequest get;
  get.set_id(id_);
  get.add_keys("ok");
  get.add_keys("");
  EXPECT_THAT(client_->Get(get).status(), Error(absl::StatusCode::kInvalidArgument, "keys[1]"));
  v1::CommitRequest commit;
  commit.set_id(id_);
  commit.add_ops()->mutable_remove()->set_key(std::string(300, 'r'));
  EXPECT_THAT(client_->Commit(commit).status(),
              Error(absl::StatusCode::kInvalidArgument, "ops[0].remove.key"));
}

TEST_F(BadInputE2eTest, AKeyThatIsNotUtf8IsInvalidAndNamed) {
  // No protobuf runtime will encode such a key, so the request is written by hand:
  // SetRequest{id: id_, entries: {"\xff": {string_value: "x"}}}.
  v1::SetRequest valid;
  valid.set_id(id_);
  std::string wire = valid.SerializeAsString();
  const std::string value = "\x0a\x01x";                    // Value.string_value = "x"
  const std::string entry = std::string("\x0a\x01\xff", 3)  // key
                            + "\x12" + static_cast<char>(value.size()) + value;
  wire += "\x12" + std::string(1, static_cast<char>(entry.size())) + entry;

  grpc::GenericStub stub(server_->NewChannel());
  grpc::Slice slice(wire);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext context;
  std::mutex mu;
  std::condition_variable done_cv;
  std::optional<grpc::Status> result;
  stub.UnaryCall(&context, "/sessiond.v1.SessionService/Set", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status status) {
                   std::lock_guard lock(mu);
                   result = status;
                   done_cv.notify_all();
                 });
  std::unique_lock lock(mu);
  done_cv.wait(lock, [&] { return result.has_value(); });
  EXPECT_EQ(result->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(result->error_message(), HasSubstr("entries[\"\\"));
  EXPECT_THAT(result->error_message(), HasSubstr("not valid UTF-8"));
}

TEST_F(BadInputE2eTest, LimitsRejectTheWholeRequest) {
  EXPECT_THAT(SetEntries({{"a", Text("small")}, {"b", Text(std::string(1001, 'v'))}}),
              Error(absl::StatusCode::kResourceExhausted, "1000"));
  EXPECT_THAT(SetEntries({{"a", Text("1")}, {"b", Text("2")}, {"c", Text("3")}, {"d", Text("4")}}),
              Error(absl::StatusCode::kResourceExhausted, "keys"))
      << "five keys in a session of at most four";
  EXPECT_THAT(SetEntries({{"a", Text(std::string(900, 'a'))},
                          {"b", Text(std::string(900, 'b'))},
                          {"c", Text(std::string(900, 'c'))}}),
              Error(absl::StatusCode::kResourceExhausted, "max_session_bytes"));
  v1::SetRequest missing_value;
  missing_value.set_id(id_);
  (*missing_value.mutable_entries())["a"];
  EXPECT_THAT(client_->Set(missing_value).status(), Error(absl::StatusCode::kInvalidArgument, "a"));
}

TEST_F(BadInputE2eTest, RepeatedFieldsOverTwiceMaxKeysAreInvalid) {
  // With --max_keys=4 a request may name at most 8 keys or carry at most 8 operations, so one
  // request cannot hold a shard's lock for long; 9 copies of one key are refused like 9 keys.
  constexpr int kOverTheCap = 9;
  v1::GetRequest get;
  get.set_id(id_);
  for (int i = 0; i < kOverTheCap; ++i) get.add_keys("kept");
  EXPECT_THAT(client_->Get(get).status(), Error(absl::StatusCode::kInvalidArgument, "keys"));
  v1::RemoveRequest remove;
  remove.set_id(id_);
  *remove.mutable_keys() = get.keys();
  EXPECT_THAT(client_->Remove(remove).status(), Error(absl::StatusCode::kInvalidArgument, "keys"));
  v1::CommitRequest commit;
  commit.set_id(id_);
  for (int i = 0; i < kOverTheCap; ++i) commit.add_ops()->mutable_remove()->set_key("kept");
  EXPECT_THAT(client_->Commit(commit).status(), Error(absl::StatusCode::kInvalidArgument, "ops"));
  get.mutable_keys()->RemoveLast();
  EXPECT_OK(client_->Get(get).status()) << "8 copies of a key are within the cap";
}

TEST_F(BadInputE2eTest, ARequestIdOver64BytesIsInvalid) {
  v1::SetRequest set;
  set.set_id(id_);
  (*set.mutable_entries())["kept"] = Text("changed");
  set.set_request_id(std::string(65, 'r'));
  EXPECT_THAT(client_->Set(set).status(), Error(absl::StatusCode::kInvalidArgument, "request_id"));
  v1::DeleteRequest del;
  del.set_id(id_);
  del.set_request_id(std::string(65, 'r'));
  EXPECT_THAT(client_->Delete(del).status(),
              Error(absl::StatusCode::kInvalidArgument, "request_id"));
}

TEST_F(BadInputE2eTest, ARequestOverTheMessageLimitIsResourceExhausted) {
  // 60 KiB values are within no limit of sessiond's but two of them pass the 64 KiB message limit.
  EXPECT_THAT(
      SetEntries({{"a", Text(std::string(60'000, 'a'))}, {"b", Text(std::string(60'000, 'b'))}}),
      StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(BadInputE2eTest, BadTimeoutsAreInvalid) {
  v1::CreateSessionRequest create;
  create.mutable_idle_timeout()->set_seconds(-1);
  EXPECT_THAT(client_->CreateSession(create).status(),
              Error(absl::StatusCode::kInvalidArgument, "idle_timeout"));
  create.mutable_idle_timeout()->set_seconds(7200);
  EXPECT_THAT(client_->CreateSession(create).status(),
              Error(absl::StatusCode::kInvalidArgument, "idle_timeout"));
  create.clear_idle_timeout();
  create.mutable_absolute_timeout()->set_seconds(13 * 3600);
  EXPECT_THAT(client_->CreateSession(create).status(),
              Error(absl::StatusCode::kInvalidArgument, "absolute_timeout"));
}

TEST_F(BadInputE2eTest, AStaleIfVersionIsAbortedWithTheCurrentVersion) {
  v1::SetRequest set;
  set.set_id(id_);
  (*set.mutable_entries())["kept"] = Text("changed");
  set.set_if_version(7);
  const absl::Status status = client_->Set(set).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(GetConflictDetails(status),
              Optional(Property(&v1::ConflictDetails::current_version, 1u)));
}

TEST_F(BadInputE2eTest, EmptyRequestsAreInvalid) {
  EXPECT_THAT(SetEntries({}), Error(absl::StatusCode::kInvalidArgument, "entries"));
  v1::CommitRequest commit;
  commit.set_id(id_);
  EXPECT_THAT(client_->Commit(commit).status(), Error(absl::StatusCode::kInvalidArgument, "ops"));
  commit.add_ops();
  EXPECT_THAT(client_->Commit(commit).status(),
              Error(absl::StatusCode::kInvalidArgument, "ops[0]"));
}

TEST(MemoryCapE2eTest, AFullStoreRejectsNewSessionsAndKeepsLiveOnes) {
  absl::StatusOr<std::unique_ptr<SessiondProcess>> server =
      SessiondProcess::Start({"--drain_grace=0s", "--max_memory_bytes=200000"});
  ASSERT_OK(server);
  Client client((*server)->NewChannel());
  v1::CreateSessionRequest create;
  (*create.mutable_entries())["payload"] = Text(std::string(4000, 'p'));
  std::vector<std::string> ids;
  absl::Status status;
  while (ids.size() < 1000) {
    absl::StatusOr<v1::CreateSessionResponse> created = client.CreateSession(create);
    status = created.status();
    if (!created.ok()) break;
    ids.push_back(created->session().id());
  }
  EXPECT_THAT(status, Error(absl::StatusCode::kResourceExhausted, "max_memory_bytes"));
  EXPECT_GT(ids.size(), 20u);
  for (const std::string& id : ids) {
    v1::TouchRequest touch;
    touch.set_id(id);
    ASSERT_OK(client.Touch(touch)) << "a live session was evicted";
  }
}

}  // namespace
}  // namespace sessiond
