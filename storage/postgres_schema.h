// The PostgreSQL store's schema and its migrations. sessiond creates and migrates the schema
// itself when it opens the store: the migrations run in one transaction under a transaction-level
// advisory lock, so replicas starting at once apply each migration exactly once (the others wait,
// then find it applied). Migrations only ever add to the schema, so a replica of an older build
// runs on a schema a newer one migrated (it says so on stderr).
//
// Migration 1 (tables named with the store's prefix, "sessiond_" by default):
//
//   CREATE TABLE sessiond_schema_migrations (
//     version    integer PRIMARY KEY,
//     applied_at timestamptz NOT NULL DEFAULT now());
//   CREATE TABLE sessiond_sessions (
//     id              bytea PRIMARY KEY,  -- the session id, or a stub's key
//     idle_expires_at bigint NOT NULL,    -- Unix ms; the row is expired from then on
//     stub            boolean NOT NULL,   -- the idempotency record of an ended session
//     record          bytea NOT NULL);    -- everything else: a SessionRecord (session_codec.h)
//   CREATE INDEX sessiond_sessions_idle_expires_at ON sessiond_sessions (idle_expires_at);
//
// Migration 2 (issue 13: a user's sessions, events):
//
//   ALTER TABLE sessiond_sessions
//     ADD COLUMN principal      bytea,   -- a live session's principal; NULL: none, or a stub
//     ADD COLUMN created_at     bigint,  -- Unix ms (NULL for a stub)
//     ADD COLUMN last_access_at bigint;  -- Unix ms, the record's or a later renewal's
//   CREATE INDEX sessiond_sessions_principal ON sessiond_sessions
//     (principal, created_at DESC, id DESC) WHERE principal IS NOT NULL;  -- the principal index
//   CREATE TABLE sessiond_event_sequence (one boolean PRIMARY KEY, last bigint NOT NULL);
//   INSERT INTO sessiond_event_sequence VALUES (true, 0);  -- the last event sequence given
//   CREATE TABLE sessiond_events (
//     sequence bigint PRIMARY KEY,   -- from sessiond_event_sequence, in commit order
//     record   bytea NOT NULL);      -- an EventRecord (session_codec.h)
//
// and, in the same transaction, fills the three new columns of the sessions an older build wrote
// from their records (decoded here, 1,000 per statement).
#ifndef SESSIOND_STORAGE_POSTGRES_SCHEMA_H_
#define SESSIOND_STORAGE_POSTGRES_SCHEMA_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/postgres_connection.h"

namespace sessiond::storage {

// The schema version this build migrates to.
inline constexpr int kPostgresSchemaVersion = 2;

// INVALID_ARGUMENT naming --postgres_table_prefix unless `prefix` is a safe start of an SQL
// identifier: a lowercase letter or '_', then lowercase letters, digits or '_', at most 40 bytes.
absl::Status ValidateTablePrefix(absl::string_view prefix);

// The sessions table of `prefix`.
std::string SessionsTable(absl::string_view prefix);

// The events table of `prefix` and the one-row table of its last sequence.
std::string EventsTable(absl::string_view prefix);
std::string EventSequenceTable(absl::string_view prefix);

// Brings the schema of `prefix` up to kPostgresSchemaVersion, by `deadline`.
absl::Status MigratePostgresSchema(PgConnection& connection, absl::string_view prefix,
                                   absl::Time deadline);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_POSTGRES_SCHEMA_H_
