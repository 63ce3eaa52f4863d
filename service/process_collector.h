// ProcessCollector: process and disk metrics read from /proc and the file system at scrape time:
// process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds, process_max_fds,
// process_start_time_seconds and, with a data directory, sessiond_rocksdb_wal_bytes (*.log files),
// sessiond_rocksdb_sst_bytes (*.sst files) and sessiond_data_dir_free_bytes (space an unprivileged
// writer may still use). A value that cannot be read is left out of that scrape.
#ifndef SESSIOND_SERVICE_PROCESS_COLLECTOR_H_
#define SESSIOND_SERVICE_PROCESS_COLLECTOR_H_

#include <string>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace sessiond::service {

class ProcessCollector : public prometheus::Collectable {
 public:
  // `data_dir`: the RocksDB directory, or empty for a store without one.
  explicit ProcessCollector(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string data_dir_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_PROCESS_COLLECTOR_H_
