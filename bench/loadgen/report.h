// The two lines a run prints: one JSON object for scripts (bench/report.py) and one line for
// people.
//
// JSON: {"label", "target", "scenario", "loop": "closed"|"open", "rate", "in_flight", "channels",
// "sessions", "client_cpus", "server_cpus", "load": PHASE, "run": PHASE} where "load" and "run" are
// present when the run had that phase and PHASE is {"ops", "seconds", "ops_per_s", "p50_us",
// "p99_us", "p999_us", "max_us", "mean_us", "errors": {NAME: count}, "cancelled", "lag_ms",
// "server_cpu_us_per_op", "server_cpu_util", "client_cpu_us_per_op", "client_cpu_util",
// "server_rss_bytes_per_op", "store_bytes_per_op", "backend_cpu_us_per_op",
// "near_cache_hit_ratio"}. "ops" counts successful operations in the window, and every per-op
// figure divides by it; a figure that was not measured is null. "near_cache_hit_ratio" is the share
// of the client's Gets in the window that its near cache answered (null without a cache).
// Utilisation is CPU seconds per second (1.0 = one core busy). For the load phase an op is a
// session created, so the bytes per op are bytes per session.
#ifndef SESSIOND_BENCH_LOADGEN_REPORT_H_
#define SESSIOND_BENCH_LOADGEN_REPORT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "bench/loadgen/benchmark.h"

namespace sessiond::bench {

std::string JsonReport(const BenchmarkOptions& options, const BenchmarkReport& report,
                       absl::string_view label);

std::string HumanReport(const BenchmarkOptions& options, const BenchmarkReport& report,
                        absl::string_view label);

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_REPORT_H_
