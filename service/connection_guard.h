// ConnectionGuard: closes client connections whose clients cancel far more calls than any
// legitimate client does — HTTP/2 rapid reset (CVE-2023-44487), which gRPC 1.51 does not limit —
// without parsing HTTP/2 on the data path.
//
// The listener hands it every accepted connection (Watch: descriptor and peer address). Its
// interceptor (InterceptorFactory) sees every call end and reports the cancelled ones
// (RecordCancelled, matched to the connection by gRPC's peer string). A thread of its own applies
// CancelAccount's rule (cancel_account.h states it and what it allows a legitimate client) to each
// connection every `interval`. An abusive connection is shut down (shutdown(2) of both directions:
// gRPC sees the connection end and drops its streams), counted, and logged with its peer address.
//
// Why not count bytes (the kernel's TCP_INFO) against the calls started: in gRPC 1.51 a reset
// stream still becomes a call, so an attacker's connection starts as many calls as it opens
// streams, and its bytes are accounted for. What tells it apart is that those calls end cancelled.
//
// Per call: one interceptor (gRPC allocates it) and a check of IsCancelled when the call ends; a
// cancelled call also takes gRPC's peer string and a hash lookup under a shared lock. Per interval:
// one fstat per watched connection (to forget those gRPC closed).
//
// Closed connections are counted in sessiond_connections_closed_total{reason="cancelled_calls"}
// (Collector) and logged (peer address only).
//
// Thread-safety: Watch, RecordCancelled and closed() from any thread.
#ifndef SESSIOND_SERVICE_CONNECTION_GUARD_H_
#define SESSIOND_SERVICE_CONNECTION_GUARD_H_

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/collectable.h"
#include "service/cancel_account.h"

namespace sessiond::service {

class ConnectionGuard {
 public:
  // Starts the checking thread: every `interval`, each watched connection is held to a
  // CancelAccount of `max_cancelled` (> 0).
  ConnectionGuard(uint64_t max_cancelled, absl::Duration interval);
  // Stops the thread; connections are left to gRPC.
  ~ConnectionGuard();
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  // Starts watching the connection on `fd` (just accepted, not yet handed to gRPC) whose peer is
  // `address`. The guard notices by itself when gRPC closes it.
  void Watch(int fd, const sockaddr* address);

  // Counts a call of the peer `peer` (gRPC's form, "ipv4:127.0.0.1:5000") that ended cancelled. A
  // peer not watched is ignored.
  void RecordCancelled(absl::string_view peer);

  // A server interceptor factory whose interceptors call RecordCancelled for every call that ends
  // cancelled. Must not outlive the guard.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  // Connections shut down as abusive so far.
  uint64_t closed() const;

  // Reports closed() as sessiond_connections_closed_total{reason="cancelled_calls"}; it may outlive
  // the guard (it then reports the last count).
  std::shared_ptr<prometheus::Collectable> Collector() const;

 private:
  class ClosedCounter;
  struct Counter {
    std::atomic<uint64_t> cancelled{0};
  };
  // A watched connection, owned by the checking thread.
  struct Watched {
    int fd;
    ino_t inode;
    std::string peer;
    std::shared_ptr<Counter> counter;
    CancelAccount account;
  };

  void Run(absl::Duration interval);
  // One check of every watched connection; returns those still open and not abusive.
  void CheckAll(absl::Duration elapsed);
  // Checks one connection; false if it is gone or was shut down.
  bool Check(Watched& connection, absl::Duration elapsed);
  void Forget(const Watched& connection);

  const uint64_t max_cancelled_;
  const std::shared_ptr<ClosedCounter> closed_;
  absl::Mutex mu_;
  // Cancelled calls per peer, for the peers being watched.
  absl::flat_hash_map<std::string, std::shared_ptr<Counter>> counters_ ABSL_GUARDED_BY(mu_);
  // Connections accepted since the last check.
  std::vector<Watched> arrived_ ABSL_GUARDED_BY(mu_);
  std::vector<Watched> watched_;  // the checking thread's
  absl::Notification stop_;
  std::thread thread_;
};

// gRPC's peer string for `address` ("ipv4:10.0.0.1:5000", "ipv6:[::1]:5000"; an IPv4-mapped IPv6
// address in its IPv4 form, as gRPC writes it). Empty for other families.
std::string GrpcPeerString(const sockaddr* address);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_CONNECTION_GUARD_H_
