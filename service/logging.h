// Logging: every line sessiond writes to stderr, as text (the default) or as JSON, one object a
// line: {"time":"2026-01-02T03:04:05.678Z","level":"info","message":"...", <fields>...}.
//
// Log() writes one record with a level and fields. Lines other code writes to std::cerr (the
// store, the sweeper) and gRPC's own log lines become records too: std::cerr lines at level
// "error" when they say something failed ("fail", "error", "cannot"), else "info"; a leading
// "sessiond: " is dropped from the message. Never pass a session id in a message or field.
#ifndef SESSIOND_SERVICE_LOGGING_H_
#define SESSIOND_SERVICE_LOGGING_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sessiond::service {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Selects the format ("text" or "json"); for json, routes std::cerr and gRPC's log lines through
// it (text leaves them as they are).
// Call once, early in main, before other threads start. INVALID_ARGUMENT naming --log_format for
// another name.
absl::Status InitLogging(absl::string_view format);

// A field of a log record: name and value (written as a JSON string).
using LogField = std::pair<absl::string_view, std::string>;

// Writes one record. Thread-safe.
void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});

// One record as the selected format writes it, without the trailing newline (for tests).
std::string FormatLogRecord(bool json, LogLevel level, absl::string_view message,
                            std::initializer_list<LogField> fields);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_LOGGING_H_
