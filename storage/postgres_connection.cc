#include "storage/postgres_connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libpq-fe.h"

namespace sessiond::storage {
namespace {

// libpq's message for `conn`, trimmed.
std::string ErrorText(const PGconn* conn) {
  return std::string(absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn)));
}

// The status for a failed statement's `result`, by its SQLSTATE class.
absl::Status StatementError(const PGresult* result) {
  const char* state_field = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string state = state_field != nullptr ? state_field : "";
  const std::string message =
      absl::StrCat("PostgreSQL: ", absl::StripTrailingAsciiWhitespace(PQresultErrorMessage(result)),
                   " (SQLSTATE ", state, ")");
  // 40001 serialization failure, 40P01 deadlock, 23505 a key a concurrent insert took.
  if (state == "40001" || state == "40P01" || state == "23505") return absl::AbortedError(message);
  // 53: out of disk, memory or connections.
  if (absl::StartsWith(state, "53")) return absl::ResourceExhaustedError(message);
  // 08 connection, 57 operator intervention (shutdown, statement timeout), 25006 a read-only
  // standby, 55P03 lock not available, 58 system error.
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57") || state == "25006" ||
      state == "55P03" || absl::StartsWith(state, "58")) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

}  // namespace

absl::Status ValidateDsn(absl::string_view dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(dsn).c_str(), &error);
  // libpq's message may quote the string, password and all: it is not passed on.
  PQfreemem(error);
  if (options == nullptr) {
    return absl::InvalidArgumentError(
        "--postgres_dsn does not parse as a libpq connection string (key=value pairs or a "
        "postgresql:// URI)");
  }
  PQconninfoFree(options);
  return absl::OkStatus();
}

PgParam PgParam::Number(int64_t number) { return Text(absl::StrCat(number)); }

PgParam PgParam::ByteaArray(const std::vector<std::optional<std::string>>& elements) {
  // array_recv's format: dimensions, has-nulls flag, element type (bytea: oid 17), then per
  // dimension its size and lower bound, then each element as its length (-1: NULL) and bytes; all
  // integers 4 bytes big-endian.
  constexpr uint32_t kByteaOid = 17;
  std::string out;
  const auto put = [&out](uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
  };
  const bool has_nulls = std::any_of(elements.begin(), elements.end(),
                                     [](const auto& element) { return !element.has_value(); });
  put(elements.empty() ? 0 : 1);
  put(has_nulls ? 1 : 0);
  put(kByteaOid);
  if (!elements.empty()) {
    put(static_cast<uint32_t>(elements.size()));
    put(1);
  }
  for (const std::optional<std::string>& element : elements) {
    put(element.has_value() ? static_cast<uint32_t>(element->size()) : 0xFFFFFFFFu);
    if (element.has_value()) out += *element;
  }
  return Binary(std::move(out));
}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

PgResult::~PgResult() { PQclear(result_); }

int PgResult::rows() const { return PQntuples(result_); }

int64_t PgResult::affected() const {
  const char* count = PQcmdTuples(result_);
  return count[0] == '\0' ? 0 : std::strtoll(count, nullptr, 10);
}

absl::string_view PgResult::Bytes(int row, int column) const {
  return absl::string_view(PQgetvalue(result_, row, column), PQgetlength(result_, row, column));
}

int64_t PgResult::Int64(int row, int column) const {
  const absl::string_view bytes = Bytes(row, column);
  uint64_t value = 0;
  for (char byte : bytes) value = (value << 8) | static_cast<uint8_t>(byte);
  return static_cast<int64_t>(value);
}

bool PgResult::Bool(int row, int column) const {
  const absl::string_view bytes = Bytes(row, column);
  return !bytes.empty() && bytes[0] != 0;
}

bool PgResult::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const PgTarget& target,
                                                                    absl::Time deadline) {
  std::vector<const char*> keys = {"dbname", "application_name"};
  std::vector<const char*> values = {target.dsn.c_str(), "sessiond"};
  if (!target.password.empty()) {
    keys.push_back("password");
    values.push_back(target.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  std::unique_ptr<PgConnection> connection(
      new PgConnection(PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/1)));
  if (connection->conn_ == nullptr) return absl::ResourceExhaustedError("libpq: out of memory");
  if (PQstatus(connection->conn_) == CONNECTION_BAD) return connection->Lost("connecting");
  while (true) {
    switch (PQconnectPoll(connection->conn_)) {
      case PGRES_POLLING_OK:
        // Sends never block: Await flushes them within the deadline.
        if (PQsetnonblocking(connection->conn_, 1) != 0) return connection->Lost("connecting");
        return connection;
      case PGRES_POLLING_FAILED:
        return connection->Lost("connecting");
      case PGRES_POLLING_READING:
        if (absl::Status ready = connection->WaitFor(POLLIN, deadline); !ready.ok()) return ready;
        break;
      default:
        if (absl::Status ready = connection->WaitFor(POLLOUT, deadline); !ready.ok()) return ready;
        break;
    }
  }
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::IsIdleAndOpen() {
  if (broken_) return false;
  char byte;
  const ssize_t peeked = recv(PQsocket(conn_), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  broken_ = !(peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  return !broken_;
}

absl::Status PgConnection::Lost(absl::string_view what) {
  broken_ = true;
  return absl::UnavailableError(
      absl::StrCat("PostgreSQL cannot be reached (", what, "): ", ErrorText(conn_)));
}

absl::Status PgConnection::WaitFor(short events, absl::Time deadline) {
  while (true) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) {
      broken_ = true;
      return absl::UnavailableError("PostgreSQL did not answer within the call's deadline");
    }
    pollfd entry = {PQsocket(conn_), events, 0};
    const int ready = poll(&entry, 1, static_cast<int>(left));
    if (ready > 0) return absl::OkStatus();
    if (ready < 0 && errno != EINTR) return Lost(absl::StrCat("poll: ", strerror(errno)));
  }
}

absl::StatusOr<PgResult> PgConnection::Await(absl::Time deadline) {
  // Send everything, then read until the last result.
  while (true) {
    const int flushed = PQflush(conn_);
    if (flushed == 0) break;
    if (flushed < 0) return Lost("sending");
    if (absl::Status ready = WaitFor(POLLOUT | POLLIN, deadline); !ready.ok()) return ready;
    if (PQconsumeInput(conn_) == 0) return Lost("receiving");
  }
  PgResult last(nullptr);
  absl::Status failure;
  while (true) {
    while (PQisBusy(conn_) != 0) {
      if (absl::Status ready = WaitFor(POLLIN, deadline); !ready.ok()) return ready;
      if (PQconsumeInput(conn_) == 0) return Lost("receiving");
    }
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) break;
    const ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_FATAL_ERROR && failure.ok()) failure = StatementError(result);
    last = PgResult(result);
  }
  if (PQstatus(conn_) == CONNECTION_BAD) return Lost("receiving");
  if (!failure.ok()) {
    if (absl::IsUnavailable(failure)) broken_ = true;
    return failure;
  }
  return last;
}

absl::StatusOr<PgResult> PgConnection::Run(absl::string_view sql, absl::Time deadline) {
  if (PQsendQuery(conn_, std::string(sql).c_str()) == 0) return Lost("sending");
  return Await(deadline);
}

absl::Status PgConnection::Prepare(const std::string& name, const std::string& sql,
                                   absl::Time deadline) {
  if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), 0, nullptr) == 0) return Lost("sending");
  return Await(deadline).status();
}

absl::StatusOr<PgResult> PgConnection::RunPrepared(const std::string& name,
                                                   const std::vector<PgParam>& params,
                                                   absl::Time deadline) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const PgParam& param : params) {
    values.push_back(param.value.data());
    lengths.push_back(static_cast<int>(param.value.size()));
    formats.push_back(param.binary ? 1 : 0);
  }
  if (PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(params.size()), values.data(),
                          lengths.data(), formats.data(), /*resultFormat=*/1) == 0) {
    return Lost("sending");
  }
  return Await(deadline);
}

}  // namespace sessiond::storage
