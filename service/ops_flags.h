// The operations flags: --metrics_listen and --log_format (each also settable as SESSIOND_*, like
// every sessiond flag; see server_flags.h).
#ifndef SESSIOND_SERVICE_OPS_FLAGS_H_
#define SESSIOND_SERVICE_OPS_FLAGS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/metrics.h"

namespace sessiond::service {

// --log_format: "text" or "json".
std::string LogFormatFlag();

// Starts serving metrics on --metrics_listen, reporting --data_dir's files when `store` is
// "rocksdb"; nullptr when --metrics_listen is empty. Errors as Metrics::Start.
absl::StatusOr<std::unique_ptr<Metrics>> StartMetricsFromFlags(absl::string_view store);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_OPS_FLAGS_H_
