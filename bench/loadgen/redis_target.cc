#include "bench/loadgen/redis_target.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sessiond::bench {

struct RedisTarget::Connection {
  RedisTarget* owner = nullptr;
  // Null once the connection is closed.
  redisAsyncContext* context = nullptr;
  bool established = false;
  // Whether it answered the PING sent on connecting.
  bool ready = false;
  // epoll events hiredis wants, and those registered; `changed` while queued in changed_.
  uint32_t wanted = 0;
  uint32_t registered = 0;
  bool changed = false;
};

struct RedisTarget::Slot {
  RedisTarget* owner = nullptr;
  int number = 0;
  // Where its commands go, possibly shared with other slots.
  Connection* connection = nullptr;
  // The running operation; `key` is its session's hash.
  Op op = Op::kGet;
  int step = 0;
  std::string key;
  // Whether the operation writes after its read (web, and a share of web-read-mostly).
  bool writes = false;
  // The error of the HGETALL whose PEXPIRE is in flight ("" if it read a whole session).
  absl::string_view read_error;
};

namespace {

const std::string& TtlMillis() {
  static const std::string* const ttl =
      new std::string(absl::StrCat(absl::ToInt64Milliseconds(kSessionTtl)));
  return *ttl;
}

// The error of a reply to HGETALL, or "" if it holds a whole session.
absl::string_view ReadError(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return "REDIS_ERROR";
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 2 * kFields) return "NOT_FOUND";
  return "";
}

// The error of a reply to EXEC, or "" if every command of the transaction succeeded.
absl::string_view ExecError(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY) return "EXECABORT";
  for (size_t i = 0; i < reply.elements; ++i) {
    if (reply.element[i]->type == REDIS_REPLY_ERROR) return "REDIS_ERROR";
  }
  return "";
}

}  // namespace

RedisTarget::RedisTarget(SessionPool* pool, int epoll_fd) : pool_(pool), epoll_fd_(epoll_fd) {}

bool RedisTarget::Supports(Op op) {
  return op == Op::kLoad || op == Op::kGet || op == Op::kWeb || op == Op::kWebReadMostly;
}

absl::StatusOr<std::unique_ptr<RedisTarget>> RedisTarget::Connect(const Options& options,
                                                                  SessionPool* pool) {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return absl::InternalError("epoll_create1 failed");
  std::unique_ptr<RedisTarget> target(new RedisTarget(pool, epoll_fd));
  const auto unreachable = [&options](absl::string_view why) {
    return absl::UnavailableError(
        absl::StrCat("Redis at ", options.host, ":", options.port, " ", why));
  };
  const timeval timeout = absl::ToTimeval(options.connect_timeout);
  target->info_ = redisConnectWithTimeout(options.host.c_str(), options.port, timeout);
  if (target->info_ == nullptr || target->info_->err != 0) return unreachable("refused");

  const int connections =
      options.connections > 0 ? std::min(options.connections, options.slots) : options.slots;
  for (int i = 0; i < connections; ++i) {
    target->connections_.push_back(std::make_unique<Connection>());
    Connection* c = target->connections_.back().get();
    c->owner = target.get();
    c->context = redisAsyncConnect(options.host.c_str(), options.port);
    if (c->context == nullptr || c->context->err != 0) return unreachable("refused");
    c->context->ev.data = c;
    c->context->ev.addRead = [](void* p) { Want(p, EPOLLIN, true); };
    c->context->ev.delRead = [](void* p) { Want(p, EPOLLIN, false); };
    c->context->ev.addWrite = [](void* p) { Want(p, EPOLLOUT, true); };
    c->context->ev.delWrite = [](void* p) { Want(p, EPOLLOUT, false); };
    c->context->ev.cleanup = [](void* p) { Want(p, EPOLLIN | EPOLLOUT, false); };
    redisAsyncSetConnectCallback(c->context, [](const redisAsyncContext* context, int status) {
      static_cast<Connection*>(context->ev.data)->established = status == REDIS_OK;
    });
    redisAsyncSetDisconnectCallback(c->context, [](const redisAsyncContext* context, int) {
      static_cast<Connection*>(context->ev.data)->context = nullptr;
    });
    redisAsyncCommand(
        c->context,
        [](redisAsyncContext*, void* reply, void* p) {
          static_cast<Connection*>(p)->ready = reply != nullptr;
        },
        c, "PING");
  }
  for (int number = 0; number < options.slots; ++number) {
    target->slots_.push_back(std::make_unique<Slot>());
    Slot& slot = *target->slots_.back();
    slot.owner = target.get();
    slot.number = number;
    slot.connection = target->connections_[number % connections].get();
  }

  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(options.connect_timeout);
  for (const auto& connection : target->connections_) {
    while (!connection->ready && connection->context != nullptr &&
           std::chrono::steady_clock::now() < deadline) {
      target->Poll(std::chrono::milliseconds(10), [](int, absl::string_view) {});
    }
    if (!connection->ready) return unreachable("did not answer PING");
  }
  return target;
}

RedisTarget::~RedisTarget() {
  for (const auto& connection : connections_) {
    if (connection->context != nullptr) redisAsyncFree(connection->context);
  }
  if (info_ != nullptr) redisFree(info_);
  close(epoll_fd_);
}

void RedisTarget::Want(void* connection, uint32_t events, bool on) {
  auto* c = static_cast<Connection*>(connection);
  c->wanted = on ? c->wanted | events : c->wanted & ~events;
  if (!c->changed) {
    c->changed = true;
    c->owner->changed_.push_back(c);
  }
}

void RedisTarget::SendWrite(Slot& slot, int fields) {
  redisAsyncContext* const context = slot.connection->context;
  const std::string& key = slot.key;
  std::array<const char*, 2 + 2 * kFields> argv;
  std::array<size_t, 2 + 2 * kFields> lengths;
  argv[0] = "HSET";
  argv[1] = key.data();
  lengths[0] = 4;
  lengths[1] = key.size();
  std::array<std::string, kFields> keys;
  for (int i = 0; i < fields; ++i) {
    keys[i] = FieldKey(i);
    argv[2 + 2 * i] = keys[i].data();
    lengths[2 + 2 * i] = keys[i].size();
    argv[3 + 2 * i] = FieldValue().data();
    lengths[3 + 2 * i] = FieldValue().size();
  }
  std::array<const char*, 3> expire = {"PEXPIRE", key.data(), TtlMillis().data()};
  const std::array<size_t, 3> expire_lengths = {7, key.size(), TtlMillis().size()};
  // Called one after another with nothing in between, these four stay contiguous in the
  // connection's output buffer even while other slots' commands are queued around them.
  redisAsyncCommand(context, nullptr, nullptr, "MULTI");
  redisAsyncCommandArgv(context, nullptr, nullptr, 2 + 2 * fields, argv.data(), lengths.data());
  redisAsyncCommandArgv(context, nullptr, nullptr, 3, expire.data(), expire_lengths.data());
  redisAsyncCommand(context, &RedisTarget::OnReply, &slot, "EXEC");
}

void RedisTarget::SendRead(Slot& slot, bool renew) {
  redisAsyncContext* const context = slot.connection->context;
  std::array<const char*, 2> argv = {"HGETALL", slot.key.data()};
  const std::array<size_t, 2> lengths = {7, slot.key.size()};
  if (!renew) {
    redisAsyncCommandArgv(context, &RedisTarget::OnReply, &slot, 2, argv.data(), lengths.data());
    return;
  }
  std::array<const char*, 3> expire = {"PEXPIRE", slot.key.data(), TtlMillis().data()};
  const std::array<size_t, 3> expire_lengths = {7, slot.key.size(), TtlMillis().size()};
  // Queued one after the other, both are written in one go (SendWrite says why they stay
  // together).
  redisAsyncCommandArgv(context, &RedisTarget::OnRead, &slot, 2, argv.data(), lengths.data());
  redisAsyncCommandArgv(context, &RedisTarget::OnReply, &slot, 3, expire.data(),
                        expire_lengths.data());
}

void RedisTarget::Start(int number, Op op) {
  Slot& slot = *slots_[number];
  slot.op = op;
  slot.step = 0;
  if (slot.connection->context == nullptr) {
    ended_.emplace_back(number, "DISCONNECTED");
    return;
  }
  const size_t session = op == Op::kLoad ? pool_->AddRandom() : pool_->Pick();
  slot.key = absl::StrCat("s:", pool_->id(session));
  slot.writes = pool_->Chance(WriteShare(op));
  if (op == Op::kLoad) {
    SendWrite(slot, kFields);
  } else {
    SendRead(slot, op == Op::kWebReadMostly);
  }
}

void RedisTarget::OnRead(redisAsyncContext*, void* reply, void* privdata) {
  Slot& slot = *static_cast<Slot*>(privdata);
  // Without a reply the connection is gone, and OnReply reports it for the PEXPIRE.
  slot.read_error = reply == nullptr ? "" : ReadError(*static_cast<const redisReply*>(reply));
}

void RedisTarget::OnReply(redisAsyncContext*, void* reply, void* privdata) {
  Slot& slot = *static_cast<Slot*>(privdata);
  RedisTarget& target = *slot.owner;
  if (reply == nullptr) return target.Finish(slot, "DISCONNECTED");
  const auto& r = *static_cast<const redisReply*>(reply);
  if (slot.op == Op::kGet) return target.Finish(slot, ReadError(r));
  if (slot.op != Op::kLoad && slot.step == 0) {
    // web's HGETALL, or web-read-mostly's PEXPIRE after the HGETALL OnRead kept.
    absl::string_view error = slot.op == Op::kWeb ? ReadError(r) : slot.read_error;
    if (error.empty() && r.type == REDIS_REPLY_ERROR) error = "REDIS_ERROR";
    if (!error.empty() || !slot.writes) return target.Finish(slot, error);
    slot.step = 1;
    return target.SendWrite(slot, 1);
  }
  target.Finish(slot, ExecError(r));
}

void RedisTarget::Finish(const Slot& slot, absl::string_view error) {
  ended_.emplace_back(slot.number, error);
}

void RedisTarget::SyncInterest() {
  for (Connection* c : changed_) {
    // Write now what can be written rather than wait for epoll to say the socket is writable.
    // While `changed` is still set, the hooks this calls do not add `c` to changed_ again.
    if (c->context != nullptr && c->established && (c->wanted & EPOLLOUT) != 0) {
      redisAsyncHandleWrite(c->context);
    }
    c->changed = false;
    if (c->context == nullptr || c->wanted == c->registered) continue;
    epoll_event event{};
    event.events = c->wanted;
    event.data.ptr = c;
    const int operation = c->registered == 0 ? EPOLL_CTL_ADD
                          : c->wanted == 0   ? EPOLL_CTL_DEL
                                             : EPOLL_CTL_MOD;
    epoll_ctl(epoll_fd_, operation, c->context->c.fd, &event);
    c->registered = c->wanted;
  }
  changed_.clear();
}

void RedisTarget::Poll(std::chrono::nanoseconds timeout, Completion done) {
  SyncInterest();
  if (ended_.empty()) {
    std::array<epoll_event, 64> events;
    // epoll counts in milliseconds: a shorter wait polls.
    const int millis =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
    const int count = epoll_wait(epoll_fd_, events.data(), events.size(), millis);
    for (int i = 0; i < count; ++i) {
      auto* c = static_cast<Connection*>(events[i].data.ptr);
      if (c->context != nullptr && (events[i].events & EPOLLOUT) != 0) {
        redisAsyncHandleWrite(c->context);
      }
      if (c->context != nullptr && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
        redisAsyncHandleRead(c->context);
      }
    }
    SyncInterest();
  }
  std::vector<std::pair<int, absl::string_view>> ended;
  ended.swap(ended_);
  for (const auto& [slot, error] : ended) done(slot, error);
}

void RedisTarget::CancelAll() {
  for (const auto& connection : connections_) {
    if (connection->context == nullptr) continue;
    redisAsyncContext* context = connection->context;
    connection->context = nullptr;
    redisAsyncFree(context);
  }
}

std::optional<int64_t> RedisTarget::StoreMemoryBytes() {
  auto* reply = static_cast<redisReply*>(redisCommand(info_, "INFO memory"));
  if (reply == nullptr) return std::nullopt;
  std::optional<int64_t> bytes;
  if (reply->type == REDIS_REPLY_STRING) {
    for (absl::string_view line : absl::StrSplit(absl::string_view(reply->str, reply->len), '\n')) {
      int64_t value = 0;
      if (absl::ConsumePrefix(&line, "used_memory:") &&
          absl::SimpleAtoi(absl::StripSuffix(line, "\r"), &value)) {
        bytes = value;
        break;
      }
    }
  }
  freeReplyObject(reply);
  return bytes;
}

}  // namespace sessiond::bench
