// RunLoop: drives a Target with one operation in closed or open loop and measures a window.
//
// Closed loop: every slot starts its next operation as soon as its last one ends; latency runs
// from the start of an operation to its end.
// Open loop (rate > 0): operations are due at fixed intervals of 1/rate from the start, whatever
// the server does. An operation due while every slot is busy starts when a slot frees up, and its
// latency still runs from when it was due, so a stall shows in the latency of every operation it
// delayed (no coordinated omission).
//
// The run is a warm-up, then the measured window: the operations that end inside the window are
// counted and timed. The probe is called exactly at the window's edges, to sample what must
// bracket it (server CPU). After the window no operation starts; those still running are given
// 5 s, then cancelled.
#ifndef SESSIOND_BENCH_LOADGEN_DRIVER_H_
#define SESSIOND_BENCH_LOADGEN_DRIVER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "bench/loadgen/histogram.h"
#include "bench/loadgen/target.h"

namespace sessiond::bench {

struct LoopOptions {
  // Operations in flight at most: the target's slots 0 .. slots-1.
  int slots = 1;
  // Operations per second in open loop; 0 for closed loop.
  double rate = 0;
  absl::Duration warmup;
  absl::Duration window;
  // If positive, no more than this many operations start, and the window ends once they all have
  // ended (the loader).
  int64_t max_ops = 0;
};

// Sees the measured window open and close.
class WindowProbe {
 public:
  virtual ~WindowProbe() = default;
  virtual void OnWindowStart() = 0;
  virtual void OnWindowEnd() = 0;
};

struct LoopResult {
  // Operations that ended in the window, successfully, and their latencies.
  int64_t ok_ops = 0;
  LatencyHistogram latency;
  // Operations that ended in the window with an error, by error name.
  std::map<std::string, int64_t> errors;
  // The window's actual length.
  absl::Duration window;
  // Open loop: how far behind schedule the last operation started (0 if on time).
  absl::Duration lag;
  // Operations that did not end within 5 s of the window's end and had to be cancelled.
  int64_t cancelled = 0;
};

LoopResult RunLoop(Target& target, Op op, const LoopOptions& options, WindowProbe& probe);

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_DRIVER_H_
