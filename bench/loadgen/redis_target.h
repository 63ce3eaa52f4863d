// RedisTarget: Redis driven the way a Redis-backed session store would use it, over hiredis's
// asynchronous API on one epoll loop of our own. By default each slot has its own connection (no
// pipelining across operations: each connection has one operation in flight, like a gRPC slot).
// With Options::connections = N the slots share N connections, slot s on connection s % N, like a
// pool shared by many concurrent requests or ioredis's auto-pipelining: the commands of several
// slots are in flight on one connection at once: those queued since the last Poll are written
// together, and answered in order (hiredis matches each reply to its command's callback, whose
// data names the slot).
//
// A session is a hash "s:<id>" with the workload's fields and a TTL (kSessionTtl). Operations:
//   load  MULTI, HSET s:<id> f0 v .. f4 v, PEXPIRE s:<id> ttl, EXEC   (the id is random)
//   get   HGETALL s:<id>
//   web   HGETALL s:<id>; then MULTI, HSET s:<id> f0 v, PEXPIRE s:<id> ttl, EXEC
//   web-read-mostly  HGETALL s:<id>, PEXPIRE s:<id> ttl (one round trip: load and renew, as a
//         Redis session store does); for the writing share, then MULTI ... EXEC as web
// Each transaction's commands, and the read-and-renew pair, are written together (one round trip)
// and stay contiguous on their connection, since nothing else is queued between them. Not
// thread-safe (Target).
#ifndef SESSIOND_BENCH_LOADGEN_REDIS_TARGET_H_
#define SESSIOND_BENCH_LOADGEN_REDIS_TARGET_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/loadgen/session_pool.h"
#include "bench/loadgen/target.h"

struct redisAsyncContext;
struct redisContext;

namespace sessiond::bench {

class RedisTarget final : public Target {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 6379;
    int slots = 1;
    // Connections the slots share (slot s uses connection s % connections); 0: one per slot.
    // More than `slots` opens `slots`.
    int connections = 0;
    absl::Duration connect_timeout = absl::Seconds(10);
  };

  // Whether RedisTarget implements `op`.
  static bool Supports(Op op);

  // Opens the slots' connections plus one for INFO, and waits until each answers PING:
  // UNAVAILABLE if one does not within `connect_timeout`. `pool` is not owned.
  static absl::StatusOr<std::unique_ptr<RedisTarget>> Connect(const Options& options,
                                                              SessionPool* pool);
  ~RedisTarget() override;

  void Start(int slot, Op op) override;
  void Poll(std::chrono::nanoseconds timeout, Completion done) override;
  // Closes every connection: running operations complete with an error, later ones fail at once.
  void CancelAll() override;
  // INFO memory's used_memory.
  std::optional<int64_t> StoreMemoryBytes() override;

 private:
  struct Connection;
  struct Slot;

  RedisTarget(SessionPool* pool, int epoll_fd);

  // hiredis's event hooks, through one function: `connection` wants `events` on or off.
  static void Want(void* connection, uint32_t events, bool on);
  // Sends MULTI, HSET of `fields` fields, PEXPIRE, EXEC for the session of `slot`, on its
  // connection.
  void SendWrite(Slot& slot, int fields);
  // Sends HGETALL for the session of `slot`, on its connection; with `renew`, PEXPIRE right after
  // it (one round trip).
  void SendRead(Slot& slot, bool renew);
  // hiredis's callback for the HGETALL followed by a PEXPIRE: keeps its outcome in the Slot.
  static void OnRead(redisAsyncContext* context, void* reply, void* slot);
  // hiredis's callback for the last reply of each round trip; `slot` is the Slot it is for.
  static void OnReply(redisAsyncContext* context, void* reply, void* slot);
  void Finish(const Slot& slot, absl::string_view error);
  // Brings the epoll registrations in line with what hiredis asked for since the last call.
  void SyncInterest();

  SessionPool* const pool_;
  const int epoll_fd_;
  std::vector<std::unique_ptr<Connection>> connections_;
  // Indexed by slot number; each points into connections_.
  std::vector<std::unique_ptr<Slot>> slots_;
  // Connections whose wanted events changed, and operations that ended, since the last Poll.
  std::vector<Connection*> changed_;
  std::vector<std::pair<int, absl::string_view>> ended_;
  redisContext* info_ = nullptr;
};

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_REDIS_TARGET_H_
