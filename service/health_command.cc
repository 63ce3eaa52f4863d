#include "service/health_command.h"

#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace sessiond::service {
namespace {

constexpr char kUsage[] =
    "usage: sessiond health --addr=HOST:PORT [--service=NAME] [--timeout=2s]\n"
    "exits 0 if the server reports SERVING for NAME (default: the whole server), else 1\n";

int Usage(const std::string& problem) {
  std::cerr << "sessiond health: " << problem << "\n" << kUsage;
  return 2;
}

}  // namespace

int RunHealthCommand(int argc, char** argv) {
  std::string address;
  std::string service;
  absl::Duration timeout = absl::Seconds(2);
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (absl::ConsumePrefix(&arg, "--addr=")) {
      address = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--service=")) {
      service = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--timeout=")) {
      if (!absl::ParseDuration(arg, &timeout) || timeout <= absl::ZeroDuration()) {
        return Usage("--timeout: not a positive duration such as 2s");
      }
    } else {
      return Usage(std::string("unknown argument ") + argv[i]);
    }
  }
  if (address.empty()) return Usage("--addr is required");

  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    std::cout << "UNKNOWN (" << status.error_message() << ")\n";
    return 1;
  }
  std::cout << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

}  // namespace sessiond::service
