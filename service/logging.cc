#include "service/logging.h"

#include <unistd.h>

#include <atomic>
#include <iostream>
#include <streambuf>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpc/support/log.h"

namespace sessiond::service {
namespace {

std::atomic<bool> json_format{false};
absl::Mutex write_mutex;

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// Writes straight to file descriptor 2, bypassing std::cerr (which may route back here).
void WriteLine(std::string line) {
  line.push_back('\n');
  absl::MutexLock lock(&write_mutex);
  for (size_t written = 0; written < line.size();) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + written, line.size() - written);
    if (n <= 0) return;
    written += static_cast<size_t>(n);
  }
}

// std::cerr's buffer: collects each thread's text up to a newline, then logs it as one record.
class LineLogBuffer : public std::streambuf {
 protected:
  int overflow(int c) override {
    if (c == traits_type::eof()) return 0;
    if (c == '\n') {
      Flush();
    } else {
      Pending().push_back(static_cast<char>(c));
    }
    return c;
  }

  std::streamsize xsputn(const char* text, std::streamsize count) override {
    for (std::streamsize i = 0; i < count; ++i) overflow(static_cast<unsigned char>(text[i]));
    return count;
  }

  // std::cerr flushes after every <<: a record ends only at a newline.
  int sync() override { return 0; }

 private:
  static std::string& Pending() {
    thread_local std::string pending;
    return pending;
  }

  static void Flush() {
    std::string& pending = Pending();
    absl::string_view message = absl::StripPrefix(pending, "sessiond: ");
    const std::string lower = absl::AsciiStrToLower(message);
    const bool failed = absl::StrContains(lower, "fail") || absl::StrContains(lower, "error") ||
                        absl::StrContains(lower, "cannot");
    Log(failed ? LogLevel::kError : LogLevel::kInfo, message);
    pending.clear();
  }
};

void LogFromGrpc(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kInfo;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) level = LogLevel::kError;
  Log(level, args->message,
      {{"source",
        absl::StrCat("grpc ", args->file == nullptr ? "" : args->file, ":", args->line)}});
}

}  // namespace

std::string FormatLogRecord(bool json, LogLevel level, absl::string_view message,
                            std::initializer_list<LogField> fields) {
  std::string out;
  if (!json) {
    out = absl::StrCat("sessiond: ", message);
    for (const auto& [name, value] : fields) absl::StrAppend(&out, " ", name, "=", value);
    return out;
  }
  out = absl::StrCat("{\"time\":\"",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                     "\",\"level\":\"", LevelName(level), "\",\"message\":");
  AppendJsonString(out, message);
  for (const auto& [name, value] : fields) {
    out.push_back(',');
    AppendJsonString(out, name);
    out.push_back(':');
    AppendJsonString(out, value);
  }
  out.push_back('}');
  return out;
}

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields) {
  WriteLine(FormatLogRecord(json_format.load(std::memory_order_relaxed), level, message, fields));
}

absl::Status InitLogging(absl::string_view format) {
  if (format != "text" && format != "json") {
    return absl::InvalidArgumentError(
        absl::StrCat("--log_format=", format, " is not a log format; use text or json"));
  }
  if (format == "text") return absl::OkStatus();
  json_format.store(true, std::memory_order_relaxed);
  static LineLogBuffer* buffer = new LineLogBuffer();
  std::cerr.rdbuf(buffer);
  gpr_set_log_function(&LogFromGrpc);
  return absl::OkStatus();
}

}  // namespace sessiond::service
