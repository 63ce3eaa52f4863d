// Uses the installed client against a port where nothing listens: both a Client call and a
// Session load must fail with UNAVAILABLE well within their deadline. Proves that the installed
// headers compile, the libraries link, and gRPC errors map to absl codes. Exits 0 on success.
#include <iostream>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "sessiond/client.h"
#include "sessiond/session.h"
#include "sessiond/v1/session.pb.h"

namespace {

bool IsUnavailable(const char* what, const absl::Status& status) {
  std::cout << what << ": " << status << "\n";
  return status.code() == absl::StatusCode::kUnavailable;
}

}  // namespace

int main() {
  sessiond::ClientOptions options;
  options.timeout = absl::Seconds(5);
  const sessiond::Client client(
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()), options);
  const absl::Time start = absl::Now();

  sessiond::v1::TouchRequest touch;
  touch.set_id("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  const bool call_ok = IsUnavailable("Client::Touch", client.Touch(touch).status());

  sessiond::Session session(client, touch.id());
  const bool load_ok = IsUnavailable("Session::Load", session.Load());

  const bool fast = absl::Now() - start < options.timeout;
  if (!fast) std::cout << "took longer than the deadline\n";
  return call_ok && load_ok && fast ? 0 : 1;
}
