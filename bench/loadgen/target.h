// Target: a server the load generator drives — sessiond or the echo server over gRPC, or Redis.
//
// A target runs operations (workload.h) in numbered slots, at most one per slot, asynchronously:
// Start begins one, and Poll delivers the ends of finished ones. Both run on the caller's thread,
// which is the only thread that may call them; a target never calls back from another thread.
#ifndef SESSIOND_BENCH_LOADGEN_TARGET_H_
#define SESSIOND_BENCH_LOADGEN_TARGET_H_

#include <chrono>
#include <cstdint>
#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "bench/loadgen/workload.h"

namespace sessiond::bench {

// Receives the end of the operation in `slot`: `error` is empty on success, else the name of what
// failed (a gRPC code such as "ABORTED", or a Redis error).
using Completion = absl::FunctionRef<void(int slot, absl::string_view error)>;

// What a client's near cache answered so far: Gets served from memory and Gets sent to the server.
struct CacheCounts {
  int64_t hits = 0;
  int64_t misses = 0;
};

class Target {
 public:
  Target() = default;
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;
  virtual ~Target() = default;

  // Begins `op` in `slot`, which must be idle (never started, or its last operation completed).
  virtual void Start(int slot, Op op) = 0;

  // Waits up to `timeout` for an operation to end and reports each that ended to `done`; returns
  // without reporting if none did. A timeout of zero polls.
  virtual void Poll(std::chrono::nanoseconds timeout, Completion done) = 0;

  // Asks every running operation to end soon (each still completes through Poll, with an error).
  virtual void CancelAll() = 0;

  // The store's own count of the memory it uses (Redis: INFO used_memory), if it reports one.
  virtual std::optional<int64_t> StoreMemoryBytes() { return std::nullopt; }

  // The counts of the target's near cache so far, if it has one (the C++ client with a cache).
  virtual std::optional<CacheCounts> NearCacheCounts() { return std::nullopt; }
};

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_TARGET_H_
