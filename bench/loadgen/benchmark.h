// RunBenchmark: one run of the load generator — connect to the target, create the sessions the
// scenario needs (the load phase), then run the scenario (the measured phase) — sampling the
// server's CPU time and memory, and the generator's own CPU time, at the edges of each phase.
#ifndef SESSIOND_BENCH_LOADGEN_BENCHMARK_H_
#define SESSIOND_BENCH_LOADGEN_BENCHMARK_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/loadgen/driver.h"
#include "bench/loadgen/target.h"
#include "bench/loadgen/workload.h"

namespace sessiond::bench {

struct BenchmarkOptions {
  // "grpc" (sessiond over raw gRPC, or the echo server for Op::kEcho), "client" (sessiond through
  // the C++ client, client_target.h) or "redis".
  std::string target = "grpc";
  // "client": the client's automatic batching, and its near cache's bound in bytes
  // (ClientOptions::near_cache_max_bytes; 0: no cache).
  bool batching = true;
  size_t near_cache_bytes = 0;
  std::string address;
  Op op = Op::kWeb;
  // The measured phase.
  int in_flight = 64;
  int channels = 4;
  // redis: connections the slots share, slot s on connection s % N, so several slots' commands
  // are pipelined on one connection; 0: one connection per slot (no pipelining).
  int redis_connections = 0;
  double rate = 0;
  absl::Duration warmup = absl::Seconds(2);
  absl::Duration duration = absl::Seconds(5);
  size_t echo_bytes = 0;
  // The load phase (for Op::kLoad and the operations that use loaded sessions).
  size_t sessions = 10000;
  int load_in_flight = 256;
  absl::Duration load_timeout = absl::Minutes(30);
  // If set, the loaded ids are written there as ghz's --data-file.
  std::string ids_file;
  // The server process to sample (0: none).
  pid_t server_pid = 0;
  // A process the server depends on whose CPU time is sampled too, such as the Redis behind a
  // sessiond on the Redis backend (0: none).
  pid_t backend_pid = 0;
};

// What is sampled at each edge of a phase; unset where not available.
struct Usage {
  std::optional<double> server_cpu_seconds;
  std::optional<int64_t> server_rss_bytes;
  std::optional<double> backend_cpu_seconds;
  // The store's own memory count (Redis's used_memory).
  std::optional<int64_t> store_bytes;
  // The client's near cache, if it has one.
  std::optional<CacheCounts> near_cache;
  double client_cpu_seconds = 0;
};

struct PhaseReport {
  LoopResult loop;
  Usage before;
  Usage after;
};

struct BenchmarkReport {
  // The CPUs the generator and the server may run on (proc_stats.h's CpuAffinity).
  std::string client_cpus;
  std::string server_cpus;
  std::optional<PhaseReport> load;
  // Unset for Op::kLoad.
  std::optional<PhaseReport> run;
};

// UNAVAILABLE if the target cannot be reached; INVALID_ARGUMENT for options the target does not
// support (such as a near cache on a target other than "client"); RESOURCE_EXHAUSTED if the load
// phase created no session at all.
absl::StatusOr<BenchmarkReport> RunBenchmark(const BenchmarkOptions& options);

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_BENCHMARK_H_
