#include "tests/support/sessiond_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace sessiond::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(20);

int ReadPort(const std::string& path) {
  std::ifstream in(path);
  int port = 0;
  return in >> port ? port : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SessiondProcess>> SessiondProcess::Start(
    std::vector<std::string> flags, std::vector<std::string> environment,
    const std::string& cgroup_procs) {
  auto directory = std::make_unique<TempDir>("sessiond-e2e");
  const std::string port_file = directory->File("port");
  flags.insert(flags.begin(),
               {BinaryPath(), "--listen=127.0.0.1:0", absl::StrCat("--port_file=", port_file)});
  std::vector<char*> argv;
  for (std::string& flag : flags) argv.push_back(flag.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // sessiond dies with the test, even if the test crashes, so it never outlives it holding
    // the test's output pipes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!cgroup_procs.empty()) {
      // Only async-signal-safe calls between fork and exec: format the pid by hand.
      char digits[24];
      int length = 0;
      for (pid_t self = getpid(); self > 0; self /= 10) digits[length++] = '0' + self % 10;
      char text[24];
      for (int i = 0; i < length; ++i) text[i] = digits[length - 1 - i];
      const int fd = open(cgroup_procs.c_str(), O_WRONLY);
      if (fd < 0 || write(fd, text, length) != length) _exit(126);
      close(fd);
    }
    for (std::string& variable : environment) putenv(variable.data());
    // The child must not inherit a blocked SIGTERM from a test that blocks it.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  std::unique_ptr<SessiondProcess> process(new SessiondProcess(pid, 0, std::move(directory)));
  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (absl::Now() < deadline) {
    if (int port = ReadPort(port_file); port > 0) {
      process->port_ = port;
      return process;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      process->exited_ = true;
      return absl::InternalError(absl::StrCat("sessiond exited during start-up, status ", status));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError("sessiond did not start serving in time");
}

SessiondProcess::~SessiondProcess() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

std::string SessiondProcess::BinaryPath() { return SESSIOND_BINARY; }

std::string SessiondProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::shared_ptr<grpc::Channel> SessiondProcess::NewChannel() const {
  return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

void SessiondProcess::Signal(int signal_number) const { kill(pid_, signal_number); }

size_t SessiondProcess::ResidentBytes() const {
  std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
  std::string field;
  size_t kib = 0;
  while (status >> field) {
    if (field == "VmRSS:" && status >> kib) return kib * 1024;
  }
  return 0;
}

bool SessiondProcess::Running() {
  if (exited_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) exited_ = true;
  return !exited_;
}

int SessiondProcess::Wait() {
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exited_ = true;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace sessiond::testing
