// Child processes for tests that run real servers (redis-server, postgres) and their tools: free
// loopback ports, spawning a child tied to the test (killed if the test dies first), running a
// tool to completion, and waiting for a server to listen. Every wait is bounded.
#ifndef SESSIOND_STORAGE_TESTING_CHILD_PROCESS_H_
#define SESSIOND_STORAGE_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sessiond::storage::testing {

// Whom a child runs as (an unprivileged user for servers that refuse root, such as initdb).
struct RunAs {
  uid_t uid;
  gid_t gid;
};

// A port the kernel says is free on 127.0.0.1, with port + `also_free_offset` free as well when
// that is not 0 (Redis Cluster's bus port).
absl::StatusOr<int> FreeLoopbackPort(int also_free_offset = 0);

// Creates a new directory `$TMPDIR/<prefix>-XXXXXX` (TMPDIR defaults to /tmp) and returns its path.
absl::StatusOr<std::string> MakeTempDirectory(absl::string_view prefix);

// Picks a free port (FreeLoopbackPort(also_free_offset)) into `*port` and calls `launch`, up to 3
// times while it fails: another process may take the port between the check and the server's
// bind. Returns the last launch's status.
absl::Status LaunchOnFreePort(int also_free_offset, int* port,
                              absl::FunctionRef<absl::Status()> launch);

// Starts `argv` (argv[0] looked up on PATH) with stdin from /dev/null and stdout and stderr into
// `output_fd`, as `run_as` if given. The child is killed if this thread ends first (say, the test
// crashed), so no server outlives its test. FAILED_PRECONDITION naming the Debian `package` if
// argv[0] is not found.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, int output_fd,
                            absl::string_view package, std::optional<RunAs> run_as = {});

// Runs a tool to completion (at most 60 s) and returns its output; INTERNAL with the output if it
// fails.
absl::StatusOr<std::string> RunTool(const std::vector<std::string>& argv, absl::string_view package,
                                    std::optional<RunAs> run_as = {});

// Waits until something accepts TCP connections on 127.0.0.1:`port`, at most `timeout`, while
// the child `pid` runs. INTERNAL if it exits (its pid is reaped), DEADLINE_EXCEEDED if it does
// not listen in time; `name` and `log` (where its output went) are named in the message.
absl::Status AwaitListening(pid_t pid, int port, absl::Duration timeout, absl::string_view name,
                            absl::string_view log);

}  // namespace sessiond::storage::testing

#endif  // SESSIOND_STORAGE_TESTING_CHILD_PROCESS_H_
