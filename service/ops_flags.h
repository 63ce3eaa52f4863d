// The operations flags: --metrics_listen, --log_format and --malloc_arenas (each also settable as
// SESSIOND_*, like every sessiond flag; see server_flags.h).
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

// Caps glibc's malloc arenas at --malloc_arenas (0: leaves glibc's default). Call it before
// threads start: threads that allocate at once get arenas of their own, up to the cap, and glibc
// never gives one back. Fewer arenas hold less freed memory apart from the sessions, so a session
// costs fewer resident bytes; on many cores, threads may then wait on each other in malloc.
void LimitMallocArenasFromFlags();

// Starts serving metrics on --metrics_listen, reporting --data_dir's files when `store` is
// "rocksdb"; nullptr when --metrics_listen is empty. Errors as Metrics::Start.
absl::StatusOr<std::unique_ptr<Metrics>> StartMetricsFromFlags(absl::string_view store);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_OPS_FLAGS_H_
