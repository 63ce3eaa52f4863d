// The operations the load generator runs and the data they read and write, the same for every
// target so that sessiond, Redis and the echo server are measured doing equivalent work.
//
// A session holds kFields entries "f0".."f4" of kFieldBytes bytes each. One operation is:
//   load    create one session with those entries (the loader; Redis: HSET + PEXPIRE)
//   get     read every entry of a session (Redis: HGETALL)
//   commit  Commit one kCommitBytes entry "blob" with read_version (sessiond only)
//   web     what a web request does: get, then commit one kFieldBytes entry "f0" with the version
//           read (Redis: HGETALL, then MULTI HSET PEXPIRE EXEC)
//   web-read-mostly  a read-mostly web tier: every request gets the session, and a share of them
//           (WriteShare: 20 %) then commits "f0" as web does; the rest only read (Redis: HGETALL
//           and PEXPIRE in one round trip, as a Redis session store loads and renews a session;
//           a writing request then MULTI HSET PEXPIRE EXEC)
//   touch   renew the idle timer (sessiond only)
//   churn   create a session, then delete it (sessiond only)
//   echo    one empty rpc to the echo server (the gRPC ceiling)
#ifndef SESSIOND_BENCH_LOADGEN_WORKLOAD_H_
#define SESSIOND_BENCH_LOADGEN_WORKLOAD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sessiond::bench {

enum class Op { kLoad, kGet, kCommit, kWeb, kWebReadMostly, kTouch, kChurn, kEcho };

inline constexpr int kFields = 5;
inline constexpr size_t kFieldBytes = 100;
inline constexpr size_t kCommitBytes = 1024;
// The idle timeout of a session: sessiond's default, and the TTL of a Redis session.
inline constexpr absl::Duration kSessionTtl = absl::Minutes(20);

// INVALID_ARGUMENT naming the choices if `name` is not an operation.
absl::StatusOr<Op> ParseOp(absl::string_view name);
absl::string_view OpName(Op op);

// Whether `op` works on sessions created beforehand by kLoad.
bool UsesLoadedSessions(Op op);

// The share of `op`'s requests that write after reading: 1 for web, 0.2 for web-read-mostly, 0 for
// the others.
double WriteShare(Op op);

// "f0" .. "f4".
std::string FieldKey(int index);
// The value of every field and of web's commit: kFieldBytes bytes.
const std::string& FieldValue();
// The value commit writes: kCommitBytes bytes.
const std::string& CommitValue();

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_WORKLOAD_H_
