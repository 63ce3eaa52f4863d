#include "storage/postgres_schema.h"

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "storage/session_codec.h"

namespace sessiond::storage {
namespace {

// Migration n is kMigrations[n - 1]; "{p}" stands for the table prefix. Append only.
constexpr absl::string_view kMigrations[] = {
    R"sql(
CREATE TABLE {p}sessions (
  id bytea PRIMARY KEY,
  idle_expires_at bigint NOT NULL,
  stub boolean NOT NULL,
  record bytea NOT NULL);
CREATE INDEX {p}sessions_idle_expires_at ON {p}sessions (idle_expires_at);
)sql",
    R"sql(
ALTER TABLE {p}sessions
  ADD COLUMN principal bytea,
  ADD COLUMN created_at bigint,
  ADD COLUMN last_access_at bigint;
CREATE INDEX {p}sessions_principal ON {p}sessions (principal, created_at DESC, id DESC)
  WHERE principal IS NOT NULL;
CREATE TABLE {p}event_sequence (one boolean PRIMARY KEY CHECK (one), last bigint NOT NULL);
INSERT INTO {p}event_sequence VALUES (true, 0);
CREATE TABLE {p}events (sequence bigint PRIMARY KEY, record bytea NOT NULL);
)sql",
};
// The first migration after which sessions carry their principal, created_at and last_access_at
// in columns; the sessions of an older schema get them filled (BackfillSessionColumns).
constexpr int kColumnsMigration = 2;
constexpr int kBackfillBatch = 1000;
static_assert(std::size(kMigrations) == kPostgresSchemaVersion);

std::string Expand(absl::string_view sql, absl::string_view prefix) {
  return absl::StrReplaceAll(sql, {{"{p}", prefix}});
}

// Fills principal, created_at and last_access_at of the sessions a schema before
// kColumnsMigration stored, from their records, in the open transaction.
absl::Status BackfillSessionColumns(PgConnection& connection, absl::string_view prefix,
                                    absl::Time deadline) {
  if (absl::Status prepared = connection.Prepare(
          "backfill_read",
          Expand(absl::StrCat("SELECT id, record FROM {p}sessions WHERE NOT stub AND created_at IS "
                              "NULL ORDER BY id LIMIT ",
                              kBackfillBatch),
                 prefix),
          deadline);
      !prepared.ok()) {
    return prepared;
  }
  if (absl::Status prepared = connection.Prepare(
          "backfill_write",
          Expand("UPDATE {p}sessions AS s SET principal = u.principal, created_at = u.created, "
                 "last_access_at = u.last_access FROM unnest($1::bytea[], $2::bytea[], "
                 "$3::int8[], $4::int8[]) AS u(id, principal, created, last_access) "
                 "WHERE s.id = u.id",
                 prefix),
          deadline);
      !prepared.ok()) {
    return prepared;
  }
  for (;;) {
    absl::StatusOr<PgResult> rows = connection.RunPrepared("backfill_read", {}, deadline);
    if (!rows.ok()) return rows.status();
    if (rows->rows() == 0) return absl::OkStatus();
    std::vector<std::optional<std::string>> ids, principals;
    std::vector<std::string> created, last_access;
    for (int row = 0; row < rows->rows(); ++row) {
      absl::StatusOr<StoredSession> session =
          DecodeSession(rows->Bytes(row, 0), rows->Bytes(row, 1));
      if (!session.ok()) return session.status();
      ids.emplace_back(rows->Bytes(row, 0));
      principals.push_back(session->meta.principal.empty()
                               ? std::nullopt
                               : std::optional<std::string>(session->meta.principal));
      created.push_back(absl::StrCat(absl::ToUnixMillis(session->meta.created_at)));
      last_access.push_back(absl::StrCat(absl::ToUnixMillis(session->meta.last_access_at)));
    }
    absl::StatusOr<PgResult> written = connection.RunPrepared(
        "backfill_write",
        {PgParam::ByteaArray(ids), PgParam::ByteaArray(principals),
         PgParam::Text(absl::StrCat("{", absl::StrJoin(created, ","), "}")),
         PgParam::Text(absl::StrCat("{", absl::StrJoin(last_access, ","), "}"))},
        deadline);
    if (!written.ok()) return written.status();
    if (rows->rows() < kBackfillBatch) return absl::OkStatus();
  }
}

// Runs the migrations in the open transaction, holding its advisory lock.
absl::Status MigrateLocked(PgConnection& connection, absl::string_view prefix,
                           absl::Time deadline) {
  absl::StatusOr<PgResult> locked = connection.Run(
      Expand("SELECT pg_advisory_xact_lock(hashtext('{p}schema_migrations'))", prefix), deadline);
  if (!locked.ok()) return locked.status();
  absl::StatusOr<PgResult> table = connection.Run(
      Expand("CREATE TABLE IF NOT EXISTS {p}schema_migrations (version integer PRIMARY KEY, "
             "applied_at timestamptz NOT NULL DEFAULT now())",
             prefix),
      deadline);
  if (!table.ok()) return table.status();
  absl::StatusOr<PgResult> current = connection.Run(
      Expand("SELECT coalesce(max(version), 0)::bigint FROM {p}schema_migrations", prefix),
      deadline);
  if (!current.ok()) return current.status();
  // Run (simple protocol) answers in text.
  const int version = std::atoi(std::string(current->Bytes(0, 0)).c_str());
  if (version > kPostgresSchemaVersion) {
    std::cerr << "sessiond: the PostgreSQL schema is at version " << version
              << ", newer than this build's " << kPostgresSchemaVersion
              << "; carrying on (migrations only add)\n";
  }
  for (int next = version + 1; next <= kPostgresSchemaVersion; ++next) {
    absl::StatusOr<PgResult> applied = connection.Run(
        absl::StrCat(Expand(kMigrations[next - 1], prefix),
                     Expand("INSERT INTO {p}schema_migrations (version) VALUES (", prefix), next,
                     ")"),
        deadline);
    if (!applied.ok()) return applied.status();
  }
  if (version > 0 && version < kColumnsMigration) {
    return BackfillSessionColumns(connection, prefix, deadline);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTablePrefix(absl::string_view prefix) {
  bool valid = !prefix.empty() && prefix.size() <= 40 && !absl::ascii_isdigit(prefix[0]);
  for (char c : prefix) {
    valid = valid && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_');
  }
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--postgres_table_prefix=\"", prefix,
      "\" must be a lowercase letter or '_', then lowercase letters, digits or '_' (at most 40)"));
}

std::string SessionsTable(absl::string_view prefix) { return absl::StrCat(prefix, "sessions"); }

std::string EventsTable(absl::string_view prefix) { return absl::StrCat(prefix, "events"); }

std::string EventSequenceTable(absl::string_view prefix) {
  return absl::StrCat(prefix, "event_sequence");
}

absl::Status MigratePostgresSchema(PgConnection& connection, absl::string_view prefix,
                                   absl::Time deadline) {
  if (absl::StatusOr<PgResult> begun = connection.Run("BEGIN", deadline); !begun.ok()) {
    return begun.status();
  }
  absl::Status migrated = MigrateLocked(connection, prefix, deadline);
  absl::StatusOr<PgResult> ended = connection.Run(migrated.ok() ? "COMMIT" : "ROLLBACK", deadline);
  if (!migrated.ok()) return migrated;
  return ended.status();
}

}  // namespace sessiond::storage
