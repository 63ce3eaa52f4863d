// The Redis Store: sessions in a standalone Redis or a Redis Cluster, shared by any number of
// stateless sessiond replicas. The layout and the Lua scripts are in redis_scripts.h; routing,
// pools, TLS and WAIT in redis_client.h.
//
// Atomicity: every call but Rotate is one Lua script on the session's own keys (one slot), run
// atomically by Redis in one round trip. Rotate moves a session between two slots, so it is three
// scripts: take a 2-second lease on the session under the old id and read it, place a copy
// (version + 1) under the new id, then end the old id. While the lease holds, changes to the old
// id wait (a few round trips; UNAVAILABLE if the lease outlasts them), so the copy misses none;
// reads go on. Until the third step the old id is the session; after it, the new one. If the
// rotating replica dies between the steps, the lease runs out, the old id carries on, and the
// unreachable copy expires with its TTL; if the session changed after a lapsed lease, the copy is
// deleted and the rotation starts over (at most 5 times, then UNAVAILABLE). A Create with a
// request_id first claims the request_id (SET NX, for the idempotency window) on its own key, then
// creates; a failed create releases the claim. A retry racing the first attempt may answer
// NOT_FOUND for that instant.
//
// Expiry: each call passes this replica's clock (options.clock), and every script checks expiry
// itself, so an expired session is NOT_FOUND whatever Redis's TTL says; replicas need synchronised
// clocks (NTP) like any distributed expiry. The keys' Redis TTL is set to the idle deadline, so
// Redis reclaims them and SweepExpired has nothing to do (returns 0).
//
// Durability: what the Redis deployment gives (its AOF/RDB settings). An acknowledged write is on
// the primary; with options.redis.wait_replicas = N each write also WAITs until N replicas have
// it (else UNAVAILABLE: the write may or may not survive a failover; retrying with the same
// request_id is safe). Without WAIT, a failover can lose the writes the old primary acknowledged
// but had not yet replicated (Redis replication is asynchronous).
//
// Failures: a Redis that cannot be reached within the client's timeouts gives UNAVAILABLE. After
// options.unhealthy_after consecutive failed calls or probes (a PING of every primary each
// probe_interval), AcceptsWrites() is false (health NOT_SERVING) until a call or probe succeeds.
// MayBlock() is true: calls wait on the network, so the server runs them on its blocking threads.
//
// Stats: live_sessions is the number of keys on the primaries (DBSIZE; a session takes one to
// three keys, and keys of other applications sharing the Redis count too), approximate_bytes their
// used_memory. Both are upper bounds, for metrics.
#ifndef SESSIOND_STORAGE_REDIS_STORE_H_
#define SESSIOND_STORAGE_REDIS_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/clock.h"
#include "storage/redis_client.h"
#include "storage/session.h"
#include "storage/store.h"

namespace sessiond::storage {

struct RedisStoreOptions {
  RedisOptions redis;
  // Every key starts with it, so sessiond can share a Redis with other applications.
  std::string key_prefix = "sd";
  // Time source; not owned, must outlive the store. Null means RealClock().
  Clock* clock = nullptr;
  SessionLimits limits;
  int unhealthy_after = 3;
  absl::Duration probe_interval = absl::Seconds(1);
};

// Connects (see RedisClient::Connect for the errors) and returns the store.
absl::StatusOr<std::unique_ptr<Store>> OpenRedisStore(const RedisStoreOptions& options);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_REDIS_STORE_H_
