#include "storage/testing/postgres_server.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sessiond::storage::testing {
namespace {

constexpr char kPackage[] = "postgresql-15";
constexpr char kDebianBinaries[] = "/usr/lib/postgresql/15/bin/";
constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(15);

// `tool` from Debian's PostgreSQL 15 directory if it is there, else from PATH.
std::string Binary(absl::string_view tool) {
  std::string debian = absl::StrCat(kDebianBinaries, tool);
  return access(debian.c_str(), X_OK) == 0 ? debian : std::string(tool);
}

// Sends `signal` to `pid` and waits for it at most `timeout`; true if it exited.
bool SignalAndWait(pid_t pid, int signal, absl::Duration timeout) {
  kill(pid, signal);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(std::string password) {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  if (absl::Status status = server->Init(password); !status.ok()) return status;
  return server;
}

absl::Status PostgresServer::Init(const std::string& password) {
  absl::StatusOr<std::string> dir = MakeTempDirectory("sessiond-postgres");
  if (!dir.ok()) return dir.status();
  dir_ = *std::move(dir);
  data_dir_ = dir_ + "/data";
  if (geteuid() == 0) {
    const passwd* nobody = getpwnam("nobody");
    if (nobody == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, and there is no user \"nobody\" to run initdb and postgres as");
    }
    run_as_ = RunAs{nobody->pw_uid, nobody->pw_gid};
    if (chown(dir_.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat("chown ", dir_, ": ", strerror(errno)));
    }
  }
  std::vector<std::string> initdb = {Binary("initdb"), "-D", data_dir_, "-U",        "sessiond",
                                     "--no-sync",      "-E", "UTF8",    "--locale=C"};
  if (password.empty()) {
    initdb.push_back("--auth=trust");
  } else {
    const std::string file = dir_ + "/password";
    FILE* out = fopen(file.c_str(), "w");
    if (out == nullptr) return absl::InternalError("cannot write " + file);
    fputs(password.c_str(), out);
    fclose(out);
    if (run_as_.has_value()) (void)!chown(file.c_str(), run_as_->uid, run_as_->gid);
    initdb.insert(initdb.end(),
                  {"--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + file});
  }
  absl::StatusOr<std::string> created = RunTool(initdb, kPackage, run_as_);
  if (!created.ok()) return created.status();
  return LaunchOnFreePort(0, &port_, [this] { return Launch(); });
}

PostgresServer::~PostgresServer() {
  if (pid_ > 0 && !SignalAndWait(pid_, SIGQUIT, kStopTimeout)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string PostgresServer::Dsn(absl::string_view database) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=sessiond dbname=", database,
                      " connect_timeout=5");
}

absl::Status PostgresServer::Launch() {
  const std::string log = dir_ + "/postgres.log";
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("open ", log, ": ", strerror(errno)));
  absl::StatusOr<pid_t> pid =
      Spawn({Binary("postgres"), "-D", data_dir_, "-p", absl::StrCat(port_), "-c",
             "listen_addresses=127.0.0.1", "-c", absl::StrCat("unix_socket_directories=", dir_),
             "-c", "fsync=off", "-c", "synchronous_commit=on", "-c", "max_connections=200", "-c",
             "shared_buffers=32MB"},
            log_fd, kPackage, run_as_);
  close(log_fd);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  const absl::Time deadline = absl::Now() + kStartTimeout;
  absl::Status listening = AwaitListening(pid_, port_, kStartTimeout, "postgres", log);
  if (absl::IsInternal(listening)) pid_ = -1;  // it exited and was reaped
  // It listens before it has recovered from its WAL: ready once it accepts a session.
  while (listening.ok()) {
    if (RunTool({Binary("pg_isready"), "-q", "-h", "127.0.0.1", "-p", absl::StrCat(port_)},
                "postgresql-client-15")
            .ok()) {
      break;
    }
    if (absl::Now() > deadline) {
      listening = absl::DeadlineExceededError(
          absl::StrCat("postgres did not accept sessions within ",
                       absl::FormatDuration(kStartTimeout), "; see ", log));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (!listening.ok()) Crash();
  return listening;
}

void PostgresServer::Crash() {
  if (pid_ <= 0) return;
  if (!SignalAndWait(pid_, SIGQUIT, kStopTimeout)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

absl::Status PostgresServer::Restart() {
  Crash();
  return Launch();
}

absl::StatusOr<std::string> PostgresServer::Query(absl::string_view database,
                                                  absl::string_view sql) {
  return RunTool({Binary("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                  absl::StrCat("host=", dir_, " port=", port_, " user=sessiond dbname=", database),
                  "-c", std::string(sql)},
                 "postgresql-client-15");
}

absl::Status PostgresServer::CreateDatabase(absl::string_view name) {
  return Query("postgres", absl::StrCat("CREATE DATABASE ", name)).status();
}

}  // namespace sessiond::storage::testing
