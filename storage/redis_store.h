// The Redis Store: sessions in a standalone Redis or a Redis Cluster, shared by any number of
// stateless sessiond replicas. The layout and the Lua scripts are in redis_scripts.h; routing,
// pools, TLS and WAIT in redis_client.h.
//
// Atomicity: every call but Rotate is one Lua script on the session's own keys (one slot) and,
// standalone, the shared keys, run atomically by Redis in one round trip. Rotate moves a session
// between two slots, so it is three scripts: take a 2-second lease on the session under the old id
// and read it, place a copy (version + 1) under the new id, then end the old id. While the lease
// holds, changes to the old id wait (a few round trips; UNAVAILABLE if the lease outlasts them), so
// the copy misses none; reads go on. Until the third step the old id is the session; after it, the
// new one. If the rotating replica dies between the steps, the lease runs out, the old id carries
// on, and the unreachable copy expires with its TTL; if the session changed after a lapsed lease,
// the copy is deleted and the rotation starts over (at most 5 times, then UNAVAILABLE). A Create
// with a request_id first claims the request_id (SET NX, for the idempotency window) on its own
// key, then creates; a failed create releases the claim. A retry racing the first attempt may
// answer NOT_FOUND for that instant.
//
// Expiry: each call passes this replica's clock (options.clock), and every script checks expiry
// itself, so an expired session is NOT_FOUND at its exact deadline whatever Redis's TTL says;
// replicas need synchronised clocks (NTP) like any distributed expiry. A call that finds its
// session expired ends it there (event, index, gone reason). Every session's idle deadline is
// also in one sorted set, and SweepExpired (on any replica; the Sweeper calls it) ends the due
// sessions (standalone in batches of 256 per script; in a cluster one script each), so the expiry
// events, the principal index and the gone reasons do not wait for a read. The keys' Redis TTL is
// the idle deadline plus a slack (the gone retention, at least a minute), a backstop if no sweep
// runs.
//
// Principals, events, gone reasons (store.h): standalone, all of it lives in Redis and changes in
// the same script as the session (layout in redis_scripts.h): the principal index is a sorted
// set per principal, the cap is enforced inside Create's script (and the third step of a Rotate
// that binds a principal), ListSessions and RevokeSessions are scripts over the index (a
// revocation ends up to 500 sessions per script, each atomically), events go to one Redis stream
// with sequence numbers from one counter. Every replica tails that stream into its own EventLog
// (redis_event_tail.h), so a watcher on any replica sees every replica's events in one order;
// an event reaches a replica's log a moment after the call that made it returns (one blocking
// read of the stream). A session that ended leaves a stub with the reason for the gone
// retention (and, if ended with a request_id, its idempotency window), like the memory store.
//
// A tenant's live cap (NewSession::live_cap; CapsLiveSessions() is true): each tenant's live
// sessions are one sorted set scored by their absolute expiry (redis_scripts.h), changed in the
// scripts that create, rotate and end sessions. Standalone, Create's script counts them (ZCOUNT,
// O(log n)) atomically with the create, whichever replica runs it. In a cluster the set lives in
// the shared slot and changes through the journal, and a capped Create first reserves a place
// there in one script (redis_journal.h: how, its cost, its bounds). Renewals never touch the set;
// sessions that expired idle count until they end (a read or the sweep ends them; keys Redis's
// TTL reclaimed are dropped when the sweep reaches their deadline entry). Sessions without a
// tenant (no '~' in the id) have no entry. Sessions created by a sessiond without this set are
// not counted.
//
// Redis Cluster: a script may touch one slot, and a principal's sessions (and the event stream)
// live in other slots than a session's keys. The shared keys live in one slot there, and each
// script appends its changes to them to a journal in its own slot, which the replica applies to
// the shared slot exactly once and in order before the call returns (redis_journal.h: the
// design, its costs, its limits). ListSessions, RevokeSessions, the principal cap and a
// tenant's live cap (each a reservation in the shared slot before the create), the events and
// the sweep work as standalone.
//
// Durability: what the Redis deployment gives (its AOF/RDB settings). An acknowledged write is on
// the primary; with options.redis.wait_replicas = N each write also WAITs until N replicas have
// it (else UNAVAILABLE: the write may or may not survive a failover; retrying with the same
// request_id is safe). Renewals of the idle timer (Get, Touch) do not WAIT: a failover losing one
// only brings that session's expiry forward. Without WAIT, a failover can lose the writes the old
// primary acknowledged but had not yet replicated (Redis replication is asynchronous).
//
// Failures: a Redis that cannot be reached within the client's timeouts gives UNAVAILABLE. After
// options.unhealthy_after consecutive failed calls or probes (a PING of every primary each
// probe_interval), AcceptsWrites() is false (health NOT_SERVING) until a call or probe succeeds.
// MayBlock() is true: calls wait on the network, so the server runs them on its blocking threads.
//
// Stats: live_sessions is the number of sessions in the deadline set (live, or expired and not yet
// swept; in a cluster also a failed Create's entry until its deadline) and
// principal_index_entries the index's size. approximate_bytes
// is the primaries' used_memory (keys of other applications sharing the Redis count too).
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
