#include "storage/testing/redis_servers.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "storage/redis_client.h"
#include "storage/redis_connection.h"
#include "storage/testing/child_process.h"

namespace sessiond::storage::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(10);
constexpr int kClusterBusOffset = 10000;

constexpr char kRedisPackages[] = "redis-server redis-tools";

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
           "-subj", "/CN=sessiond test CA", "-keyout", ca_key, "-out", files.ca_file},
          "openssl");
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
                     "/CN=localhost", "-keyout", *key, "-out", request},
                    "openssl");
        !made.ok()) {
      return made.status();
    }
    if (absl::StatusOr<std::string> signed_cert = RunTool(
            {"openssl", "x509", "-req", "-in", request, "-CA", files.ca_file, "-CAkey", ca_key,
             "-CAcreateserial", "-days", "2", "-extfile", extensions, "-out", *cert},
            "openssl");
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
  absl::StatusOr<std::string> dir = MakeTempDirectory("sessiond-redis");
  if (!dir.ok()) return dir.status();
  dir_ = *std::move(dir);
  args_ = {"--bind", "127.0.0.1", "--save", "", "--appendonly", "no"};
  args_.insert(args_.end(), {"--daemonize", "no", "--dir", dir_});
  args_.insert(args_.end(), extra_args.begin(), extra_args.end());
  return LaunchOnFreePort(kClusterBusOffset, &port_, [this] { return Launch(); });
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
  absl::StatusOr<pid_t> pid = Spawn(argv, log_fd, kRedisPackages);
  close(log_fd);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  // Ready once it accepts connections (a restarted server may take a moment to free the port).
  absl::Status listening = AwaitListening(pid_, port_, kStartTimeout, "redis-server", log);
  if (absl::IsInternal(listening)) pid_ = -1;  // it exited and was reaped
  if (!listening.ok()) Kill();
  return listening;
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
  if (absl::StatusOr<std::string> created = RunTool(create, kRedisPackages); !created.ok()) {
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
         *to_id, "--cluster-slots", absl::StrCat(slot_count), "--cluster-yes"},
        kRedisPackages);
    if (resharded.ok() || !absl::StrContains(resharded.status().message(), "agree about") ||
        absl::Now() >= deadline) {
      return resharded.status();
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

}  // namespace sessiond::storage::testing
