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
#ifndef SESSIOND_STORAGE_POSTGRES_SCHEMA_H_
#define SESSIOND_STORAGE_POSTGRES_SCHEMA_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/postgres_connection.h"

namespace sessiond::storage {

// The schema version this build migrates to.
inline constexpr int kPostgresSchemaVersion = 1;

// INVALID_ARGUMENT naming --postgres_table_prefix unless `prefix` is a safe start of an SQL
// identifier: a lowercase letter or '_', then lowercase letters, digits or '_', at most 40 bytes.
absl::Status ValidateTablePrefix(absl::string_view prefix);

// The sessions table of `prefix`.
std::string SessionsTable(absl::string_view prefix);

// Brings the schema of `prefix` up to kPostgresSchemaVersion, by `deadline`.
absl::Status MigratePostgresSchema(PgConnection& connection, absl::string_view prefix,
                                   absl::Time deadline);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_POSTGRES_SCHEMA_H_
