// The handlers over an in-process channel against a FaultInjectingStore wrapping a memory store:
// every error a store can return reaches the caller as its documented gRPC code with the store's
// message, a failed call changes nothing, a slow store meets client deadlines, and an overloaded
// executor, or a store that groups commits, refuses work instead of queueing it without bound.
#include "service/session_service.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "sessiond/v1/session.grpc.pb.h"
#include "storage/memory_store.h"
#include "storage/store_wrapper.h"
#include "storage/testing/fault_injecting_store.h"
#include "tests/support/status_matchers.h"

namespace sessiond::service {
namespace {

using storage::StoreMethod;
using ::testing::HasSubstr;
using ::testing::Values;

// A server with the session service on `store` (and `executor`, may be null), reached in process.
class InProcessServer {
 public:
  InProcessServer(storage::Store* store, BlockingExecutor* executor) : service_(ServiceLimits()) {
    service_.AttachStore(store, executor);
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::SessionService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~InProcessServer() { server_->Shutdown(); }

  v1::SessionService::Stub& stub() { return *stub_; }

 private:
  SessionServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::SessionService::Stub> stub_;
};

// Calls `method` on `stub` with a 10 s deadline and returns the status.
template <typename Request, typename Response>
grpc::Status Call(grpc::Status (v1::SessionService::Stub::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*),
                  v1::SessionService::Stub& stub, const Request& request,
                  absl::Duration deadline = absl::Seconds(10)) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  Response response;
  return (stub.*method)(&context, request, &response);
}

// A store that groups commits (Store::GroupsApplies) and holds each one unanswered until
// Release(), as a durable store's committer does while its write is in flight.
class HeldCommitsStore : public storage::StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;

  bool GroupsApplies() const override { return true; }
  void ApplyGrouped(absl::string_view id, std::vector<storage::Mutation> mutations,
                    const storage::Conditions& conditions, ApplyDone done) override {
    absl::MutexLock lock(&mu_);
    held_.push_back([this, id = std::string(id), mutations = std::move(mutations), conditions,
                     done = std::move(done)]() mutable {
      std::move(done)(Apply(id, std::move(mutations), conditions));
    });
  }

  // Waits up to 10 s until `count` commits are held; whether they are.
  bool AwaitHeld(size_t count) {
    absl::MutexLock lock(&mu_);
    awaited_ = count;
    return mu_.AwaitWithTimeout(absl::Condition(this, &HeldCommitsStore::HoldsAwaited),
                                absl::Seconds(10));
  }

  // Applies and answers every held commit.
  void Release() {
    std::vector<absl::AnyInvocable<void() &&>> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    for (auto& commit : held) std::move(commit)();
  }

 private:
  bool HoldsAwaited() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return held_.size() >= awaited_; }

  mutable absl::Mutex mu_;
  std::vector<absl::AnyInvocable<void() &&>> held_ ABSL_GUARDED_BY(mu_);
  size_t awaited_ ABSL_GUARDED_BY(mu_) = 0;
};

class SessionServiceTest : public ::testing::Test {
 protected:
  SessionServiceTest() : server_(&faults_, nullptr) {}

  // A live session holding {"a": 1}; its id.
  std::string NewSession() {
    v1::CreateSessionRequest request;
    (*request.mutable_entries())["a"].set_int64_value(1);
    grpc::ClientContext context;
    v1::CreateSessionResponse response;
    EXPECT_OK(server_.stub().CreateSession(&context, request, &response));
    return response.session().id();
  }

  // Every rpc against session `id`, each with the Store method it calls, as (method, status).
  std::vector<std::pair<StoreMethod, grpc::Status>> CallEveryRpc(const std::string& id) {
    v1::SessionService::Stub& stub = server_.stub();
    v1::CreateSessionRequest create;
    v1::GetRequest get;
    get.set_id(id);
    v1::SetRequest set;
    set.set_id(id);
    (*set.mutable_entries())["a"].set_int64_value(2);
    v1::RemoveRequest remove;
    remove.set_id(id);
    remove.add_keys("a");
    v1::ClearRequest clear;
    clear.set_id(id);
    v1::CommitRequest commit;
    commit.set_id(id);
    commit.add_ops()->mutable_clear();
    v1::TouchRequest touch;
    touch.set_id(id);
    v1::DeleteRequest del;
    del.set_id(id);
    v1::RotateIdRequest rotate;
    rotate.set_id(id);
    using Stub = v1::SessionService::Stub;
    return {{StoreMethod::kCreate, Call(&Stub::CreateSession, stub, create)},
            {StoreMethod::kGet, Call(&Stub::Get, stub, get)},
            {StoreMethod::kApply, Call(&Stub::Set, stub, set)},
            {StoreMethod::kApply, Call(&Stub::Remove, stub, remove)},
            {StoreMethod::kApply, Call(&Stub::Clear, stub, clear)},
            {StoreMethod::kApply, Call(&Stub::Commit, stub, commit)},
            {StoreMethod::kTouch, Call(&Stub::Touch, stub, touch)},
            {StoreMethod::kDelete, Call(&Stub::Delete, stub, del)},
            {StoreMethod::kRotate, Call(&Stub::RotateId, stub, rotate)}};
  }

  std::unique_ptr<storage::Store> memory_ = storage::NewMemoryStore({});
  storage::FaultInjectingStore faults_{memory_.get()};
  InProcessServer server_;
};

class StoreErrorTest : public SessionServiceTest,
                       public ::testing::WithParamInterface<absl::StatusCode> {};

TEST_P(StoreErrorTest, EveryRpcPassesTheStoreErrorOnWithItsCodeAndMessage) {
  const std::string id = NewSession();
  const absl::Status error(GetParam(), "injected store failure");
  for (StoreMethod method : {StoreMethod::kCreate, StoreMethod::kGet, StoreMethod::kApply,
                             StoreMethod::kTouch, StoreMethod::kDelete, StoreMethod::kRotate}) {
    faults_.FailWith(method, error);
  }
  for (const auto& [method, status] : CallEveryRpc(id)) {
    EXPECT_EQ(static_cast<int>(status.error_code()), static_cast<int>(GetParam()))
        << "store method " << static_cast<int>(method) << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("injected store failure"));
  }
  // Nothing reached the store, so the session is as it was.
  faults_.Reset();
  v1::GetRequest get;
  get.set_id(id);
  grpc::ClientContext context;
  v1::GetResponse response;
  ASSERT_OK(server_.stub().Get(&context, get, &response));
  EXPECT_EQ(response.session().version(), 1u);
  EXPECT_EQ(response.entries().at("a").int64_value(), 1);
}

INSTANTIATE_TEST_SUITE_P(Codes, StoreErrorTest,
                         Values(absl::StatusCode::kUnavailable, absl::StatusCode::kDataLoss,
                                absl::StatusCode::kInternal, absl::StatusCode::kResourceExhausted),
                         [](const ::testing::TestParamInfo<absl::StatusCode>& info) {
                           return absl::StatusCodeToString(info.param);
                         });

TEST_F(SessionServiceTest, AnIdCollisionOnCreateIsTheServersFaultNotTheCallers) {
  const std::string id = NewSession();
  faults_.FailWith(StoreMethod::kCreate, absl::AlreadyExistsError("taken"), 1);
  faults_.FailWith(StoreMethod::kRotate, absl::AlreadyExistsError("taken"), 1);
  for (const auto& [method, status] : CallEveryRpc(id)) {
    if (method == StoreMethod::kCreate || method == StoreMethod::kRotate) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << status.error_message();
      EXPECT_THAT(status.error_message(), HasSubstr("random source"));
    }
  }
}

TEST_F(SessionServiceTest, ASlowStoreMeetsTheCallersDeadlineAndTheServerCarriesOn) {
  const std::string id = NewSession();
  faults_.Delay(StoreMethod::kGet, absl::Milliseconds(300));
  v1::GetRequest get;
  get.set_id(id);
  EXPECT_EQ(Call(&v1::SessionService::Stub::Get, server_.stub(), get, absl::Milliseconds(50))
                .error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  faults_.Reset();
  EXPECT_OK(Call(&v1::SessionService::Stub::Get, server_.stub(), get));
}

TEST_F(SessionServiceTest, AnOverloadedExecutorRefusesWorkSayingSo) {
  // One thread and room for one waiting request; the store takes 300 ms per Get.
  BlockingExecutor executor(1, 1);
  InProcessServer blocking(&faults_, &executor);
  const std::string id = NewSession();
  faults_.Delay(StoreMethod::kGet, absl::Milliseconds(300));

  constexpr int kCalls = 5;
  v1::GetRequest get;
  get.set_id(id);
  grpc::ClientContext contexts[kCalls];
  v1::GetResponse responses[kCalls];
  grpc::Status statuses[kCalls];
  absl::BlockingCounter done(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    contexts[i].set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    blocking.stub().async()->Get(&contexts[i], &get, &responses[i], [&, i](grpc::Status status) {
      statuses[i] = std::move(status);
      done.DecrementCount();
    });
  }
  done.Wait();
  int ok = 0, refused = 0;
  for (const grpc::Status& status : statuses) {
    if (status.ok()) ++ok;
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++refused;
      EXPECT_THAT(status.error_message(), HasSubstr("overloaded"));
      EXPECT_THAT(status.error_message(), HasSubstr("--max_queued_requests"));
    }
  }
  // At most one runs and one waits while the others arrive.
  EXPECT_GE(ok, 1);
  EXPECT_GE(refused, kCalls - 2);
  EXPECT_EQ(ok + refused, kCalls);
}

TEST_F(SessionServiceTest, CommitsWaitingInAGroupingStoreAreBoundedByMaxQueuedRequests) {
  // Room for two waiting requests; the store answers no commit until released.
  HeldCommitsStore held(memory_.get());
  BlockingExecutor executor(1, 2);
  InProcessServer grouping(&held, &executor);
  v1::CommitRequest commit;
  commit.set_id(NewSession());
  v1::Operation::SetOp* set = commit.add_ops()->mutable_set();
  set->set_key("a");
  set->mutable_value()->set_int64_value(2);

  grpc::ClientContext contexts[2];
  v1::CommitResponse responses[2];
  grpc::Status statuses[2];
  absl::BlockingCounter answered(2);
  for (int i = 0; i < 2; ++i) {
    contexts[i].set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    grouping.stub().async()->Commit(&contexts[i], &commit, &responses[i],
                                    [&, i](grpc::Status status) {
                                      statuses[i] = std::move(status);
                                      answered.DecrementCount();
                                    });
  }
  ASSERT_TRUE(held.AwaitHeld(2));
  const grpc::Status refused = Call(&v1::SessionService::Stub::Commit, grouping.stub(), commit);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("2 requests are already waiting"));
  EXPECT_THAT(refused.error_message(), HasSubstr("--max_queued_requests"));

  held.Release();
  answered.Wait();
  EXPECT_OK(statuses[0]);
  EXPECT_OK(statuses[1]);
  // Answered commits free their places.
  grpc::ClientContext context;
  v1::CommitResponse response;
  grpc::Status after;
  absl::Notification done;
  grouping.stub().async()->Commit(&context, &commit, &response, [&](grpc::Status status) {
    after = std::move(status);
    done.Notify();
  });
  ASSERT_TRUE(held.AwaitHeld(1));
  held.Release();
  done.WaitForNotification();
  EXPECT_OK(after);
}

}  // namespace
}  // namespace sessiond::service
