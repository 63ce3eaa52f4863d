// TLS and mutual TLS end to end: the real binary with certificates the test makes with openssl,
// driven through the C++ client (sessiond::NewChannel) and grpcurl. Covers a wrong CA, expired
// server and client certificates, a missing client certificate, and certificates rotated on disk
// while a client keeps calling over a live connection.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/channel.h"
#include "sessiond/client.h"
#include "tests/support/command.h"
#include "tests/support/pki.h"
#include "tests/support/sessiond_process.h"

namespace sessiond {
namespace {

using ::sessiond::testing::Pki;
using ::sessiond::testing::RunCommand;
using ::sessiond::testing::SessiondProcess;

absl::Status CallOnce(const std::shared_ptr<grpc::Channel>& channel) {
  Client client(channel, ClientOptions{.timeout = absl::Seconds(5)});
  return client.CreateSession({}).status();
}

std::shared_ptr<grpc::Channel> Channel(const std::string& target, const ChannelOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = NewChannel(target, options);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return channel.ok() ? *channel : nullptr;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_.Ca("ca");
    pki_.Ca("other_ca");
    pki_.Leaf("server", "ca");
    pki_.Leaf("client", "ca");
  }

  // Starts sessiond with TLS from the server.* files, requiring client certificates when `mtls`.
  void StartServer(bool mtls, const std::string& cert = "server") {
    std::vector<std::string> flags = {"--drain_grace=0s", "--tls_reload_interval=1s",
                                      "--tls_cert_file=" + pki_.File(cert + ".pem"),
                                      "--tls_key_file=" + pki_.File(cert + ".key")};
    if (mtls) flags.push_back("--tls_client_ca_file=" + pki_.File("ca.pem"));
    absl::StatusOr<std::unique_ptr<SessiondProcess>> server = SessiondProcess::Start(flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  ChannelOptions Trusting(const std::string& ca) { return {.tls = true, .ca_file = pki_.File(ca)}; }

  Pki pki_;
  std::unique_ptr<SessiondProcess> server_;
};

TEST_F(TlsTest, ServesTlsToAClientTrustingItsCa) {
  StartServer(/*mtls=*/false);
  EXPECT_TRUE(CallOnce(Channel(server_->address(), Trusting("ca.pem"))).ok());
}

TEST_F(TlsTest, PlaintextClientIsRefused) {
  StartServer(/*mtls=*/false);
  EXPECT_EQ(CallOnce(Channel(server_->address(), {})).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, ClientTrustingAnotherCaRefusesTheServer) {
  StartServer(/*mtls=*/false);
  EXPECT_EQ(CallOnce(Channel(server_->address(), Trusting("other_ca.pem"))).code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, ExpiredServerCertificateIsRefused) {
  pki_.Leaf("expired_server", "ca", /*expired=*/true);
  StartServer(/*mtls=*/false, "expired_server");
  EXPECT_EQ(CallOnce(Channel(server_->address(), Trusting("ca.pem"))).code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, MutualTlsAcceptsAClientCertificateFromItsCa) {
  StartServer(/*mtls=*/true);
  ChannelOptions options = Trusting("ca.pem");
  options.cert_file = pki_.File("client.pem");
  options.key_file = pki_.File("client.key");
  EXPECT_TRUE(CallOnce(Channel(server_->address(), options)).ok());
}

TEST_F(TlsTest, MutualTlsRefusesMissingWrongCaAndExpiredClientCertificates) {
  pki_.Leaf("stranger", "other_ca");
  pki_.Leaf("expired_client", "ca", /*expired=*/true);
  StartServer(/*mtls=*/true);
  EXPECT_EQ(CallOnce(Channel(server_->address(), Trusting("ca.pem"))).code(),
            absl::StatusCode::kUnavailable)
      << "no client certificate";
  for (const std::string name : {"stranger", "expired_client"}) {
    ChannelOptions options = Trusting("ca.pem");
    options.cert_file = pki_.File(name + ".pem");
    options.key_file = pki_.File(name + ".key");
    EXPECT_EQ(CallOnce(Channel(server_->address(), options)).code(), absl::StatusCode::kUnavailable)
        << name;
  }
}

TEST_F(TlsTest, RotatedCertificatesServeNewConnectionsWithoutDroppingLiveOnes) {
  StartServer(/*mtls=*/false);
  // A client calling back to back over one connection for the whole rotation.
  std::shared_ptr<grpc::Channel> live = Channel(server_->address(), Trusting("ca.pem"));
  ASSERT_TRUE(CallOnce(live).ok());
  std::atomic<bool> stop = false;
  std::atomic<int> calls = 0, failures = 0;
  std::thread load([&] {
    Client client(live, ClientOptions{.timeout = absl::Seconds(5)});
    while (!stop) {
      if (client.CreateSession({}).ok()) {
        ++calls;
      } else {
        ++failures;
      }
    }
  });

  // Rotate to a certificate from another CA, as Kubernetes does: new files renamed into place.
  pki_.Leaf("rotated", "other_ca");
  std::filesystem::copy_file(pki_.File("rotated.pem"), pki_.File("next.pem"));
  std::filesystem::copy_file(pki_.File("rotated.key"), pki_.File("next.key"));
  std::filesystem::rename(pki_.File("next.key"), pki_.File("server.key"));
  std::filesystem::rename(pki_.File("next.pem"), pki_.File("server.pem"));

  bool rotated = false;
  for (absl::Time deadline = absl::Now() + absl::Seconds(15); !rotated && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(200))) {
    rotated = CallOnce(Channel(server_->address(), Trusting("other_ca.pem"))).ok();
  }
  stop = true;
  load.join();
  EXPECT_TRUE(rotated) << "new connections never got the rotated certificate";
  EXPECT_EQ(CallOnce(Channel(server_->address(), Trusting("ca.pem"))).code(),
            absl::StatusCode::kUnavailable)
      << "new connections still get the old certificate";
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(failures.load(), 0) << "the live connection failed during the rotation";
  EXPECT_TRUE(CallOnce(live).ok());
}

TEST_F(TlsTest, GrpcurlWithClientCertificate) {
  const std::string grpcurl = SESSIOND_GRPCURL;
  if (access(grpcurl.c_str(), X_OK) != 0) GTEST_FAIL() << "grpcurl not found: " << grpcurl;
  StartServer(/*mtls=*/true);
  const std::string command = absl::StrCat(
      grpcurl, " -cacert ", pki_.File("ca.pem"), " -cert ", pki_.File("client.pem"), " -key ",
      pki_.File("client.key"), " -d '{\"entries\":{\"user\":{\"string_value\":\"alice\"}}}' ",
      server_->address(), " sessiond.v1.SessionService/CreateSession");
  const auto result = RunCommand(command);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, ::testing::HasSubstr("\"version\": \"1\""));
  EXPECT_NE(std::system(absl::StrCat(grpcurl, " -cacert ", pki_.File("ca.pem"), " ",
                                     server_->address(), " list >/dev/null 2>&1")
                            .c_str()),
            0)
      << "grpcurl without a client certificate was served";
}

}  // namespace
}  // namespace sessiond
