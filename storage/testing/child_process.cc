#include "storage/testing/child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace sessiond::storage::testing {
namespace {

constexpr absl::Duration kToolTimeout = absl::Seconds(60);

// Binds a loopback TCP socket to `port` (0: any); returns it, or -1.
int BindLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

}  // namespace

absl::StatusOr<int> FreeLoopbackPort(int also_free_offset) {
  for (int tries = 0; tries < 100; ++tries) {
    const int fd = BindLoopback(0);
    if (fd < 0) continue;
    sockaddr_in bound = {};
    socklen_t length = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    const int port = ntohs(bound.sin_port);
    if (also_free_offset == 0) {
      close(fd);
      return port;
    }
    const int other = port + also_free_offset <= 65535 ? BindLoopback(port + also_free_offset) : -1;
    close(fd);
    if (other >= 0) {
      close(other);
      return port;
    }
  }
  return absl::UnavailableError("no free port on 127.0.0.1");
}

absl::StatusOr<std::string> MakeTempDirectory(absl::string_view prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", prefix, "-XXXXXX");
  if (mkdtemp(path.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
  }
  return path;
}

absl::Status LaunchOnFreePort(int also_free_offset, int* port,
                              absl::FunctionRef<absl::Status()> launch) {
  absl::Status launched;
  for (int tries = 0; tries < 3; ++tries) {
    absl::StatusOr<int> free = FreeLoopbackPort(also_free_offset);
    if (!free.ok()) return free.status();
    *port = *free;
    launched = launch();
    if (launched.ok()) break;
  }
  return launched;
}

absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, int output_fd,
                            absl::string_view package, std::optional<RunAs> run_as) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  // The child reports a failed exec's errno here; the pipe closes by itself on success.
  int exec_error[2];
  if (null_fd < 0 || pipe2(exec_error, O_CLOEXEC) != 0) {
    if (null_fd >= 0) close(null_fd);
    return absl::InternalError(absl::StrCat("spawn ", argv[0], ": ", strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  int error = pid < 0 ? errno : 0;
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec. The user changes first: changing it clears
    // the parent-death signal.
    if (run_as.has_value() &&
        (setgroups(0, nullptr) != 0 || setgid(run_as->gid) != 0 || setuid(run_as->uid) != 0)) {
      error = errno;
      (void)!write(exec_error[1], &error, sizeof(error));
      _exit(127);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(null_fd, 0);
    dup2(output_fd, 1);
    dup2(output_fd, 2);
    execvp(args[0], args.data());
    error = errno;
    (void)!write(exec_error[1], &error, sizeof(error));
    _exit(127);
  }
  close(null_fd);
  close(exec_error[1]);
  if (pid > 0 && read(exec_error[0], &error, sizeof(error)) == sizeof(error)) {
    waitpid(pid, nullptr, 0);
  }
  close(exec_error[0]);
  if (error == ENOENT) {
    return absl::FailedPreconditionError(
        absl::StrCat(argv[0], " is not on PATH (Debian: apt-get install ", package, ")"));
  }
  if (error != 0) {
    return absl::InternalError(absl::StrCat("spawn ", argv[0], ": ", strerror(error)));
  }
  return pid;
}

absl::StatusOr<std::string> RunTool(const std::vector<std::string>& argv, absl::string_view package,
                                    std::optional<RunAs> run_as) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  absl::StatusOr<pid_t> pid = Spawn(argv, pipe_fds[1], package, run_as);
  close(pipe_fds[1]);
  if (!pid.ok()) {
    close(pipe_fds[0]);
    return pid.status();
  }
  std::string output;
  const absl::Time deadline = absl::Now() + kToolTimeout;
  bool timed_out = false;
  while (true) {
    pollfd entry = {pipe_fds[0], POLLIN, 0};
    const int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left <= 0 || poll(&entry, 1, left) == 0) {
      timed_out = true;
      break;
    }
    char buffer[4096];
    const ssize_t got = read(pipe_fds[0], buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    output.append(buffer, got);
  }
  close(pipe_fds[0]);
  if (timed_out) kill(*pid, SIGKILL);
  int status = 0;
  waitpid(*pid, &status, 0);
  if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "),
                                            timed_out ? " timed out" : " failed", ":\n", output));
  }
  return output;
}

absl::Status AwaitListening(pid_t pid, int port, absl::Duration timeout, absl::string_view name,
                            absl::string_view log) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) {
      return absl::InternalError(absl::StrCat(name, " exited at start; see ", log));
    }
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    const bool accepted = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    close(fd);
    if (accepted) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError(absl::StrCat(name, " did not listen on ", port, " within ",
                                                  absl::FormatDuration(timeout), "; see ", log));
}

}  // namespace sessiond::storage::testing
