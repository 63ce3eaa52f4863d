// PgRowWrite: what one PostgreSQL store transaction writes (rows placed, rows deleted, events),
// gathered while the transaction decides and sent in its last statement, kPgWriteSql, so that a
// write costs one round trip however many rows and events it has. Plain data; not thread-safe.
#ifndef SESSIOND_STORAGE_POSTGRES_ROW_WRITE_H_
#define SESSIOND_STORAGE_POSTGRES_ROW_WRITE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "storage/postgres_connection.h"
#include "storage/session_codec.h"
#include "storage/session_event.h"

namespace sessiond::storage {

// Every write of a transaction, in its last statement (the only one that writes): deletes the rows
// $1; places the rows $2..$8 (id, deadline, stub, record, principal, created, last access),
// replacing a row under the same id unless the id is one of $9 ("fresh": placed only where no row
// is, or a stub that went before $10); and appends the events $11 under the next sequences. Answers
// how many rows it placed, and whether it placed the first fresh one.
//
// The sequences are given by updating the one row of {p}event_sequence, whose lock the
// transaction then holds until it commits: a transaction that appends events waits for the one
// before to commit, so sequences become visible in order and without gaps (a rollback gives
// its numbers back), and a reader that reads "after the last sequence I read" never skips one
// that commits later (postgres_event_tail.h). The price: appending transactions commit one at
// a time, each holding the lock for its last statement and its COMMIT.
//
// "{t}" stands for the sessions table, "{p}" for the table prefix. Parameters: PgRowWrite::Params.
inline constexpr char kPgWriteSql[] =
    "WITH removed AS (DELETE FROM {t} WHERE id = ANY($1::bytea[])), "
    "placed AS ("
    "INSERT INTO {t} AS s (id, idle_expires_at, stub, record, principal, created_at, "
    "last_access_at) "
    "SELECT * FROM unnest($2::bytea[], $3::int8[], $4::bool[], $5::bytea[], $6::bytea[], "
    "$7::int8[], $8::int8[]) "
    "ON CONFLICT (id) DO UPDATE SET idle_expires_at = EXCLUDED.idle_expires_at, "
    "stub = EXCLUDED.stub, record = EXCLUDED.record, principal = EXCLUDED.principal, "
    "created_at = EXCLUDED.created_at, last_access_at = EXCLUDED.last_access_at "
    "WHERE NOT (s.id = ANY($9::bytea[])) OR (s.stub AND s.idle_expires_at <= $10::int8) "
    "RETURNING s.id), "
    "numbered AS (UPDATE {p}event_sequence SET last = last + cardinality($11::bytea[]) "
    "WHERE cardinality($11::bytea[]) > 0 RETURNING last), "
    "appended AS (INSERT INTO {p}events (sequence, record) "
    "SELECT numbered.last - cardinality($11::bytea[]) + e.n, e.record "
    "FROM numbered, unnest($11::bytea[]) WITH ORDINALITY AS e(record, n)) "
    "SELECT (SELECT count(*) FROM placed), "
    "(SELECT count(*) FROM placed WHERE id = ($9::bytea[])[1])";

class PgRowWrite {
 public:
  // Stores `session` under its id (and sets its indexed_deadline to its idle deadline); `fresh`:
  // only if no row holds the id, or a stub that went before the write's `now`.
  void Place(StoredSession& session, bool fresh);
  // Deletes the row `id`.
  void Remove(const std::string& id);
  // Appends `event` (numbered by the statement).
  void Record(SessionEvent event);

  // True if there is nothing to write.
  bool empty() const { return ids_.empty() && removed_.empty() && events_.empty(); }

  // The parameters of kPgWriteSql at `now`.
  std::vector<PgParam> Params(absl::Time now) const;

  // The outcome of kPgWriteSql that answered `placed` rows placed, `first_fresh` of them the first
  // fresh one: OK if it placed every row; ALREADY_EXISTS if the first fresh one's id is taken;
  // else ABORTED without a Conflict, for the transaction to be tried again (another fresh row's
  // id was taken by a concurrent attempt of the same request, which the retry then finds).
  absl::Status Outcome(int64_t placed, int64_t first_fresh) const;

 private:
  std::vector<std::optional<std::string>> removed_, ids_, records_, principals_, fresh_;
  // int8[] and bool[] elements in text form ("NULL" for none).
  std::vector<std::string> deadlines_, stubs_, created_, last_access_;
  std::vector<SessionEvent> events_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_POSTGRES_ROW_WRITE_H_
