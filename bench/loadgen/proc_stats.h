// What the load generator reads about a process from Linux's /proc: CPU time (all threads, user +
// system), resident memory and the CPUs it may run on. Used to bracket a measured window, so each
// call reads the file afresh. Thread-safe (no state).
#ifndef SESSIOND_BENCH_LOADGEN_PROC_STATS_H_
#define SESSIOND_BENCH_LOADGEN_PROC_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace sessiond::bench {

// utime + stime of every thread of `pid`, from /proc/PID/stat, in seconds (10 ms resolution on
// most kernels). NOT_FOUND if the process is gone.
absl::StatusOr<double> ProcessCpuSeconds(pid_t pid);

// CPU time of `pid`, of its children that ended (cutime, cstime) and of its running children, in
// seconds: what a server that runs a process per connection (PostgreSQL) uses. NOT_FOUND if `pid`
// is gone.
absl::StatusOr<double> ProcessTreeCpuSeconds(pid_t pid);

// VmRSS of `pid` from /proc/PID/status, in bytes. NOT_FOUND if the process is gone.
absl::StatusOr<int64_t> ProcessRssBytes(pid_t pid);

// The CPUs `pid` (0: this process) may run on, as a list such as "0" or "0-1,3". Empty if unknown.
std::string CpuAffinity(pid_t pid);

// CPU time this process has used (all threads), in seconds.
double SelfCpuSeconds();

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_PROC_STATS_H_
