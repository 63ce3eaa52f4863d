#include "service/connection_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"

namespace sessiond::service {
namespace {

constexpr uint64_t kMaxCancelled = 100;
constexpr absl::Duration kInterval = absl::Milliseconds(10);

// A loopback TCP connection: the client's end, and the server's end with the client's address.
struct Connection {
  int client = -1;
  int server = -1;
  sockaddr_in peer{};
  ~Connection() {
    close(client);
    close(server);
  }
};

void Connect(Connection& connection) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  connection.client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(connection.client, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  length = sizeof(connection.peer);
  connection.server = accept(listener, reinterpret_cast<sockaddr*>(&connection.peer), &length);
  ASSERT_GE(connection.server, 0);
  close(listener);
}

// True once the server's end has been shut down (reads see the end), within a second.
bool ShutDown(const Connection& connection) {
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  while (absl::Now() < deadline) {
    char byte;
    if (recv(connection.server, &byte, 1, MSG_DONTWAIT) == 0) return true;
    absl::SleepFor(kInterval);
  }
  return false;
}

// Watches `connection` and reports `cancelled` calls of `peer` to the guard.
void Cancel(ConnectionGuard& guard, const Connection& connection, const std::string& peer,
            int cancelled) {
  guard.Watch(connection.server, reinterpret_cast<const sockaddr*>(&connection.peer));
  for (int i = 0; i < cancelled; ++i) guard.RecordCancelled(peer);
}

std::string PeerOf(const Connection& connection) {
  return GrpcPeerString(reinterpret_cast<const sockaddr*>(&connection.peer));
}

TEST(ConnectionGuardTest, ShutsDownAConnectionWhoseClientCancelsTooManyCalls) {
  ConnectionGuard guard(kMaxCancelled, kInterval);
  Connection connection;
  Connect(connection);
  Cancel(guard, connection, PeerOf(connection), 2 * kMaxCancelled);
  EXPECT_TRUE(ShutDown(connection));
  EXPECT_EQ(guard.closed(), 1u);
  const std::vector<prometheus::MetricFamily> families = guard.Collector()->Collect();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].name, "sessiond_connections_closed_total");
  ASSERT_EQ(families[0].metric.size(), 1u);
  EXPECT_EQ(families[0].metric[0].counter.value, 1.0);
}

TEST(ConnectionGuardTest, KeepsAConnectionWithinTheLimit) {
  ConnectionGuard guard(kMaxCancelled, kInterval);
  Connection connection;
  Connect(connection);
  Cancel(guard, connection, PeerOf(connection), kMaxCancelled);
  EXPECT_FALSE(ShutDown(connection));
  EXPECT_EQ(guard.closed(), 0u);
}

TEST(ConnectionGuardTest, CancelledCallsOfAnotherPeerDoNotCount) {
  ConnectionGuard guard(kMaxCancelled, kInterval);
  Connection connection;
  Connect(connection);
  Cancel(guard, connection, "ipv4:127.0.0.1:1", 2 * kMaxCancelled);
  EXPECT_FALSE(ShutDown(connection));
}

TEST(ConnectionGuardTest, PeerStringsAreWrittenAsGrpcWritesThem) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(5000);
  inet_pton(AF_INET, "10.1.2.3", &v4.sin_addr);
  EXPECT_EQ(GrpcPeerString(reinterpret_cast<const sockaddr*>(&v4)), "ipv4:10.1.2.3:5000");
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(443);
  inet_pton(AF_INET6, "::1", &v6.sin6_addr);
  EXPECT_EQ(GrpcPeerString(reinterpret_cast<const sockaddr*>(&v6)), "ipv6:%5B::1%5D:443");
  inet_pton(AF_INET6, "::ffff:192.0.2.7", &v6.sin6_addr);
  EXPECT_EQ(GrpcPeerString(reinterpret_cast<const sockaddr*>(&v6)), "ipv4:192.0.2.7:443");
}

}  // namespace
}  // namespace sessiond::service
