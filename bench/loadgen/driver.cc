#include "bench/loadgen/driver.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

namespace sessiond::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kDrainTimeout = std::chrono::seconds(5);

}  // namespace

LoopResult RunLoop(Target& target, Op op, const LoopOptions& options, WindowProbe& probe) {
  LoopResult result;
  std::vector<int> idle(options.slots);
  std::iota(idle.rbegin(), idle.rend(), 0);
  // When each slot's operation was due: its start in closed loop, its schedule in open loop.
  std::vector<Clock::time_point> due(options.slots);
  int64_t started = 0;
  int64_t ended = 0;
  bool measuring = false;

  const Clock::time_point begin = Clock::now();
  const Clock::time_point window_start = begin + absl::ToChronoNanoseconds(options.warmup);
  const Clock::time_point window_end = window_start + absl::ToChronoNanoseconds(options.window);
  // Open loop: when operation number `n` is due.
  const auto scheduled = [&](int64_t n) {
    return begin + std::chrono::nanoseconds(static_cast<int64_t>(n * 1e9 / options.rate));
  };
  const auto start = [&](Clock::time_point when) {
    const int slot = idle.back();
    idle.pop_back();
    due[slot] = when;
    ++started;
    target.Start(slot, op);
  };
  const auto on_done = [&](int slot, absl::string_view error) {
    ++ended;
    idle.push_back(slot);
    if (!measuring) return;
    if (error.empty()) {
      ++result.ok_ops;
      result.latency.Record((Clock::now() - due[slot]).count());
    } else {
      ++result.errors[std::string(error)];
    }
  };

  Clock::time_point now = begin;
  Clock::time_point opened = begin;
  for (;; now = Clock::now()) {
    if (!measuring && now >= window_start) {
      measuring = true;
      opened = now;
      probe.OnWindowStart();
    }
    const bool all_ended = options.max_ops > 0 && ended == options.max_ops;
    if (measuring && (now >= window_end || all_ended)) break;
    Clock::time_point wake = measuring ? window_end : window_start;
    if (options.rate <= 0) {
      while (!idle.empty() && (options.max_ops <= 0 || started < options.max_ops)) start(now);
    } else {
      while (!idle.empty() && scheduled(started) <= now) start(scheduled(started));
      if (!idle.empty()) wake = std::min(wake, scheduled(started));
    }
    target.Poll(std::max<Clock::duration>(wake - now, Clock::duration::zero()), on_done);
  }
  probe.OnWindowEnd();
  measuring = false;
  result.window = absl::FromChrono(now - opened);
  if (options.rate > 0) {
    result.lag = absl::FromChrono(std::max<Clock::duration>(now - scheduled(started), {}));
  }

  const Clock::time_point drain_end = Clock::now() + kDrainTimeout;
  for (now = Clock::now(); started > ended && now < drain_end; now = Clock::now()) {
    target.Poll(drain_end - now, on_done);
  }
  if (started > ended) {
    result.cancelled = started - ended;
    target.CancelAll();
    while (started > ended) target.Poll(kDrainTimeout, on_done);
  }
  return result;
}

}  // namespace sessiond::bench
