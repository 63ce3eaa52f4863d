#include "tests/support/health.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sessiond::testing {

grpc::health::v1::HealthCheckResponse::ServingStatus HealthOf(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, request, &response).ok()
             ? response.status()
             : grpc::health::v1::HealthCheckResponse::UNKNOWN;
}

}  // namespace sessiond::testing
