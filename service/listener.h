// Listener: sessiond's own accept loop. It binds the listening socket, accepts connections and
// hands each one to gRPC through an ExternalConnectionAcceptor, which runs the server's credentials
// (TLS or plaintext) on it exactly as for a port gRPC had bound itself.
//
// Why not gRPC's listener: gRPC 1.51 stops accepting for good after one failed accept4 (EMFILE
// when descriptors run out), and it has no connection cap. This loop caps open connections
// (`max_connections`: one past the cap is accepted and closed at once), and when accept fails for
// want of descriptors or memory it retries every 25 ms, so the server accepts again as soon as
// descriptors are free. It hands each connection it accepts to a ConnectionGuard (if given), which
// closes connections that abuse HTTP/2 stream resets.
//
// Thread-safety: Start and Stop from one thread; the loop runs on its own thread.
#ifndef SESSIOND_SERVICE_LISTENER_H_
#define SESSIOND_SERVICE_LISTENER_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/server_builder.h"
#include "service/connection_guard.h"

namespace sessiond::service {

class Listener {
 public:
  // Binds and listens on `address` ("host:port", "[v6]:port"; port 0 picks a free port).
  // UNAVAILABLE if it cannot be resolved or bound.
  static absl::StatusOr<std::unique_ptr<Listener>> Bind(const std::string& address);

  // Stops the loop if running and closes the listening socket.
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The port bound.
  int port() const { return port_; }
  // True if the bound address is a loopback address (127.0.0.0/8 or ::1).
  bool loopback() const { return loopback_; }

  // Starts accepting on a thread of its own, handing connections to `acceptor` (which must outlive
  // Stop) while fewer than `max_connections` handed over are still open, and to `guard` (if not
  // null; it must outlive Stop) to watch. Call once.
  void Start(grpc::experimental::ExternalConnectionAcceptor* acceptor, size_t max_connections,
             ConnectionGuard* guard);

  // Stops accepting (the socket stays bound until destruction; connections already handed over
  // are gRPC's). Idempotent.
  void Stop();

 private:
  Listener(int listen_fd, int stop_fd, int port, bool loopback)
      : listen_fd_(listen_fd), stop_fd_(stop_fd), port_(port), loopback_(loopback) {}

  void Run(grpc::experimental::ExternalConnectionAcceptor* acceptor, size_t max_connections,
           ConnectionGuard* guard);

  const int listen_fd_;
  const int stop_fd_;  // an eventfd written by Stop
  const int port_;
  const bool loopback_;
  std::thread thread_;
};

// The connections handed to gRPC that are still open, told apart by descriptor and socket inode
// (gRPC closes a connection's descriptor when it ends, and the number may be reused). Not
// thread-safe: used by the accept loop only.
class OpenConnections {
 public:
  explicit OpenConnections(size_t max) : max_(max) {}

  // Records `fd` and returns true if fewer than the maximum are open (forgetting closed ones
  // first when at the maximum); false, recording nothing, if the maximum are open.
  bool Admit(int fd);

  // Connections recorded and not yet found closed.
  size_t size() const { return open_.size(); }

 private:
  void ForgetClosed();

  const size_t max_;
  absl::Time last_forget_ = absl::InfinitePast();
  std::vector<std::pair<int, ino_t>> open_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_LISTENER_H_
