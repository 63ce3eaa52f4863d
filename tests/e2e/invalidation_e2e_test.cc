// The server's side of the near cache through the real binary: what a WatchInvalidations stream
// carries (the hash and version of every change to a session's entries or id, every ending; no
// creations, reads or touches), when it grants a lease, how it refuses bad pings, and that a
// draining server ends it. The clients' caches on top of it are tested in each client's suite and
// in near_cache_e2e_test.
#include <signal.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "tests/support/invalidation_stream.h"
#include "tests/support/server_test.h"
#include "tests/support/status_matchers.h"
#include "tests/support/values.h"

namespace sessiond {
namespace {

using ::sessiond::testing::IdHashOf;
using ::sessiond::testing::InvalidationStream;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// An Invalidation as the test expects it.
struct Expected {
  std::string id;
  uint64_t version;
  bool gone;
};

MATCHER_P(Is, expected, "") {
  return arg.id_hash() == IdHashOf(expected.id) && arg.version() == expected.version &&
         arg.gone() == expected.gone;
}

// The most rounds of 100 batches of 256 Sets (about 15 bytes of invalidations each) to fill the
// buffers of a client that reads nothing (about 8 MB were needed on loopback).
constexpr int kMaxStallingRounds = 50;

class InvalidationE2eTest : public testing::ServerTest {
 protected:
  void SetUp() override { StartServer({"--sweep_interval=100ms"}); }

  std::string Create(absl::Duration idle_timeout = absl::Minutes(10)) {
    v1::CreateSessionRequest create;
    create.mutable_idle_timeout()->set_seconds(absl::ToInt64Seconds(idle_timeout));
    create.set_principal("alice");
    absl::StatusOr<v1::CreateSessionResponse> created = client_->CreateSession(create);
    EXPECT_OK(created);
    return created.ok() ? created->session().id() : "";
  }

  void Set(const std::string& id, const std::string& key) {
    v1::SetRequest set;
    set.set_id(id);
    (*set.mutable_entries())[key] = testing::Text("value");
    EXPECT_OK(client_->Set(set));
  }

  template <typename Request>
  static Request WithId(const std::string& id) {
    Request request;
    request.set_id(id);
    return request;
  }
};

TEST_F(InvalidationE2eTest, EachPingIsGrantedWithTheLease) {
  InvalidationStream stream(server_->NewChannel());
  for (uint64_t ping : {1, 2, 7}) {
    InvalidationStream::Granted granted;
    ASSERT_OK(stream.PingAndRead(ping, &granted));
    EXPECT_EQ(granted.grant.granted_ping(), ping);
    EXPECT_EQ(granted.grant.lease().nanos(), 100'000'000);  // --near_cache_lease's default
    EXPECT_THAT(granted.invalidations, IsEmpty());
  }
}

TEST_F(InvalidationE2eTest, EveryChangeToEntriesOrIdIsSentAsItsHashAndVersion) {
  InvalidationStream stream(server_->NewChannel());
  InvalidationStream::Granted started;
  ASSERT_OK(stream.PingAndRead(1, &started));

  const std::string id = Create();                          // not sent: nothing can be cached yet
  Set(id, "cart");                                          // version 2
  EXPECT_OK(client_->Get(WithId<v1::GetRequest>(id)));      // reads are not sent
  EXPECT_OK(client_->Touch(WithId<v1::TouchRequest>(id)));  // nor renewals
  absl::StatusOr<v1::RotateIdResponse> rotated = client_->RotateId(WithId<v1::RotateIdRequest>(id));
  ASSERT_OK(rotated);
  const std::string new_id = rotated->session().id();
  Set(new_id, "flash");
  EXPECT_OK(client_->Delete(WithId<v1::DeleteRequest>(new_id)));

  InvalidationStream::Granted granted;
  ASSERT_OK(stream.PingAndRead(2, &granted));
  EXPECT_THAT(granted.invalidations,
              ElementsAre(Is(Expected{id, 2, false}), Is(Expected{id, 3, true}),
                          Is(Expected{new_id, 4, false}), Is(Expected{new_id, 4, true})));
}

TEST_F(InvalidationE2eTest, ABatchsChangesAreSentTogetherInOneMessage) {
  InvalidationStream stream(server_->NewChannel());
  InvalidationStream::Granted started;
  ASSERT_OK(stream.PingAndRead(1, &started));
  std::vector<std::string> ids;
  v1::BatchRequest batch;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(Create());
    v1::SetRequest* set = batch.add_operations()->mutable_set();
    set->set_id(ids.back());
    (*set->mutable_entries())["cart"] = testing::Text("value");
  }
  absl::StatusOr<v1::BatchResponse> applied = client_->Batch(batch);
  ASSERT_OK(applied);
  for (const v1::BatchResult& result : applied->results()) EXPECT_EQ(result.code(), 0);

  InvalidationStream::Granted granted;
  ASSERT_OK(stream.PingAndRead(2, &granted));
  ASSERT_EQ(granted.invalidations.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_THAT(granted.invalidations[i], Is(Expected{ids[i], 2, false}));
  }
  // One write for the whole batch, not one per operation.
  EXPECT_EQ(granted.invalidation_messages, 1);
}

TEST_F(InvalidationE2eTest, RevocationsAndExpiriesAreSentAsGone) {
  InvalidationStream stream(server_->NewChannel());
  InvalidationStream::Granted started;
  ASSERT_OK(stream.PingAndRead(1, &started));
  const std::string laptop = Create();
  const std::string phone = Create();
  v1::RevokeSessionsRequest revoke;
  revoke.set_principal("alice");
  ASSERT_OK(client_->RevokeSessions(revoke));
  const std::string idle = Create(absl::Seconds(1));

  std::vector<v1::Invalidation> seen;
  uint64_t ping = 2;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (seen.size() < 3 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(100));
    InvalidationStream::Granted granted;
    ASSERT_OK(stream.PingAndRead(ping++, &granted));
    seen.insert(seen.end(), granted.invalidations.begin(), granted.invalidations.end());
  }
  EXPECT_THAT(seen, ::testing::UnorderedElementsAre(Is(Expected{laptop, 1, true}),
                                                    Is(Expected{phone, 1, true}),
                                                    Is(Expected{idle, 1, true})));
}

TEST_F(InvalidationE2eTest, APingThatDoesNotGrowEndsTheStreamNamingIt) {
  {
    InvalidationStream stream(server_->NewChannel());
    InvalidationStream::Granted granted;
    EXPECT_THAT(stream.PingAndRead(0, &granted),
                testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("ping: 0; pings start at 1")));
  }
  InvalidationStream stream(server_->NewChannel());
  InvalidationStream::Granted granted;
  ASSERT_OK(stream.PingAndRead(5, &granted));
  EXPECT_THAT(stream.PingAndRead(5, &granted),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("ping: 5 is not above the previous ping 5")));
}

TEST_F(InvalidationE2eTest, TheLeaseComesFromTheFlag) {
  StartServer({"--near_cache_lease=250ms"});
  InvalidationStream stream(server_->NewChannel());
  InvalidationStream::Granted granted;
  ASSERT_OK(stream.PingAndRead(1, &granted));
  EXPECT_EQ(granted.grant.lease().nanos(), 250'000'000);
}

TEST_F(InvalidationE2eTest, ADeleteWaitsAtMostALeaseForAStreamThatTakesNothingAndEndsIt) {
  InvalidationStream stalled(server_->NewChannel());
  InvalidationStream::Granted granted;
  ASSERT_OK(stalled.PingAndRead(1, &granted));
  // The stalled client reads nothing more. Invalidations fill every buffer between the server and
  // it (gRPC's flow-control windows, the sockets'; megabytes) until the server's writes pend: from
  // then on a Delete waits for the stream, one lease at most, and ends it.
  const std::string id = Create();
  v1::BatchRequest batch;
  for (int i = 0; i < 256; ++i) {
    v1::SetRequest* set = batch.add_operations()->mutable_set();
    set->set_id(id);
    (*set->mutable_entries())["n"] = testing::Text(std::to_string(i));
  }
  absl::Duration waited;
  for (int round = 0; round < kMaxStallingRounds && waited < absl::Milliseconds(90); ++round) {
    for (int i = 0; i < 100; ++i) ASSERT_OK(client_->Batch(batch));
    const std::string probe = Create();
    const absl::Time start = absl::Now();
    ASSERT_OK(client_->Delete(WithId<v1::DeleteRequest>(probe)));
    waited = absl::Now() - start;
  }
  EXPECT_GE(waited, absl::Milliseconds(90)) << "the stream never stalled";
  EXPECT_LT(waited, absl::Seconds(5));
  EXPECT_THAT(stalled.Finish(),
              testing::StatusIs(absl::StatusCode::kUnavailable, HasSubstr("within one lease")));
  // With the stalled stream gone, a Delete no longer waits for it.
  const std::string next = Create();
  const absl::Time start = absl::Now();
  ASSERT_OK(client_->Delete(WithId<v1::DeleteRequest>(next)));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(90));
}

TEST_F(InvalidationE2eTest, ADrainingServerEndsTheStream) {
  InvalidationStream stream(server_->NewChannel());
  InvalidationStream::Granted granted;
  ASSERT_OK(stream.PingAndRead(1, &granted));
  server_->Signal(SIGTERM);
  EXPECT_THAT(stream.Finish(),
              testing::StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting down")));
}

}  // namespace
}  // namespace sessiond
