// PgConnection: one libpq connection to PostgreSQL whose every wait is bounded by a deadline, with
// the statements a store prepared on it. Not thread-safe: one caller at a time (a ConnectionPool
// hands each connection to one caller). Results are in binary format: bytea as raw bytes, bigint as
// 8 big-endian bytes, boolean as one byte.
//
// Errors become absl::Status: UNAVAILABLE when the server cannot be reached, does not answer by
// the deadline, shuts down or cannot write now (the connection is then broken() and must be
// dropped); ABORTED for the errors a transaction retried from its start may not meet again
// (serialization failure, deadlock, a unique key taken by a concurrent insert);
// RESOURCE_EXHAUSTED when the server is out of disk or memory; INTERNAL otherwise (a bug). The
// messages never hold the connection string or the password.
#ifndef SESSIOND_STORAGE_POSTGRES_CONNECTION_H_
#define SESSIOND_STORAGE_POSTGRES_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct pg_conn;
struct pg_result;

namespace sessiond::storage {

// Where and how to connect: a libpq connection string (key=value pairs or a postgresql:// URI)
// and, if not empty, a password that overrides the one it holds.
struct PgTarget {
  std::string dsn;
  std::string password;
};

// INVALID_ARGUMENT (naming --postgres_dsn, without echoing it) if `dsn` does not parse.
absl::Status ValidateDsn(absl::string_view dsn);

// A statement's parameter: text (numbers, as decimal; arrays of numbers as "{1,2}") or binary
// (bytea, bytea[]).
struct PgParam {
  static PgParam Text(std::string text) { return {std::move(text), false}; }
  static PgParam Binary(std::string bytes) { return {std::move(bytes), true}; }
  static PgParam Number(int64_t number);
  // A one-dimensional bytea[] (nullopt: a NULL element) in PostgreSQL's binary array format; the
  // statement must cast it ($1::bytea[]).
  static PgParam ByteaArray(const std::vector<std::optional<std::string>>& elements);

  std::string value;
  bool binary;
};

// A statement's result (owned).
class PgResult {
 public:
  explicit PgResult(pg_result* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  PgResult& operator=(PgResult&& other) noexcept;
  ~PgResult();

  int rows() const;
  // Rows a command (INSERT, UPDATE, DELETE) affected.
  int64_t affected() const;
  // The raw bytes of a column (bytea), valid while the result lives.
  absl::string_view Bytes(int row, int column) const;
  // A bigint column.
  int64_t Int64(int row, int column) const;
  // A boolean column.
  bool Bool(int row, int column) const;
  bool IsNull(int row, int column) const;

 private:
  pg_result* result_;
};

class PgConnection {
 public:
  // Connects to `target` by `deadline`. UNAVAILABLE if the server cannot be reached or refuses.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const PgTarget& target,
                                                               absl::Time deadline);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `sql` (several statements allowed, no parameters) and returns the last result.
  absl::StatusOr<PgResult> Run(absl::string_view sql, absl::Time deadline);
  // Prepares `sql` as statement `name` on this connection.
  absl::Status Prepare(const std::string& name, const std::string& sql, absl::Time deadline);
  // Runs prepared statement `name` with `params`.
  absl::StatusOr<PgResult> RunPrepared(const std::string& name, const std::vector<PgParam>& params,
                                       absl::Time deadline);

  // For a connection not in use: false (and broken() from now on) if the server closed it or sent
  // something unasked (a shutdown's notice), true if it looks usable. Does not block.
  bool IsIdleAndOpen();

  // True once the connection failed in a way that leaves it unusable (lost, timed out, or in an
  // unknown transaction state): the pool drops it.
  bool broken() const { return broken_; }

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  // Waits for the results of the query just sent, by `deadline`, and returns the last one.
  absl::StatusOr<PgResult> Await(absl::Time deadline);
  // Waits until the socket is ready for `events` (poll flags) or the deadline passes.
  absl::Status WaitFor(short events, absl::Time deadline);
  // Marks the connection broken and returns UNAVAILABLE with libpq's message after `what`.
  absl::Status Lost(absl::string_view what);

  pg_conn* conn_;
  bool broken_ = false;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_POSTGRES_CONNECTION_H_
