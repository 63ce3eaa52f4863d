// The PostgreSQL Store: sessions in one PostgreSQL table, shared by any number of stateless
// sessiond replicas. The schema and its migrations are in postgres_schema.h; connections in
// postgres_connection.h, pooled by connection_pool.h.
//
// Layout: one row per session (id, idle deadline, stub flag, record), the record being the
// RocksDB backend's encoding (session_codec.h: packed entries, tombstones, request ids). A call
// reads and writes one row (a rotation two), so a commit costs one row update however many keys
// it changes; the idle deadline is a column of its own, indexed, so renewals and the sweeper never
// touch the record.
//
// Atomicity: every call is one transaction at READ COMMITTED. A read is one SELECT. A write locks
// the session's row (SELECT ... FOR UPDATE), checks and applies the change in sessiond with the
// same SessionState code as the other backends (so conflicts are exactly theirs), writes the row
// and commits. A Create inserts with ON CONFLICT, replacing only an expired row. Serialization
// failures, deadlocks (crossing rotations) and an insert racing another are retried from the
// start, at most options.max_attempts times within the call's deadline, then UNAVAILABLE.
//
// Expiry: each call reads this replica's clock (options.clock) and treats a row whose idle
// deadline has passed as absent; replicas need synchronised clocks (NTP). SweepExpired deletes
// expired rows in batches of 1,000 (at most 10 batches a call), each batch one statement that
// picks its rows with FOR UPDATE SKIP LOCKED, so replicas sweeping at once share the work.
//
// Renewals of the idle timer alone (Get, Touch) are written once they move the stored deadline by
// a second or more (in one UPDATE that only ever moves it later); until then this replica holds
// them in memory (at most 16,384) and answers with them, and writes them all when it sweeps or
// closes. So the stored deadline can lag the one a read reported by less than a second: a crash
// of this replica, or a read on another replica or its sweeper, can end a session up to a second
// early.
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
// by VACUUM and ANALYZE), approximate_bytes the table's size with its indexes and TOAST.
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
