#include "storage/rocksdb_logger.h"

#include <cstdarg>
#include <cstdio>
#include <iostream>
#include <string>

namespace sessiond::storage {
namespace {

class StderrLogger final : public rocksdb::Logger {
 public:
  explicit StderrLogger(rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {}

  // Called for messages at or above the logger's level (Logger::Logv(level, ...) filters).
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof(line), format, ap);
    // One write per line, so lines from RocksDB's threads do not mix; through std::cerr, so that
    // --log_format=json turns it into a record.
    std::cerr << std::string("sessiond: rocksdb: ") + line + "\n";
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewStderrRocksDbLogger(rocksdb::InfoLogLevel level) {
  return std::make_shared<StderrLogger>(level);
}

}  // namespace sessiond::storage
