// The PostgreSQL Store: sessions in one PostgreSQL table, shared by any number of stateless
// sessiond replicas. The schema and its migrations are in postgres_schema.h; connections in
// postgres_connection.h, pooled by connection_pool.h.
//
// Layout: one row per session (id, idle deadline, stub flag, record, and, for the principal
// index, principal, created_at and last_access_at), the record being the RocksDB backend's
// encoding (session_codec.h: packed entries, tombstones, request ids). A call reads and writes one
// row (a rotation two), so a commit costs one row update however many keys it changes; the idle
// deadline is a column of its own, indexed, so renewals and the sweeper never touch the record.
//
// Atomicity: every call is one transaction at READ COMMITTED. A read is one SELECT. A write locks
// the session's row (SELECT ... FOR UPDATE), checks and applies the change in sessiond with the
// same SessionState code as the other backends (so conflicts are exactly theirs), and sends all
// it writes (rows placed, rows deleted, events) in one last statement before COMMIT: Apply, Delete
// and Rotate cost 4 round trips (BEGIN, lock, write, COMMIT), Create 3 (4 with a request_id, whose
// stub it locks first; one more under the principal cap, for the census, and one more under a
// tenant's live cap, for its count). A new row (Create, a rotation's new id) is placed only where
// no row is or an expired stub was, else ALREADY_EXISTS.
// Serialization failures, deadlocks and an insert racing another are retried from the start, at
// most options.max_attempts times within the call's deadline, then UNAVAILABLE.
//
// A user's sessions (store.h): the principal index is the partial index on (principal, created_at
// DESC, id DESC) of the rows that are live sessions with a principal, so an entry goes in the same
// statement as its session, however it ends. ListSessions reads it a page at a time; an expired
// session the sweeper has not reached yet is skipped. RevokeSessions ends a principal's sessions
// 500 per transaction (rows locked in id order), until a batch finds none. The cap: Create (and a
// Rotate that binds a principal) takes a transaction-level advisory lock on a hash of the table
// prefix and the principal (with BEGIN, in the same round trip), counts the principal's live
// sessions with their rows locked, and refuses or ends the least recently used in the same
// transaction; every replica takes the same lock, so the cap holds across replicas.
//
// A tenant's cap on live sessions (NewSession::live_cap, CapsLiveSessions() is true): a Create
// under it takes a transaction-level advisory lock on a hash of the table prefix and the cap's id
// prefix (with BEGIN, in the same round trip; every replica takes the same one) and, after its
// request_id's stub is checked, counts the rows of the prefix's range of the primary key that are
// sessions whose stored idle deadline is less than a second past (postgres_live_cap.h): one more
// round trip, reading every row of the tenant (live, expired not yet swept, and stubs). A session
// stays counted up to a second after it expires, as a renewal held in a replica's memory may keep
// it live that long (see below), or until it ends (SweepExpired, a call that finds it expired).
// Creates without a cap, Rotate and every other call take no lock and count nothing.
//
// Why a session is gone: an ended session's row becomes a stub saying why and when (the
// idempotency stubs, extended), kept for --gone_retention (or the request_id's idempotency
// window, whichever is longer; deleted at once if both are zero), then reclaimed by the sweeper.
//
// Events: each write appends its events to the events table in its last statement, numbered by
// the one row of the event sequence table, which the transaction then holds locked until it
// commits: sequences commit in order with no gaps, so every replica's PgEventTail
// (postgres_event_tail.h) reads them in one order without ever skipping one. The cost: writes
// that record events commit one at a time (each holding the lock for its last statement and its
// COMMIT, about one round trip and a WAL flush). The sweeper trims the table to
// --event_retention.
//
// Expiry: each call reads this replica's clock (options.clock) and treats a row whose idle
// deadline has passed as absent (NOT_FOUND saying it expired); replicas need synchronised clocks
// (NTP). SweepExpired ends expired sessions 500 per transaction (at most 20 a call), picking them
// with FOR UPDATE SKIP LOCKED, so replicas sweeping at once share the work and each expiry is
// recorded once (its event and its stub in the same transaction). A call that finds a session
// expired answers NOT_FOUND saying so and then ends it in a transaction of its own (the same
// locked check, so the sweeper and other calls never record it twice); until a call or a sweep
// ends it, it stays in the principal index (ListSessions and the cap skip it).
//
// Renewals of the idle timer alone (Get, Touch) are written once they move the stored deadline by
// a second or more (in one UPDATE that only ever moves it and last_access_at later); until then
// this replica holds them in memory (at most 16,384) and answers with them, and writes them all
// when it sweeps or closes. So the stored deadline can lag the one a read reported by less than a
// second: a crash of this replica, or a read on another replica or its sweeper, can end a session
// up to a second early. With --watch_touches a renewal is a write with its event.
//
// Durability: a call returns once PostgreSQL committed it, durable as the server's settings make
// it (synchronous_commit on, the default: flushed to its WAL). If the connection is lost while
// COMMIT is under way, the call fails with UNAVAILABLE and the write may have been applied; a
// retry with the same request_id applies it at most once.
//
// Failures: every call is bounded by options.timeout (connecting, waiting for a pooled connection,
// each round trip; statement_timeout is set to it as well). PostgreSQL unreachable, shutting down
// or too slow gives UNAVAILABLE and the connection is dropped; after options.unhealthy_after
// consecutive failed calls or probes (SELECT 1 each probe_interval), AcceptsWrites() is false
// (health NOT_SERVING) until one succeeds. New connections open on demand, so the store recovers
// by itself when the server is back. MayBlock() is true.
//
// Stats: live_sessions is PostgreSQL's row estimate (pg_class.reltuples, stubs included, updated
// by VACUUM and ANALYZE), approximate_bytes the table's size with its indexes and TOAST,
// principal_index_entries an exact count over the principal index (a scan of it per call).
#ifndef SESSIOND_STORAGE_POSTGRES_STORE_H_
#define SESSIOND_STORAGE_POSTGRES_STORE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/clock.h"
#include "storage/postgres_connection.h"
#include "storage/session.h"
#include "storage/store.h"

namespace sessiond::storage {

struct PostgresStoreOptions {
  PgTarget target;
  // Every table's name starts with it, so several stores can share one database.
  std::string table_prefix = "sessiond_";
  // Most connections open at once; calls beyond wait for one (within their deadline).
  size_t pool_size = 16;
  // The bound of one call, retries included.
  absl::Duration timeout = absl::Seconds(2);
  // How often a transaction is tried when PostgreSQL reports a serialization failure or deadlock.
  int max_attempts = 5;
  // Time source; not owned, must outlive the store. Null means RealClock().
  Clock* clock = nullptr;
  SessionLimits limits;
  int unhealthy_after = 3;
  absl::Duration probe_interval = absl::Seconds(1);
};

// Connects, creates or migrates the schema, and returns the store. INVALID_ARGUMENT for a bad
// DSN or table prefix; UNAVAILABLE if PostgreSQL cannot be reached or refuses the credentials.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_POSTGRES_STORE_H_
