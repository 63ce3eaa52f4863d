#include "storage/postgres_event_tail.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/postgres_schema.h"
#include "storage/session_codec.h"

namespace sessiond::storage {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(50);
constexpr absl::Duration kReconnectInterval = absl::Milliseconds(100);
constexpr int kBatch = 1000;

// A connection to `target` with the statement "tail" (`read_sql`) prepared on it.
absl::StatusOr<std::unique_ptr<PgConnection>> ConnectAndPrepare(const PgTarget& target,
                                                                const std::string& read_sql,
                                                                absl::Time deadline) {
  absl::StatusOr<std::unique_ptr<PgConnection>> connection =
      PgConnection::Connect(target, deadline);
  if (!connection.ok()) return connection;
  if (absl::Status prepared = (*connection)->Prepare("tail", read_sql, deadline); !prepared.ok()) {
    return prepared;
  }
  return connection;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgEventTail>> PgEventTail::Start(const PgTarget& target,
                                                                const std::string& table_prefix,
                                                                size_t retention,
                                                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string events = EventsTable(table_prefix);
  const std::string read_sql =
      absl::StrCat("SELECT sequence, record FROM ", events,
                   " WHERE sequence > $1 ORDER BY sequence LIMIT ", kBatch);
  absl::StatusOr<std::unique_ptr<PgConnection>> connection =
      ConnectAndPrepare(target, read_sql, deadline);
  if (!connection.ok()) return connection.status();
  absl::StatusOr<PgResult> first =
      (*connection)
          ->Run(absl::StrCat("SELECT coalesce((SELECT min(sequence) FROM ", events,
                             "), (SELECT last + 1 FROM ", EventSequenceTable(table_prefix), "))"),
                deadline);
  if (!first.ok()) return first.status();
  // Run answers in text.
  uint64_t first_sequence = 1;
  if (first->rows() != 1 || !absl::SimpleAtoi(first->Bytes(0, 0), &first_sequence) ||
      first_sequence == 0) {
    return absl::DataLossError("the PostgreSQL event sequence is not a number");
  }
  return std::unique_ptr<PgEventTail>(new PgEventTail(target, read_sql, retention, timeout,
                                                      first_sequence, *std::move(connection)));
}

PgEventTail::PgEventTail(const PgTarget& target, std::string read_sql, size_t retention,
                         absl::Duration timeout, uint64_t first_sequence,
                         std::unique_ptr<PgConnection> connection)
    : target_(target),
      read_sql_(std::move(read_sql)),
      timeout_(timeout),
      log_(retention, first_sequence),
      connection_(std::move(connection)),
      tailed_(first_sequence - 1),
      thread_([this] { Run(); }) {}

PgEventTail::~PgEventTail() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void PgEventTail::Poke() {
  absl::MutexLock lock(&mu_);
  poked_ = true;
}

bool PgEventTail::Wait(absl::Duration interval) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(this, &PgEventTail::PokedOrStopping), interval);
  poked_ = false;
  return !stopping_;
}

void PgEventTail::Run() {
  // The first read replays what the table holds.
  bool full = true;
  for (;;) {
    absl::Status read = ReadBatch(&full);
    if (!read.ok()) {
      connection_.reset();
      full = false;
    }
    if (full) {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      continue;
    }
    if (!Wait(read.ok() ? kPollInterval : kReconnectInterval)) return;
  }
}

absl::Status PgEventTail::ReadBatch(bool* full) {
  *full = false;
  const absl::Time deadline = absl::Now() + timeout_;
  if (connection_ == nullptr) {
    absl::StatusOr<std::unique_ptr<PgConnection>> connection =
        ConnectAndPrepare(target_, read_sql_, deadline);
    if (!connection.ok()) return connection.status();
    connection_ = *std::move(connection);
  }
  absl::StatusOr<PgResult> rows =
      connection_->RunPrepared("tail", {PgParam::Number(static_cast<int64_t>(tailed_))}, deadline);
  if (!rows.ok()) return rows.status();
  for (int row = 0; row < rows->rows(); ++row) {
    const uint64_t sequence = static_cast<uint64_t>(rows->Int64(row, 0));
    absl::StatusOr<SessionEvent> event = DecodeEvent(sequence, rows->Bytes(row, 1));
    // A malformed event is skipped rather than stopping every later one.
    if (event.ok()) log_.Append(*std::move(event));
    tailed_ = sequence;
  }
  *full = rows->rows() == kBatch;
  return absl::OkStatus();
}

}  // namespace sessiond::storage
