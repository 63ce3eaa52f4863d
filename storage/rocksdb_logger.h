// RocksDB's info log, sent to sessiond's stderr instead of a LOG file in the data directory.
//
// RocksDB 7.8 (as Debian builds it, with assertions) aborts the process when a log writer that saw
// a failed append is used again, and its own LOG file is one such writer: on a full disk a flush
// logging its progress killed sessiond (seen in a core dump: FlushJob::WriteLevel0Table ->
// EnvLogger::Logv -> WritableFileWriter::Append). Logging to stderr needs no disk space, and puts
// RocksDB's warnings where an operator (or a container runtime) already reads sessiond's.
#ifndef SESSIOND_STORAGE_ROCKSDB_LOGGER_H_
#define SESSIOND_STORAGE_ROCKSDB_LOGGER_H_

#include <memory>

#include "rocksdb/env.h"

namespace sessiond::storage {

// A logger that writes each RocksDB message at `level` or above to stderr as one line prefixed
// "sessiond: rocksdb: ". Thread-safe.
std::shared_ptr<rocksdb::Logger> NewStderrRocksDbLogger(rocksdb::InfoLogLevel level);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_ROCKSDB_LOGGER_H_
