#include "storage/testing/redis_servers.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "storage/redis_client.h"
#include "storage/redis_connection.h"

namespace sessiond::storage::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(10);
constexpr absl::Duration kToolTimeout = absl::Seconds(60);
constexpr int kClusterBusOffset = 10000;

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

// A port the kernel says is free on 127.0.0.1, with port + 10000 free as well.
absl::StatusOr<int> FreePortPair() {
  for (int tries = 0; tries < 100; ++tries) {
    const int fd = BindLoopback(0);
    if (fd < 0) continue;
    sockaddr_in bound = {};
    socklen_t length = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    const int port = ntohs(bound.sin_port);
    const int bus = port + kClusterBusOffset <= 65535 ? BindLoopback(port + kClusterBusOffset) : -1;
    close(fd);
    if (bus >= 0) {
      close(bus);
      return port;
    }
  }
  return absl::UnavailableError("no free port pair (port, port + 10000) on 127.0.0.1");
}

// Starts `argv` with stdin from /dev/null and stdout and stderr into `output_fd`. The child is
// killed if this thread ends first (say, the test crashed), so no server outlives its test.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, int output_fd) {
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
    // Only async-signal-safe calls from here to exec.
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
        absl::StrCat(argv[0], " is not on PATH (Debian: apt-get install ",
                     argv[0] == "openssl" ? "openssl" : "redis-server redis-tools", ")"));
  }
  if (error != 0) {
    return absl::InternalError(absl::StrCat("spawn ", argv[0], ": ", strerror(error)));
  }
  return pid;
}

// Runs a tool to completion (at most kToolTimeout) and returns its output; INTERNAL with the
// output if it fails.
absl::StatusOr<std::string> RunTool(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  absl::StatusOr<pid_t> pid = Spawn(argv, pipe_fds[1]);
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

// Runs one command on the node at `address` over a fresh plain connection.
absl::StatusOr<RedisReply> Command(const std::string& address,
                                   std::vector<absl::string_view> args) {
  absl::StatusOr<RedisAddress> parsed = RedisAddress::Parse(address);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(*parsed, RedisOptions(), nullptr);
  if (!connection.ok()) return connection.status();
  return (*connection)->Run(args, absl::Seconds(2));
}

// The text a command returns (INFO, CLUSTER INFO, CLUSTER MYID), or its error as UNAVAILABLE.
absl::StatusOr<std::string> CommandText(const std::string& address,
                                        std::vector<absl::string_view> args) {
  absl::StatusOr<RedisReply> reply = Command(address, std::move(args));
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return absl::UnavailableError(absl::StrCat(address, ": ", reply->str));
  return reply->str;
}

}  // namespace

absl::StatusOr<RedisTlsFiles> GenerateRedisTlsFiles(const std::string& dir) {
  // EC keys: generated in milliseconds, where RSA keys take a second each.
  static constexpr char kCurve[] = "ec_paramgen_curve:prime256v1";
  RedisTlsFiles files = {dir + "/ca.crt", dir + "/server.crt", dir + "/server.key",
                         dir + "/client.crt", dir + "/client.key"};
  const std::string ca_key = dir + "/ca.key";
  if (absl::StatusOr<std::string> made = RunTool(
          {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", kCurve, "-nodes", "-days", "2",
           "-subj", "/CN=sessiond test CA", "-keyout", ca_key, "-out", files.ca_file});
      !made.ok()) {
    return made.status();
  }
  const std::string extensions = dir + "/san.ext";
  {
    FILE* out = fopen(extensions.c_str(), "w");
    if (out == nullptr) return absl::InternalError("cannot write " + extensions);
    fputs("subjectAltName=IP:127.0.0.1,DNS:localhost\n", out);
    fclose(out);
  }
  const std::pair<const std::string*, const std::string*> pairs[] = {
      {&files.server_cert_file, &files.server_key_file},
      {&files.client_cert_file, &files.client_key_file}};
  for (const auto& [cert, key] : pairs) {
    const std::string request = *cert + ".csr";
    if (absl::StatusOr<std::string> made =
            RunTool({"openssl", "req", "-newkey", "ec", "-pkeyopt", kCurve, "-nodes", "-subj",
                     "/CN=localhost", "-keyout", *key, "-out", request});
        !made.ok()) {
      return made.status();
    }
    if (absl::StatusOr<std::string> signed_cert = RunTool(
            {"openssl", "x509", "-req", "-in", request, "-CA", files.ca_file, "-CAkey", ca_key,
             "-CAcreateserial", "-days", "2", "-extfile", extensions, "-out", *cert});
        !signed_cert.ok()) {
      return signed_cert.status();
    }
  }
  return files;
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    std::vector<std::string> extra_args) {
  std::unique_ptr<RedisServer> server(new RedisServer());
  std::vector<std::string> args = {"--port", "{port}"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  if (absl::Status status = server->Init(std::move(args)); !status.ok()) return status;
  return server;
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::StartTls(
    const RedisTlsFiles& tls, std::vector<std::string> extra_args) {
  std::unique_ptr<RedisServer> server(new RedisServer());
  std::vector<std::string> args = {"--port", "0", "--tls-port", "{port}"};
  args.insert(args.end(),
              {"--tls-cert-file", tls.server_cert_file, "--tls-key-file", tls.server_key_file});
  args.insert(args.end(), {"--tls-ca-cert-file", tls.ca_file, "--tls-auth-clients", "yes"});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  if (absl::Status status = server->Init(std::move(args)); !status.ok()) return status;
  return server;
}

absl::Status RedisServer::Init(std::vector<std::string> extra_args) {
  const char* tmp = getenv("TMPDIR");
  std::string dir_template = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/sessiond-redis-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
  }
  dir_ = dir_template;
  args_ = {"--bind", "127.0.0.1", "--save", "", "--appendonly", "no"};
  args_.insert(args_.end(), {"--daemonize", "no", "--dir", dir_});
  args_.insert(args_.end(), extra_args.begin(), extra_args.end());
  // Another process may take a free port between our check and the server's bind: try again.
  absl::Status launched;
  for (int tries = 0; tries < 3; ++tries) {
    absl::StatusOr<int> port = FreePortPair();
    if (!port.ok()) return port.status();
    port_ = *port;
    launched = Launch();
    if (launched.ok()) break;
  }
  return launched;
}

RedisServer::~RedisServer() {
  Kill();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string RedisServer::address() const { return absl::StrCat("127.0.0.1:", port_); }

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

absl::Status RedisServer::Restart() {
  Kill();
  return Launch();
}

absl::Status RedisServer::Launch() {
  std::vector<std::string> argv = {"redis-server"};
  for (const std::string& arg : args_) {
    argv.push_back(absl::StrReplaceAll(arg, {{"{port}", absl::StrCat(port_)}}));
  }
  const std::string log = dir_ + "/redis.log";
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("open ", log, ": ", strerror(errno)));
  absl::StatusOr<pid_t> pid = Spawn(argv, log_fd);
  close(log_fd);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  // Ready once it accepts connections (a restarted server may take a moment to free the port).
  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (absl::Now() < deadline) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("redis-server exited at start; see ", log));
    }
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port_));
    const bool accepted = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    close(fd);
    if (accepted) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(10));
  }
  Kill();
  return absl::DeadlineExceededError(absl::StrCat("redis-server did not listen on ", port_,
                                                  " within ", absl::FormatDuration(kStartTimeout),
                                                  "; see ", log));
}

absl::StatusOr<std::unique_ptr<RedisCluster>> RedisCluster::Start() {
  std::unique_ptr<RedisCluster> cluster(new RedisCluster());
  std::vector<std::string> create = {"redis-cli", "--cluster", "create"};
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<std::unique_ptr<RedisServer>> node =
        RedisServer::Start({"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "1000", "--repl-diskless-sync-delay", "0"});
    if (!node.ok()) return node.status();
    create.push_back((*node)->address());
    cluster->nodes_.push_back(*std::move(node));
  }
  create.insert(create.end(), {"--cluster-replicas", "1", "--cluster-yes"});
  if (absl::StatusOr<std::string> created = RunTool(create); !created.ok()) {
    return created.status();
  }
  if (absl::Status healthy = cluster->AwaitHealthy(3, absl::Now() + absl::Seconds(30));
      !healthy.ok()) {
    return healthy;
  }
  // Primaries first.
  std::vector<bool> primary;
  for (const auto& node : cluster->nodes_) {
    absl::StatusOr<std::string> info = CommandText(node->address(), {"INFO", "replication"});
    if (!info.ok()) return info.status();
    primary.push_back(absl::StrContains(*info, "role:master"));
  }
  std::vector<std::unique_ptr<RedisServer>> ordered;
  for (bool want : {true, false}) {
    for (size_t i = 0; i < primary.size(); ++i) {
      if (primary[i] == want) ordered.push_back(std::move(cluster->nodes_[i]));
    }
  }
  cluster->nodes_ = std::move(ordered);
  return cluster;
}

absl::Status RedisCluster::AwaitHealthy(int replicas, absl::Time deadline) const {
  absl::Status last = absl::DeadlineExceededError("not checked");
  while (true) {
    int linked = 0;
    last = absl::OkStatus();
    for (const auto& node : nodes_) {
      if (node->pid() <= 0) continue;
      absl::StatusOr<std::string> state = CommandText(node->address(), {"CLUSTER", "INFO"});
      absl::StatusOr<std::string> replication =
          CommandText(node->address(), {"INFO", "replication"});
      if (!state.ok() || !replication.ok()) {
        last = !state.ok() ? state.status() : replication.status();
      } else if (!absl::StrContains(*state, "cluster_state:ok")) {
        last = absl::UnavailableError(node->address() + " says the cluster is not ok");
      }
      if (replication.ok() && absl::StrContains(*replication, "master_link_status:up")) ++linked;
    }
    if (last.ok() && linked >= replicas) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("cluster not healthy in time (", linked,
                                                      " replicas linked): ", last.message()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

std::vector<std::string> RedisCluster::addresses() const {
  std::vector<std::string> addresses;
  for (const auto& node : nodes_) addresses.push_back(node->address());
  return addresses;
}

absl::StatusOr<std::string> RedisCluster::PrimaryOf(int slot) const {
  absl::Status last = absl::UnavailableError("no running node");
  for (const auto& node : nodes_) {
    if (node->pid() <= 0) continue;
    absl::StatusOr<RedisReply> slots = Command(node->address(), {"CLUSTER", "SLOTS"});
    if (!slots.ok()) {
      last = slots.status();
      continue;
    }
    for (const RedisReply& range : slots->elements) {
      if (range.elements.size() >= 3 && range.elements[0].integer <= slot &&
          slot <= range.elements[1].integer && range.elements[2].elements.size() >= 2) {
        return absl::StrCat(range.elements[2].elements[0].str, ":",
                            range.elements[2].elements[1].integer);
      }
    }
    return absl::NotFoundError(absl::StrCat("no node serves slot ", slot));
  }
  return last;
}

absl::StatusOr<std::string> RedisCluster::KillPrimaryAndAwaitFailover(int slot,
                                                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<std::string> old_primary = PrimaryOf(slot);
  if (!old_primary.ok()) return old_primary.status();
  int replicas = 0;
  for (const auto& node : nodes_) {
    if (node->address() == *old_primary) node->Kill();
    if (node->pid() > 0) {
      absl::StatusOr<std::string> replication =
          CommandText(node->address(), {"INFO", "replication"});
      if (replication.ok() && absl::StrContains(*replication, "role:slave")) ++replicas;
    }
  }
  while (true) {
    absl::StatusOr<std::string> primary = PrimaryOf(slot);
    if (primary.ok() && *primary != *old_primary) {
      // The promoted replica no longer counts as one.
      if (absl::Status healthy = AwaitHealthy(replicas - 1, deadline); !healthy.ok()) {
        return healthy;
      }
      return primary;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no replica of ", *old_primary, " promoted within ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::Status RedisCluster::RestartKilledNodes(absl::Duration timeout) {
  for (const auto& node : nodes_) {
    if (node->pid() > 0) continue;
    if (absl::Status started = node->Restart(); !started.ok()) return started;
  }
  return AwaitHealthy(3, absl::Now() + timeout);
}

absl::Status RedisCluster::Reshard(const std::string& from, const std::string& to, int slot_count) {
  absl::StatusOr<std::string> from_id = CommandText(from, {"CLUSTER", "MYID"});
  if (!from_id.ok()) return from_id.status();
  absl::StatusOr<std::string> to_id = CommandText(to, {"CLUSTER", "MYID"});
  if (!to_id.ok()) return to_id.status();
  // Right after a reshard the nodes take a moment to agree on the new configuration, and
  // redis-cli refuses to start another until they do.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (true) {
    absl::StatusOr<std::string> resharded = RunTool(
        {"redis-cli", "--cluster", "reshard", from, "--cluster-from", *from_id, "--cluster-to",
         *to_id, "--cluster-slots", absl::StrCat(slot_count), "--cluster-yes"});
    if (resharded.ok() || !absl::StrContains(resharded.status().message(), "agree about") ||
        absl::Now() >= deadline) {
      return resharded.status();
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

}  // namespace sessiond::storage::testing
