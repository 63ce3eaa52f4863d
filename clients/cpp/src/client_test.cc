#include "sessiond/client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace sessiond {
namespace {

using ::sessiond::testing::StatusIs;

// A TCP port on 127.0.0.1 that accepts connections into its backlog and never answers, so that a
// gRPC call to it waits for its deadline.
class SilentListener {
 public:
  SilentListener() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    auto* generic = reinterpret_cast<sockaddr*>(&address);
    const bool listening = fd_ >= 0 && bind(fd_, generic, length) == 0 && listen(fd_, 8) == 0 &&
                           getsockname(fd_, generic, &length) == 0;
    EXPECT_TRUE(listening);
    port_ = ntohs(address.sin_port);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  ~SilentListener() { close(fd_); }

  std::string Target() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_;
  int port_ = 0;
};

std::shared_ptr<grpc::Channel> Channel(const std::string& target) {
  return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
}

TEST(ClientTest, UnreachableServerIsUnavailableBeforeTheDeadline) {
  const Client client(Channel("127.0.0.1:1"), {.timeout = absl::Seconds(30)});
  v1::GetRequest request;
  request.set_id("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");

  const absl::Time start = absl::Now();
  EXPECT_THAT(client.Get(request), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(ClientTest, DefaultTimeoutIsTheDeadline) {
  const SilentListener server;
  const Client client(Channel(server.Target()), {.timeout = absl::Milliseconds(300)});

  EXPECT_THAT(client.Touch(v1::TouchRequest()), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(ClientTest, CallDeadlineOverridesTheDefaultTimeout) {
  const SilentListener server;
  const Client client(Channel(server.Target()), {.timeout = absl::Hours(1)});

  const absl::Time start = absl::Now();
  EXPECT_THAT(client.Commit(v1::CommitRequest(), {.deadline = start + absl::Milliseconds(300)}),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(ClientTest, ACallQueuedBehindAnotherKeepsItsOwnDeadline) {
  const SilentListener server;
  const Client client(Channel(server.Target()), {.timeout = absl::Seconds(5)});
  // The first call goes out alone and hangs until its deadline; the second queues behind it.
  absl::Notification first_returned;
  std::thread first([&] {
    EXPECT_THAT(client.Touch(v1::TouchRequest()), StatusIs(absl::StatusCode::kDeadlineExceeded));
    first_returned.Notify();
  });
  absl::SleepFor(absl::Milliseconds(200));

  EXPECT_THAT(client.Touch(v1::TouchRequest(), {.deadline = absl::Now() + absl::Milliseconds(300)}),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_FALSE(first_returned.HasBeenNotified());
  first.join();
}

TEST(ClientTest, AClientCanEndRightAfterItsBatchesFail) {
  // Calls to a port nobody listens on fail at once; those queued behind the first go out as one
  // Batch that fails too. The client then ends while that Batch's completion may still be running.
  for (int round = 0; round < 100; ++round) {
    auto client = std::make_unique<Client>(Channel("127.0.0.1:1"));
    std::vector<std::thread> callers;
    for (int i = 0; i < 8; ++i) {
      callers.emplace_back([&client] {
        EXPECT_THAT(client->Touch(v1::TouchRequest()), StatusIs(absl::StatusCode::kUnavailable));
      });
    }
    for (std::thread& caller : callers) caller.join();
    client.reset();
  }
}

TEST(ClientTest, ANearCacheWithoutItsStreamSendsEveryGetToTheServer) {
  const Client client(Channel("127.0.0.1:1"), {.near_cache_max_bytes = 1 << 20});
  v1::GetRequest request;
  request.set_id("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(client.Get(request), StatusIs(absl::StatusCode::kUnavailable));
  }
  const NearCacheStats stats = client.near_cache_stats();
  EXPECT_EQ(stats.hits, 0);
  EXPECT_EQ(stats.misses, 3);
  EXPECT_FALSE(stats.leased);
}

TEST(ClientTest, AClientWithANearCacheEndsAtOnceWhateverItsStreamIsDoing) {
  // Its stream is connecting to a server that never answers, or failing and backing off; either
  // way the client ends without waiting (the test's timeout would catch a hang).
  const SilentListener silent;
  for (int round = 0; round < 50; ++round) {
    Client to_silent(Channel(silent.Target()), {.near_cache_max_bytes = 1 << 20});
    Client to_nobody(Channel("127.0.0.1:1"), {.near_cache_max_bytes = 1 << 20});
    absl::SleepFor(absl::Milliseconds(round % 5));
  }
}

TEST(ClientTest, AMovedToClientWithANearCacheKeepsWorking) {
  Client client(Channel("127.0.0.1:1"), {.near_cache_max_bytes = 1 << 20});
  client = Client(Channel("127.0.0.1:1"), {.near_cache_max_bytes = 1 << 20});
  v1::GetRequest request;
  request.set_id("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_THAT(client.Get(request), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(client.near_cache_stats().misses, 1);
}

}  // namespace
}  // namespace sessiond
