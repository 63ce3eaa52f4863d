#include "bench/loadgen/benchmark.h"

#include <algorithm>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "bench/loadgen/client_target.h"
#include "bench/loadgen/grpc_target.h"
#include "bench/loadgen/proc_stats.h"
#include "bench/loadgen/redis_target.h"
#include "bench/loadgen/session_pool.h"

namespace sessiond::bench {
namespace {

// Samples the server and this process at the edges of a phase.
class UsageProbe final : public WindowProbe {
 public:
  UsageProbe(pid_t server_pid, pid_t backend_pid, Target& target)
      : server_pid_(server_pid), backend_pid_(backend_pid), target_(target) {}

  void OnWindowStart() override { before_ = Sample(); }
  void OnWindowEnd() override { after_ = Sample(); }

  PhaseReport Report(LoopResult loop) const { return {std::move(loop), before_, after_}; }

 private:
  Usage Sample() {
    Usage usage;
    usage.client_cpu_seconds = SelfCpuSeconds();
    if (server_pid_ != 0) {
      if (absl::StatusOr<double> cpu = ProcessCpuSeconds(server_pid_); cpu.ok()) {
        usage.server_cpu_seconds = *cpu;
      }
      if (absl::StatusOr<int64_t> rss = ProcessRssBytes(server_pid_); rss.ok()) {
        usage.server_rss_bytes = *rss;
      }
    }
    if (backend_pid_ != 0) {
      if (absl::StatusOr<double> cpu = ProcessTreeCpuSeconds(backend_pid_); cpu.ok()) {
        usage.backend_cpu_seconds = *cpu;
      }
    }
    usage.store_bytes = target_.StoreMemoryBytes();
    usage.near_cache = target_.NearCacheCounts();
    return usage;
  }

  const pid_t server_pid_;
  const pid_t backend_pid_;
  Target& target_;
  Usage before_;
  Usage after_;
};

PhaseReport RunPhase(Target& target, Op op, const LoopOptions& options,
                     const BenchmarkOptions& benchmark) {
  UsageProbe probe(benchmark.server_pid, benchmark.backend_pid, target);
  LoopResult loop = RunLoop(target, op, options, probe);
  return probe.Report(std::move(loop));
}

absl::StatusOr<std::unique_ptr<Target>> ConnectTarget(const BenchmarkOptions& options,
                                                      SessionPool* pool) {
  const int slots = std::max(options.in_flight, options.load_in_flight);
  if (options.near_cache_bytes > 0 && options.target != "client") {
    return absl::InvalidArgumentError("--near_cache_bytes needs --target=client");
  }
  if (options.target == "grpc") {
    return GrpcTarget::Connect({.address = options.address,
                                .channels = options.channels,
                                .slots = slots,
                                .echo_bytes = options.echo_bytes},
                               pool);
  }
  if (options.target == "client") {
    if (!ClientTarget::Supports(options.op)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the client target runs load, get, commit, web, web-read-mostly and touch, not ",
          OpName(options.op)));
    }
    return ClientTarget::Connect({.address = options.address,
                                  .channels = options.channels,
                                  .slots = slots,
                                  .batching = options.batching,
                                  .near_cache_bytes = options.near_cache_bytes},
                                 pool);
  }
  if (options.target != "redis") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown target '", options.target, "'; use grpc, client or redis"));
  }
  if (!RedisTarget::Supports(options.op)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the redis target runs load, get, web and web-read-mostly, not ", OpName(options.op)));
  }
  const size_t colon = options.address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(options.address).substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--address=", options.address, " is not host:port"));
  }
  return RedisTarget::Connect({.host = options.address.substr(0, colon),
                               .port = port,
                               .slots = slots,
                               .connections = options.redis_connections},
                              pool);
}

}  // namespace

absl::StatusOr<BenchmarkReport> RunBenchmark(const BenchmarkOptions& options) {
  SessionPool pool;
  absl::StatusOr<std::unique_ptr<Target>> target = ConnectTarget(options, &pool);
  if (!target.ok()) return target.status();

  BenchmarkReport report;
  report.client_cpus = CpuAffinity(0);
  if (options.server_pid != 0) report.server_cpus = CpuAffinity(options.server_pid);
  if (options.op == Op::kLoad || UsesLoadedSessions(options.op)) {
    pool.Reserve(options.sessions);
    report.load = RunPhase(**target, Op::kLoad,
                           {.slots = options.load_in_flight,
                            .window = options.load_timeout,
                            .max_ops = static_cast<int64_t>(options.sessions)},
                           options);
    if (pool.size() == 0) {
      return absl::ResourceExhaustedError("the load phase created no session");
    }
    if (!options.ids_file.empty()) {
      if (absl::Status status = pool.WriteGhzDataFile(options.ids_file); !status.ok()) {
        return status;
      }
    }
  }
  if (options.op != Op::kLoad) {
    report.run = RunPhase(**target, options.op,
                          {.slots = options.in_flight,
                           .rate = options.rate,
                           .warmup = options.warmup,
                           .window = options.duration},
                          options);
  }
  return report;
}

}  // namespace sessiond::bench
