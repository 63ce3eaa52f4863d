#include "service/ops_flags.h"

#include <malloc.h>

#include <algorithm>
#include <cstdint>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"

ABSL_FLAG(std::string, metrics_listen, "",
          "host:port to serve Prometheus metrics on at /metrics (for example 0.0.0.0:9090); "
          "empty: no metrics");
ABSL_FLAG(std::string, log_format, "text",
          "text, or json: one object a line with time, level, message and fields");
ABSL_FLAG(uint64_t, malloc_arenas, 1,
          "most glibc malloc arenas; 1 packs sessions tightest (docs/PERFORMANCE.md), raise it on "
          "many cores if malloc contends; 0: glibc's default (8 per core, or MALLOC_ARENA_MAX)");

namespace sessiond::service {

std::string LogFormatFlag() { return absl::GetFlag(FLAGS_log_format); }

void LimitMallocArenasFromFlags() {
  const uint64_t arenas = absl::GetFlag(FLAGS_malloc_arenas);
  if (arenas != 0) mallopt(M_ARENA_MAX, static_cast<int>(std::min<uint64_t>(arenas, INT32_MAX)));
}

absl::StatusOr<std::unique_ptr<Metrics>> StartMetricsFromFlags(absl::string_view store) {
  const std::string listen = absl::GetFlag(FLAGS_metrics_listen);
  if (listen.empty()) return nullptr;
  std::string data_dir;
  if (store == "rocksdb") {
    if (const absl::CommandLineFlag* flag = absl::FindCommandLineFlag("data_dir")) {
      data_dir = flag->CurrentValue();
    }
  }
  return Metrics::Start(listen, data_dir);
}

}  // namespace sessiond::service
