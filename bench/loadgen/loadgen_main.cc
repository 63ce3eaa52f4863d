// loadgen: the sessiond load generator. Flags -> BenchmarkOptions -> RunBenchmark -> one JSON line
// on stdout and one human line on stderr. bench/run.sh runs it; docs/PERFORMANCE.md explains it.
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "bench/loadgen/benchmark.h"
#include "bench/loadgen/report.h"

ABSL_FLAG(std::string, target, "grpc",
          "grpc (sessiond over raw gRPC, or the echo server with --scenario=echo), client "
          "(sessiond through the C++ client, a thread per slot) or redis");
ABSL_FLAG(bool, batching, true, "client: the C++ client's automatic batching");
ABSL_FLAG(uint64_t, near_cache_bytes, 0,
          "client: the C++ client's near cache, at most this many bytes of sessions "
          "(ClientOptions::near_cache_max_bytes); 0: no cache");
ABSL_FLAG(std::string, address, "127.0.0.1:50051", "host:port of the server");
ABSL_FLAG(std::string, scenario, "web",
          "load, get, commit, web, web-read-mostly, touch, churn or echo");
ABSL_FLAG(int, in_flight, 64, "operations in flight at most");
ABSL_FLAG(int, channels, 4, "grpc: channels (TCP connections) the slots are spread over");
ABSL_FLAG(int, redis_connections, 0,
          "redis: connections the slots share, slot s on connection s % N, so commands of several "
          "slots are pipelined on each; 0: one connection per slot (no pipelining)");
ABSL_FLAG(double, rate, 0, "open loop at this many operations per second; 0: closed loop");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "run this long before measuring");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "the measured window");
ABSL_FLAG(uint64_t, sessions, 10000, "sessions created before the run (load: created, then exit)");
ABSL_FLAG(int, load_in_flight, 256, "creations in flight while loading sessions");
ABSL_FLAG(absl::Duration, load_timeout, absl::Minutes(30), "give up loading after this long");
ABSL_FLAG(std::string, ids_file, "", "write the loaded session ids there as ghz's --data-file");
ABSL_FLAG(int, server_pid, 0, "the server's process id: its CPU time and memory are sampled");
ABSL_FLAG(int, backend_pid, 0,
          "a process the server depends on (the Redis or PostgreSQL behind sessiond): its CPU time "
          "and its children's is sampled");
ABSL_FLAG(uint64_t, echo_bytes, 0, "echo: payload bytes of each request");
ABSL_FLAG(std::string, label, "", "a name for this run, copied into the output");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "drives sessiond, the echo server or Redis and reports throughput, latency and server CPU "
      "per operation (docs/PERFORMANCE.md)");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<sessiond::bench::Op> op = sessiond::bench::ParseOp(absl::GetFlag(FLAGS_scenario));
  if (!op.ok()) {
    std::cerr << "loadgen: " << op.status().message() << "\n";
    return 2;
  }
  sessiond::bench::BenchmarkOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.batching = absl::GetFlag(FLAGS_batching);
  options.near_cache_bytes = absl::GetFlag(FLAGS_near_cache_bytes);
  options.address = absl::GetFlag(FLAGS_address);
  options.op = *op;
  options.in_flight = absl::GetFlag(FLAGS_in_flight);
  options.channels = absl::GetFlag(FLAGS_channels);
  options.redis_connections = absl::GetFlag(FLAGS_redis_connections);
  options.rate = absl::GetFlag(FLAGS_rate);
  options.warmup = absl::GetFlag(FLAGS_warmup);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.echo_bytes = absl::GetFlag(FLAGS_echo_bytes);
  options.sessions = absl::GetFlag(FLAGS_sessions);
  options.load_in_flight = absl::GetFlag(FLAGS_load_in_flight);
  options.load_timeout = absl::GetFlag(FLAGS_load_timeout);
  options.ids_file = absl::GetFlag(FLAGS_ids_file);
  options.server_pid = absl::GetFlag(FLAGS_server_pid);
  options.backend_pid = absl::GetFlag(FLAGS_backend_pid);
  if (options.in_flight < 1 || options.channels < 1 || options.load_in_flight < 1) {
    std::cerr << "loadgen: --in_flight, --channels and --load_in_flight must be at least 1\n";
    return 2;
  }
  if (options.redis_connections < 0) {
    std::cerr << "loadgen: --redis_connections must be at least 0 (0: one per slot)\n";
    return 2;
  }

  absl::StatusOr<sessiond::bench::BenchmarkReport> report = RunBenchmark(options);
  if (!report.ok()) {
    std::cerr << "loadgen: " << report.status() << "\n";
    return 1;
  }
  const std::string label = absl::GetFlag(FLAGS_label);
  std::cout << JsonReport(options, *report, label) << std::endl;
  std::cerr << HumanReport(options, *report, label) << std::endl;
  return 0;
}
