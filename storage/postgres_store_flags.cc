// The PostgreSQL store's flags, with defaults from PostgresStoreOptions.
#include <string>

#include "absl/flags/flag.h"
#include "storage/backend_flags.h"
#include "storage/postgres_store.h"
#include "storage/secret_file.h"

namespace {
const sessiond::storage::PostgresStoreOptions kDefaults;
}  // namespace

ABSL_FLAG(std::string, postgres_dsn, "",
          "postgres: the libpq connection string (\"host=... dbname=... user=...\" or a "
          "postgresql:// URI; TLS with sslmode=verify-full and sslrootcert=...); prefer "
          "SESSIOND_POSTGRES_DSN or --postgres_password_file for the password");
ABSL_FLAG(std::string, postgres_password_file, "",
          "postgres: a file whose first line is the password (overrides the DSN's)");
ABSL_FLAG(std::string, postgres_table_prefix, kDefaults.table_prefix,
          "postgres: the prefix of the tables sessiond creates and migrates");
ABSL_FLAG(uint64_t, postgres_pool_size, kDefaults.pool_size,
          "postgres: most connections open at once (each carries one call at a time)");
ABSL_FLAG(absl::Duration, postgres_timeout, kDefaults.timeout,
          "postgres: how long one call may take, connecting and retries included (also the "
          "statement_timeout); keep it under the deadline clients give their calls");
ABSL_FLAG(int, postgres_max_attempts, kDefaults.max_attempts,
          "postgres: how often a transaction is tried when PostgreSQL reports a serialization "
          "failure or deadlock, before the call fails with UNAVAILABLE");
ABSL_FLAG(int, postgres_unhealthy_after, kDefaults.unhealthy_after,
          "postgres: health says NOT_SERVING after this many consecutive calls or probes failed "
          "to reach PostgreSQL, until one succeeds");

namespace sessiond::storage {

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStoreFromFlags(const SessionLimits& limits) {
  PostgresStoreOptions options;
  options.target.dsn = absl::GetFlag(FLAGS_postgres_dsn);
  if (options.target.dsn.empty()) {
    return absl::InvalidArgumentError(
        "--store=postgres needs --postgres_dsn (say \"host=127.0.0.1 dbname=sessiond\")");
  }
  if (const std::string file = absl::GetFlag(FLAGS_postgres_password_file); !file.empty()) {
    absl::StatusOr<std::string> password = ReadSecretFile(file, "--postgres_password_file");
    if (!password.ok()) return password.status();
    options.target.password = *std::move(password);
  }
  options.table_prefix = absl::GetFlag(FLAGS_postgres_table_prefix);
  options.pool_size = absl::GetFlag(FLAGS_postgres_pool_size);
  if (options.pool_size == 0) {
    return absl::InvalidArgumentError("--postgres_pool_size must be at least 1");
  }
  options.timeout = absl::GetFlag(FLAGS_postgres_timeout);
  options.max_attempts = absl::GetFlag(FLAGS_postgres_max_attempts);
  options.unhealthy_after = absl::GetFlag(FLAGS_postgres_unhealthy_after);
  options.limits = limits;
  return OpenPostgresStore(options);
}

}  // namespace sessiond::storage
