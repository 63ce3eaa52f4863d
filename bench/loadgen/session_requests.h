// The sessiond requests of the workload (workload.h), shared by the targets that speak sessiond's
// API: the loader's CreateSession and the commits of commit and web.
#ifndef SESSIOND_BENCH_LOADGEN_SESSION_REQUESTS_H_
#define SESSIOND_BENCH_LOADGEN_SESSION_REQUESTS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "sessiond/v1/session.pb.h"

namespace sessiond::bench {

// A session with the workload's kFields entries of kFieldBytes bytes.
v1::CreateSessionRequest LoadRequest();

// Commits `key` = `value` (bytes) to session `id` with `read_version`.
v1::CommitRequest CommitRequest(absl::string_view id, const std::string& key,
                                const std::string& value, uint64_t read_version);

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_SESSION_REQUESTS_H_
