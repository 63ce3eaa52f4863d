#include "storage/postgres_schema.h"

#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

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
};
static_assert(std::size(kMigrations) == kPostgresSchemaVersion);

std::string Expand(absl::string_view sql, absl::string_view prefix) {
  return absl::StrReplaceAll(sql, {{"{p}", prefix}});
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
