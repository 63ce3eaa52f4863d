#include "storage/rocksdb_logger.h"

#include <cstdarg>
#include <cstdio>

namespace sessiond::storage {
namespace {

class StderrLogger final : public rocksdb::Logger {
 public:
  explicit StderrLogger(rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {}

  // Called for messages at or above the logger's level (Logger::Logv(level, ...) filters).
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof(line), format, ap);
    // One fprintf per line: stdio locks the stream, so lines from RocksDB's threads do not mix.
    std::fprintf(stderr, "sessiond: rocksdb: %s\n", line);
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewStderrRocksDbLogger(rocksdb::InfoLogLevel level) {
  return std::make_shared<StderrLogger>(level);
}

}  // namespace sessiond::storage
