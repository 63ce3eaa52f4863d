#include "storage/redis_connection.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sessiond::storage {
namespace {

// Blocks SIGPIPE in this thread while OpenSSL writes to a socket the peer may have closed (its
// socket BIO uses write(), which has no MSG_NOSIGNAL), and discards a SIGPIPE that raised.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~ScopedSigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero = {0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

// OpenSSL's queued errors as text, emptying the queue.
std::string TlsErrors() {
  std::string errors;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", buffer);
  }
  return errors.empty() ? "unknown TLS error" : errors;
}

bool IsIpAddress(const std::string& host) {
  in6_addr address;
  return inet_pton(AF_INET, host.c_str(), &address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

RedisReply ToRedisReply(const redisReply& raw) {
  RedisReply reply;
  switch (raw.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      reply.type = raw.type == REDIS_REPLY_STRING   ? RedisReply::Type::kString
                   : raw.type == REDIS_REPLY_STATUS ? RedisReply::Type::kStatus
                                                    : RedisReply::Type::kError;
      reply.str.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_INTEGER:
      reply.type = RedisReply::Type::kInteger;
      reply.integer = raw.integer;
      break;
    case REDIS_REPLY_ARRAY:
      reply.type = RedisReply::Type::kArray;
      reply.elements.reserve(raw.elements);
      for (size_t i = 0; i < raw.elements; ++i) {
        reply.elements.push_back(ToRedisReply(*raw.element[i]));
      }
      break;
    default:
      reply.type = RedisReply::Type::kNil;
  }
  return reply;
}

}  // namespace

bool RedisReply::IsErrorStartingWith(absl::string_view prefix) const {
  return IsError() && absl::StartsWith(str, prefix);
}

absl::StatusOr<std::shared_ptr<RedisTlsContext>> RedisTlsContext::Create(
    const RedisOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new: " + TlsErrors());
  std::shared_ptr<RedisTlsContext> context(new RedisTlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  const bool cas_loaded =
      options.tls_ca_file.empty()
          ? SSL_CTX_set_default_verify_paths(ctx) == 1
          : SSL_CTX_load_verify_locations(ctx, options.tls_ca_file.c_str(), nullptr) == 1;
  if (!cas_loaded) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load TLS CA file '", options.tls_ca_file, "': ", TlsErrors()));
  }
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.tls_cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, options.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("cannot load TLS client certificate '",
                                                     options.tls_cert_file, "' and key '",
                                                     options.tls_key_file, "': ", TlsErrors()));
    }
  }
  return context;
}

RedisTlsContext::~RedisTlsContext() { SSL_CTX_free(ctx_); }

absl::StatusOr<RedisAddress> RedisAddress::Parse(absl::string_view address) {
  const size_t colon = address.rfind(':');
  RedisAddress parsed;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &parsed.port) || parsed.port <= 0 ||
      parsed.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("Redis address '", address, "' is not host:port"));
  }
  absl::string_view host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  parsed.host = std::string(host);
  return parsed;
}

std::string RedisAddress::ToString() const {
  return absl::StrCat(host.find(':') == std::string::npos ? host : "[" + host + "]", ":", port);
}

RedisConnection::RedisConnection(RedisAddress address, std::shared_ptr<RedisTlsContext> tls)
    : address_(std::move(address)), tls_(std::move(tls)), reader_(redisReaderCreate()) {}

RedisConnection::~RedisConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (fd_ >= 0) close(fd_);
  redisReaderFree(reader_);
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Open(
    const RedisAddress& address, const RedisOptions& options,
    std::shared_ptr<RedisTlsContext> tls) {
  std::unique_ptr<RedisConnection> connection(new RedisConnection(address, std::move(tls)));
  const absl::Time deadline = absl::Now() + options.connect_timeout;
  if (absl::Status status = connection->Connect(deadline); !status.ok()) return status;
  if (connection->tls_ != nullptr) {
    const std::string& server_name =
        options.tls_server_name.empty() ? address.host : options.tls_server_name;
    if (absl::Status status = connection->Handshake(server_name, deadline); !status.ok()) {
      return status;
    }
  }
  if (absl::Status status = connection->Authenticate(options); !status.ok()) return status;
  return connection;
}

absl::Status RedisConnection::Connect(absl::Time deadline) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* resolved = nullptr;
  const std::string port = absl::StrCat(address_.port);
  if (int error = getaddrinfo(address_.host.c_str(), port.c_str(), &hints, &resolved); error != 0) {
    return Fail(absl::StrCat("cannot resolve host: ", gai_strerror(error)));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(resolved, freeaddrinfo);
  fd_ = socket(resolved->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Fail(absl::StrCat("socket: ", strerror(errno)));
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd_, resolved->ai_addr, resolved->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return Fail(absl::StrCat("connect: ", strerror(errno)));
    if (absl::Status status = Await(POLLOUT, deadline, "connect"); !status.ok()) return status;
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return Fail(absl::StrCat("connect: ", strerror(error)));
  }
  return absl::OkStatus();
}

absl::Status RedisConnection::Handshake(const std::string& server_name, absl::Time deadline) {
  ssl_ = SSL_new(tls_->get());
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) return Fail("SSL_new: " + TlsErrors());
  X509_VERIFY_PARAM* verify = SSL_get0_param(ssl_);
  if (IsIpAddress(server_name)) {
    X509_VERIFY_PARAM_set1_ip_asc(verify, server_name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, server_name.c_str());
    X509_VERIFY_PARAM_set1_host(verify, server_name.c_str(), server_name.size());
  }
  while (true) {
    int result;
    {
      ScopedSigpipeBlock no_sigpipe;
      result = SSL_connect(ssl_);
    }
    if (result == 1) return absl::OkStatus();
    const int error = SSL_get_error(ssl_, result);
    absl::Status waited;
    if (error == SSL_ERROR_WANT_READ) {
      waited = Await(POLLIN, deadline, "TLS handshake");
    } else if (error == SSL_ERROR_WANT_WRITE) {
      waited = Await(POLLOUT, deadline, "TLS handshake");
    } else {
      const long verified = SSL_get_verify_result(ssl_);
      return Fail(
          absl::StrCat("TLS handshake: ", TlsErrors(),
                       verified == X509_V_OK
                           ? ""
                           : absl::StrCat(" (", X509_verify_cert_error_string(verified), ")")));
    }
    if (!waited.ok()) return waited;
  }
}

absl::Status RedisConnection::Authenticate(const RedisOptions& options) {
  if (options.password.empty()) return absl::OkStatus();
  std::vector<absl::string_view> args = {"AUTH"};
  if (!options.user.empty()) args.push_back(options.user);
  args.push_back(options.password);
  absl::StatusOr<RedisReply> reply = Run(args, options.command_timeout);
  if (!reply.ok()) return reply.status();
  if (!reply->IsError()) return absl::OkStatus();
  const std::string message = absl::StrCat("AUTH on ", address_.ToString(), ": ", reply->str);
  return reply->IsErrorStartingWith("NOPERM") ? absl::PermissionDeniedError(message)
                                              : absl::UnauthenticatedError(message);
}

absl::StatusOr<RedisReply> RedisConnection::Run(absl::Span<const absl::string_view> args,
                                                absl::Duration timeout) {
  if (args.empty()) return absl::InvalidArgumentError("empty Redis command");
  if (broken_) return Fail("connection already failed");
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (absl::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* command = nullptr;
  const int length =
      redisFormatCommandArgv(&command, static_cast<int>(args.size()), argv.data(), lengths.data());
  if (length < 0) return absl::ResourceExhaustedError("cannot format a Redis command");
  absl::Status written = WriteAll(absl::string_view(command, length), deadline);
  redisFreeCommand(command);
  if (!written.ok()) return written;
  while (true) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
      return Fail(absl::StrCat("bad reply: ", reader_->errstr));
    }
    if (raw != nullptr) {
      RedisReply reply = ToRedisReply(*static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      return reply;
    }
    if (absl::Status status = ReadSome(deadline); !status.ok()) return status;
  }
}

bool RedisConnection::IsIdleAndOpen() {
  if (broken_) return false;
  char byte;
  if (ssl_ != nullptr) {
    // Reading processes TLS records that may wait unread (session tickets, a close_notify).
    int result;
    {
      ScopedSigpipeBlock no_sigpipe;
      result = SSL_read(ssl_, &byte, 1);
    }
    const bool open = result <= 0 && SSL_get_error(ssl_, result) == SSL_ERROR_WANT_READ;
    ERR_clear_error();
    broken_ = !open;
    return open;
  }
  const ssize_t peeked = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  broken_ = !(peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  return !broken_;
}

absl::Status RedisConnection::WriteAll(absl::string_view data, absl::Time deadline) {
  while (!data.empty()) {
    if (ssl_ != nullptr) {
      int result;
      {
        ScopedSigpipeBlock no_sigpipe;
        result = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
      }
      if (result > 0) {
        data.remove_prefix(result);
        continue;
      }
      const int error = SSL_get_error(ssl_, result);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        return Fail("TLS write: " + TlsErrors());
      }
      if (absl::Status status =
              Await(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "write");
          !status.ok()) {
        return status;
      }
      continue;
    }
    const ssize_t sent = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent >= 0) {
      data.remove_prefix(sent);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (absl::Status status = Await(POLLOUT, deadline, "write"); !status.ok()) return status;
    } else if (errno != EINTR) {
      return Fail(absl::StrCat("send: ", strerror(errno)));
    }
  }
  return absl::OkStatus();
}

absl::Status RedisConnection::ReadSome(absl::Time deadline) {
  char buffer[16384];
  while (true) {
    if (ssl_ != nullptr) {
      int result;
      {
        ScopedSigpipeBlock no_sigpipe;
        result = SSL_read(ssl_, buffer, sizeof(buffer));
      }
      if (result > 0) {
        redisReaderFeed(reader_, buffer, result);
        return absl::OkStatus();
      }
      const int error = SSL_get_error(ssl_, result);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        return Fail(error == SSL_ERROR_ZERO_RETURN ? "connection closed"
                                                   : "TLS read: " + TlsErrors());
      }
      if (absl::Status status =
              Await(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "reply");
          !status.ok()) {
        return status;
      }
      continue;
    }
    const ssize_t received = recv(fd_, buffer, sizeof(buffer), 0);
    if (received > 0) {
      redisReaderFeed(reader_, buffer, received);
      return absl::OkStatus();
    }
    if (received == 0) return Fail("connection closed by the server");
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (absl::Status status = Await(POLLIN, deadline, "reply"); !status.ok()) return status;
    } else if (errno != EINTR) {
      return Fail(absl::StrCat("recv: ", strerror(errno)));
    }
  }
}

absl::Status RedisConnection::Await(short events, absl::Time deadline, absl::string_view what) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return Fail(absl::StrCat(what, " timed out"));
    pollfd entry = {fd_, events, 0};
    const int ready =
        poll(&entry, 1,
             static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)))));
    if (ready > 0) return absl::OkStatus();
    if (ready < 0 && errno != EINTR) return Fail(absl::StrCat("poll: ", strerror(errno)));
  }
}

absl::Status RedisConnection::Fail(absl::string_view cause) {
  broken_ = true;
  return absl::UnavailableError(absl::StrCat("Redis ", address_.ToString(), ": ", cause));
}

}  // namespace sessiond::storage
