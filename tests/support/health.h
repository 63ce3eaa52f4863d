// HealthOf: what a server's grpc.health.v1 says for one service name, for tests.
#ifndef SESSIOND_TESTS_SUPPORT_HEALTH_H_
#define SESSIOND_TESTS_SUPPORT_HEALTH_H_

#include <memory>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/channel.h"

namespace sessiond::testing {

// The status of `service` ("" for the server as a whole) over `channel`; UNKNOWN if the check
// fails (no answer within 2 s, or a service name the server does not know).
grpc::health::v1::HealthCheckResponse::ServingStatus HealthOf(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service = "");

}  // namespace sessiond::testing

#endif  // SESSIOND_TESTS_SUPPORT_HEALTH_H_
