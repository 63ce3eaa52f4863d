#include "service/connection_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/server_context.h"
#include "prometheus/metric_family.h"

namespace sessiond::service {
namespace {

ino_t SocketInode(int fd) {
  struct stat status {};
  return fstat(fd, &status) == 0 ? status.st_ino : 0;
}

// Reports the call to the guard if it ends cancelled.
class CancelCountingInterceptor : public grpc::experimental::Interceptor {
 public:
  CancelCountingInterceptor(ConnectionGuard* guard, grpc::ServerContextBase* context)
      : guard_(guard), context_(context) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::POST_RECV_CLOSE) &&
        context_->IsCancelled()) {
      guard_->RecordCancelled(context_->peer());
    }
    methods->Proceed();
  }

 private:
  ConnectionGuard* const guard_;
  grpc::ServerContextBase* const context_;
};

class CancelCountingFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CancelCountingFactory(ConnectionGuard* guard) : guard_(guard) {}

  // Only sessiond.v1.SessionService's calls, which run on the callback API: on a synchronous
  // service (health, reflection) IsCancelled at POST_RECV_CLOSE finalizes the call's completion
  // op, which runs the interceptors again, without end (gRPC 1.51). nullptr: not intercepted.
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (!absl::StartsWith(info->method(), "/sessiond.v1.SessionService/")) return nullptr;
    return new CancelCountingInterceptor(guard_, info->server_context());
  }

 private:
  ConnectionGuard* const guard_;
};

}  // namespace

class ConnectionGuard::ClosedCounter : public prometheus::Collectable {
 public:
  void Add() { closed_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t value() const { return closed_.load(std::memory_order_relaxed); }

  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::ClientMetric metric;
    metric.label.push_back({"reason", "cancelled_calls"});
    metric.counter.value = static_cast<double>(value());
    return {{"sessiond_connections_closed_total",
             "client connections sessiond closed for abuse (reason: the rule that closed them)",
             prometheus::MetricType::Counter,
             {metric}}};
  }

 private:
  std::atomic<uint64_t> closed_{0};
};

std::string GrpcPeerString(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    return absl::StrCat("ipv4:", text, ":", ntohs(v4->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof(text));
      return absl::StrCat("ipv4:", text, ":", ntohs(v6->sin6_port));
    }
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    return absl::StrCat("ipv6:%5B", text, "%5D:", ntohs(v6->sin6_port));
  }
  return "";
}

ConnectionGuard::ConnectionGuard(uint64_t max_cancelled, absl::Duration interval)
    : max_cancelled_(max_cancelled),
      closed_(std::make_shared<ClosedCounter>()),
      thread_([this, interval] { Run(interval); }) {}

uint64_t ConnectionGuard::closed() const { return closed_->value(); }

std::shared_ptr<prometheus::Collectable> ConnectionGuard::Collector() const { return closed_; }

ConnectionGuard::~ConnectionGuard() {
  stop_.Notify();
  thread_.join();
}

void ConnectionGuard::Watch(int fd, const sockaddr* address) {
  std::string peer = GrpcPeerString(address);
  if (peer.empty()) return;
  auto counter = std::make_shared<Counter>();
  absl::MutexLock lock(&mu_);
  counters_[peer] = counter;
  arrived_.push_back(Watched{fd, SocketInode(fd), std::move(peer), std::move(counter),
                             CancelAccount(max_cancelled_)});
}

void ConnectionGuard::RecordCancelled(absl::string_view peer) {
  absl::ReaderMutexLock lock(&mu_);
  auto found = counters_.find(peer);
  if (found != counters_.end()) found->second->cancelled.fetch_add(1, std::memory_order_relaxed);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ConnectionGuard::InterceptorFactory() {
  return std::make_unique<CancelCountingFactory>(this);
}

void ConnectionGuard::Run(absl::Duration interval) {
  absl::Time last = absl::Now();
  while (!stop_.WaitForNotificationWithTimeout(interval)) {
    const absl::Time now = absl::Now();
    CheckAll(now - last);
    last = now;
  }
}

void ConnectionGuard::CheckAll(absl::Duration elapsed) {
  {
    absl::MutexLock lock(&mu_);
    for (Watched& arrived : arrived_) watched_.push_back(std::move(arrived));
    arrived_.clear();
  }
  std::vector<Watched> open;
  open.reserve(watched_.size());
  for (Watched& connection : watched_) {
    if (Check(connection, elapsed)) {
      open.push_back(std::move(connection));
    } else {
      Forget(connection);
    }
  }
  watched_.swap(open);
}

bool ConnectionGuard::Check(Watched& connection, absl::Duration elapsed) {
  // gRPC closes the descriptor when the connection ends; the number may since have been reused.
  if (SocketInode(connection.fd) != connection.inode) return false;
  if (!connection.account.Add(connection.counter->cancelled.exchange(0, std::memory_order_relaxed),
                              elapsed)) {
    return true;
  }
  shutdown(connection.fd, SHUT_RDWR);
  closed_->Add();
  std::cerr << "sessiond: closed the connection from " << connection.peer
            << ": its client cancelled more calls than --max_cancelled_calls allows (HTTP/2 rapid "
               "reset?)"
            << std::endl;
  return false;
}

void ConnectionGuard::Forget(const Watched& connection) {
  absl::MutexLock lock(&mu_);
  auto found = counters_.find(connection.peer);
  // A new connection from the same address and port may have replaced the entry.
  if (found != counters_.end() && found->second == connection.counter) counters_.erase(found);
}

}  // namespace sessiond::service
