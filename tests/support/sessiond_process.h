// SessiondProcess: runs the real sessiond binary for a test, on 127.0.0.1 and a port the kernel
// picks, and stops it. The binary's path comes from the build (SESSIOND_BINARY).
#ifndef SESSIOND_TESTS_SUPPORT_SESSIOND_PROCESS_H_
#define SESSIOND_TESTS_SUPPORT_SESSIOND_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "tests/support/temp_dir.h"

namespace sessiond::testing {

class SessiondProcess {
 public:
  // Starts sessiond with `flags` (plus --listen and --port_file, which this class sets) and the
  // environment variables `environment` ("NAME=value") added to the test's, and waits until it
  // serves. Its stderr goes to the test's stderr.
  // With `cgroup_procs` (a cgroup's cgroup.procs file), the process joins that cgroup before it
  // starts, so that it runs under the cgroup's limits from its first instruction.
  static absl::StatusOr<std::unique_ptr<SessiondProcess>> Start(
      std::vector<std::string> flags, std::vector<std::string> environment = {},
      const std::string& cgroup_procs = "");

  // The path of the sessiond binary under test.
  static std::string BinaryPath();

  // Kills the process with SIGKILL if it is still running.
  ~SessiondProcess();

  SessiondProcess(const SessiondProcess&) = delete;
  SessiondProcess& operator=(const SessiondProcess&) = delete;

  // "127.0.0.1:<port>".
  std::string address() const;
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  // The process's resident set size (VmRSS), in bytes; 0 if it cannot be read.
  size_t ResidentBytes() const;

  // True while the process has not exited (it may be a zombie if it died unwaited).
  bool Running();

  // A new insecure channel to the server.
  std::shared_ptr<grpc::Channel> NewChannel() const;

  // Sends `signal_number` to the process.
  void Signal(int signal_number) const;

  // Waits for the process to exit and returns its exit code (128 + signal if killed by one).
  int Wait();

 private:
  SessiondProcess(pid_t pid, int port, std::unique_ptr<TempDir> directory)
      : pid_(pid), port_(port), directory_(std::move(directory)) {}

  pid_t pid_;
  int port_;
  std::unique_ptr<TempDir> directory_;  // holds the port file
  bool exited_ = false;
};

}  // namespace sessiond::testing

#endif  // SESSIOND_TESTS_SUPPORT_SESSIOND_PROCESS_H_
