#include "service/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace sessiond::service {
namespace {

// How long the loop waits before accepting again after accept4 failed for want of descriptors or
// memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
constexpr int kRetryMillis = 25;
// At the cap, closed connections are looked for at most this often (each look is one fstat per
// open connection).
constexpr absl::Duration kForgetInterval = absl::Milliseconds(50);
// Listen backlog (the kernel caps it at net.core.somaxconn).
constexpr int kBacklog = 4096;

bool IsLoopback(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
  }
  return false;
}

int BoundPort(int fd) {
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) return 0;
  if (bound.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
}

ino_t SocketInode(int fd) {
  struct stat status {};
  return fstat(fd, &status) == 0 ? status.st_ino : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> Listener::Bind(const std::string& address) {
  const size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port > 65535) {
    return absl::UnavailableError(absl::StrCat("--listen=", address, ": expected host:port"));
  }
  std::string host = address.substr(0, colon);
  host = std::string(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = absl::StrCat(port);
  if (int error =
          getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
      error != 0) {
    return absl::UnavailableError(
        absl::StrCat("--listen=", address, ": cannot resolve: ", gai_strerror(error)));
  }
  // A name with both families (localhost) is served on its IPv4 address, which clients trying
  // each address reach either way; "[::]" is one dual-stack IPv6 socket.
  std::vector<addrinfo*> candidates;
  for (addrinfo* each = found; each != nullptr; each = each->ai_next) candidates.push_back(each);
  std::stable_partition(candidates.begin(), candidates.end(),
                        [](const addrinfo* each) { return each->ai_family == AF_INET; });
  std::string last_error = "no address";
  for (addrinfo* candidate : candidates) {
    const int fd = socket(candidate->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, candidate->ai_addr, candidate->ai_addrlen) != 0 || listen(fd, kBacklog) != 0) {
      last_error = std::strerror(errno);
      close(fd);
      continue;
    }
    const bool loopback = IsLoopback(candidate->ai_addr);
    freeaddrinfo(found);
    const int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd < 0) {
      close(fd);
      return absl::UnavailableError(absl::StrCat("eventfd: ", std::strerror(errno)));
    }
    return std::unique_ptr<Listener>(new Listener(fd, stop_fd, BoundPort(fd), loopback));
  }
  freeaddrinfo(found);
  return absl::UnavailableError(
      absl::StrCat("cannot listen on ", address, ": ", last_error, " (in use, or a bad address?)"));
}

Listener::~Listener() {
  Stop();
  close(listen_fd_);
  close(stop_fd_);
}

void Listener::Start(grpc::experimental::ExternalConnectionAcceptor* acceptor,
                     size_t max_connections, ConnectionGuard* guard) {
  thread_ = std::thread(
      [this, acceptor, max_connections, guard] { Run(acceptor, max_connections, guard); });
}

void Listener::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof(one)) < 0) {
    // An eventfd write fails only on overflow, which one write cannot cause.
  }
  thread_.join();
}

void Listener::Run(grpc::experimental::ExternalConnectionAcceptor* acceptor, size_t max_connections,
                   ConnectionGuard* guard) {
  OpenConnections open(max_connections);
  bool starved = false;  // accept4 is failing for want of descriptors or memory
  bool at_cap = false;
  for (;;) {
    pollfd watched[2] = {{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    // While starved, wait without watching the socket: its backlog keeps it readable.
    if (poll(watched, starved ? 1 : 2, starved ? kRetryMillis : -1) < 0 && errno != EINTR) {
      std::cerr << "sessiond: poll on the listening socket: " << std::strerror(errno) << std::endl;
      return;
    }
    if (watched[0].revents != 0) return;
    for (;;) {
      sockaddr_storage peer{};
      socklen_t peer_length = sizeof(peer);
      const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          if (starved) std::cerr << "sessiond: accepting connections again" << std::endl;
          starved = false;
          break;
        }
        if (!starved) {
          std::cerr << "sessiond: cannot accept a connection (" << std::strerror(errno)
                    << "); retrying every " << kRetryMillis << " ms" << std::endl;
        }
        starved = true;
        break;
      }
      if (starved) std::cerr << "sessiond: accepting connections again" << std::endl;
      starved = false;
      if (!open.Admit(fd)) {
        if (!at_cap) {
          std::cerr << "sessiond: " << max_connections
                    << " connections are open; closing new ones until some end (--max_connections)"
                    << std::endl;
        }
        at_cap = true;
        close(fd);
        continue;
      }
      at_cap = false;
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (guard != nullptr) guard->Watch(fd, reinterpret_cast<const sockaddr*>(&peer));
      grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters connection;
      connection.listener_fd = listen_fd_;
      connection.fd = fd;
      acceptor->HandleNewConnection(&connection);
    }
  }
}

bool OpenConnections::Admit(int fd) {
  if (open_.size() >= max_) ForgetClosed();
  if (open_.size() >= max_) return false;
  open_.emplace_back(fd, SocketInode(fd));
  return true;
}

void OpenConnections::ForgetClosed() {
  const absl::Time now = absl::Now();
  if (now - last_forget_ < kForgetInterval) return;
  last_forget_ = now;
  open_.erase(std::remove_if(open_.begin(), open_.end(),
                             [](const std::pair<int, ino_t>& connection) {
                               return SocketInode(connection.first) != connection.second;
                             }),
              open_.end());
}

}  // namespace sessiond::service
