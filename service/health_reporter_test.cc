// HealthReporter against a real gRPC health service, reached in process, over a store that can be
// made to report read-only.
#include "service/health_reporter.h"

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "service/limits.h"
#include "service/session_service.h"
#include "storage/memory_store.h"
#include "storage/testing/fault_injecting_store.h"
#include "tests/support/health.h"

namespace sessiond::service {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::sessiond::testing::HealthOf;

constexpr char kSessionService[] = "sessiond.v1.SessionService";

class HealthReporterTest : public ::testing::Test {
 protected:
  HealthReporterTest() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
  }
  ~HealthReporterTest() override { server_->Shutdown(); }

  // Waits up to 10 s for `service`'s health to become `expected`; returns the last status seen.
  HealthCheckResponse::ServingStatus AwaitHealth(const std::string& service,
                                                 HealthCheckResponse::ServingStatus expected) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    HealthCheckResponse::ServingStatus status = HealthOf(channel_, service);
    while (status != expected && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
      status = HealthOf(channel_, service);
    }
    return status;
  }

  SessionServiceImpl service_{ServiceLimits()};
  std::unique_ptr<storage::Store> memory_ = storage::NewMemoryStore({});
  storage::FaultInjectingStore store_{memory_.get()};
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(HealthReporterTest, TheSessionServiceIsNotServingWhileTheStoreServesReadsOnly) {
  HealthReporter reporter(server_->GetHealthCheckService(), &store_, absl::Milliseconds(10));
  EXPECT_EQ(HealthOf(channel_), HealthCheckResponse::SERVING);
  EXPECT_EQ(HealthOf(channel_, kSessionService), HealthCheckResponse::SERVING);

  store_.ReportReadOnly();
  EXPECT_EQ(AwaitHealth(kSessionService, HealthCheckResponse::NOT_SERVING),
            HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(channel_), HealthCheckResponse::SERVING) << "reads still work";

  store_.Reset();  // the store can write again
  EXPECT_EQ(AwaitHealth(kSessionService, HealthCheckResponse::SERVING),
            HealthCheckResponse::SERVING);
}

TEST_F(HealthReporterTest, DrainIsNotServingForGoodWhateverTheStoreSays) {
  HealthReporter reporter(server_->GetHealthCheckService(), &store_, absl::Milliseconds(10));
  reporter.Drain();
  EXPECT_EQ(HealthOf(channel_), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(channel_, kSessionService), HealthCheckResponse::NOT_SERVING);
  absl::SleepFor(absl::Milliseconds(50));  // several polls of a store that accepts writes
  EXPECT_EQ(HealthOf(channel_), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(channel_, kSessionService), HealthCheckResponse::NOT_SERVING);
}

}  // namespace
}  // namespace sessiond::service
