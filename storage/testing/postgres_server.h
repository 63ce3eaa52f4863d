// A real PostgreSQL server for tests: initdb into a temporary directory, then postgres on a free
// loopback port (the superuser "sessiond", trusted unless a password is set; fsync off: the tests
// crash processes, not machines, and the WAL written before a commit returns survives a process
// crash), stopped by pid when the object goes. initdb and postgres refuse to run as root, so under
// root both run as the unprivileged user "nobody". Needs the PostgreSQL 15 binaries on PATH or in
// /usr/lib/postgresql/15/bin (Debian: postgresql-15); Start fails with FAILED_PRECONDITION
// naming the package otherwise. Every wait is bounded.
//
// Not thread-safe: one test thread drives it.
#ifndef SESSIOND_STORAGE_TESTING_POSTGRES_SERVER_H_
#define SESSIOND_STORAGE_TESTING_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/testing/child_process.h"

namespace sessiond::storage::testing {

class PostgresServer {
 public:
  // Creates the cluster and starts the server; waits until it accepts connections. With a
  // `password`, connections over TCP must give it (scram-sha-256); Query still gets in through the
  // server's Unix socket.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(std::string password = "");
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A libpq connection string for database `database` of this server (no password).
  std::string Dsn(absl::string_view database = "postgres") const;
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // The data directory (for measuring what the database takes on disk).
  const std::string& data_dir() const { return data_dir_; }

  // Creates database `name` (psql as the superuser).
  absl::Status CreateDatabase(absl::string_view name);
  // Runs `sql` in `database` with psql and returns its unaligned, tuples-only output.
  absl::StatusOr<std::string> Query(absl::string_view database, absl::string_view sql);

  // Stops the server as a crash would (SIGQUIT: immediate shutdown, no checkpoint; the next
  // start recovers from the WAL) and waits for it. No-op if not running.
  void Crash();
  // Starts it again on the same port and data directory, and waits until it accepts connections.
  absl::Status Restart();

 private:
  PostgresServer() = default;
  absl::Status Init(const std::string& password);
  absl::Status Launch();

  std::optional<RunAs> run_as_;
  std::string dir_;
  std::string data_dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sessiond::storage::testing

#endif  // SESSIOND_STORAGE_TESTING_POSTGRES_SERVER_H_
