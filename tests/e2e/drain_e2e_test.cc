// SIGTERM under load: health turns NOT_SERVING, calls in flight finish, the process exits 0.
#include <signal.h>

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "tests/support/health.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"

namespace sessiond {
namespace {

using ::sessiond::testing::HealthOf;
using ::sessiond::testing::SessiondProcess;

// What one call saw: when it started and how it ended.
struct CallRecord {
  absl::Time started;
  absl::StatusCode code;
};

TEST(DrainE2eTest, SigtermUnderLoadFinishesInFlightCallsAndExitsZero) {
  constexpr absl::Duration kGrace = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<SessiondProcess>> started = SessiondProcess::Start(
      {absl::StrCat("--drain_grace=", absl::FormatDuration(kGrace)), "--shutdown_timeout=5s"});
  ASSERT_OK(started);
  SessiondProcess& server = **started;
  std::shared_ptr<grpc::Channel> channel = server.NewChannel();
  Client client(channel);
  ASSERT_EQ(HealthOf(channel), grpc::health::v1::HealthCheckResponse::SERVING);
  absl::StatusOr<v1::CreateSessionResponse> created = client.CreateSession({});
  ASSERT_OK(created);

  // Eight writers, each on its own channel, until the server refuses them.
  std::vector<std::vector<CallRecord>> records(8);
  std::vector<std::thread> writers;
  for (size_t w = 0; w < records.size(); ++w) {
    writers.emplace_back([&, w] {
      Client own(server.NewChannel(), ClientOptions{.timeout = absl::Seconds(10)});
      v1::SetRequest set;
      set.set_id(created->session().id());
      for (int i = 0;; ++i) {
        (*set.mutable_entries())[absl::StrCat("w", w)].set_int64_value(i);
        const absl::Time start = absl::Now();
        const absl::StatusCode code = own.Set(set).status().code();
        records[w].push_back({start, code});
        if (code != absl::StatusCode::kOk) return;
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time signalled = absl::Now();
  server.Signal(SIGTERM);
  absl::SleepFor(kGrace / 2);
  EXPECT_EQ(HealthOf(channel), grpc::health::v1::HealthCheckResponse::NOT_SERVING)
      << "health reports NOT_SERVING during the drain grace";
  EXPECT_EQ(server.Wait(), 0);
  const absl::Duration exit_after = absl::Now() - signalled;
  for (std::thread& writer : writers) writer.join();

  EXPECT_LT(exit_after, kGrace + absl::Seconds(5));
  int served_during_grace = 0;
  for (const std::vector<CallRecord>& calls : records) {
    for (const CallRecord& call : calls) {
      // Until the grace period ends every call is served. After it, a call that reaches the server
      // as it stops accepting is refused: UNAVAILABLE, or CANCELLED when gRPC had already queued
      // it but no handler had started it. Nothing else, and no call hangs.
      if (call.started < signalled + kGrace - absl::Milliseconds(100)) {
        EXPECT_EQ(call.code, absl::StatusCode::kOk);
      } else {
        EXPECT_THAT(call.code,
                    ::testing::AnyOf(absl::StatusCode::kOk, absl::StatusCode::kUnavailable,
                                     absl::StatusCode::kCancelled));
      }
      served_during_grace += call.started > signalled && call.code == absl::StatusCode::kOk;
    }
  }
  EXPECT_GT(served_during_grace, 0) << "calls keep being served during the grace period";
}

}  // namespace
}  // namespace sessiond
