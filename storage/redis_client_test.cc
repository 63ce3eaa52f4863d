// RedisClient against real redis-server processes (storage/testing/redis_servers.h): slots,
// replies, AUTH, TLS, dead and stalled servers, and a 6-node cluster's redirections, failover
// and WAIT.
#include "storage/redis_client.h"

#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/testing/redis_servers.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::SizeIs;
using Type = RedisReply::Type;

constexpr int kSlotCount = 16384;

RedisOptions OptionsFor(std::vector<std::string> addresses) {
  RedisOptions options;
  options.addresses = std::move(addresses);
  options.connect_timeout = absl::Milliseconds(300);
  options.command_timeout = absl::Milliseconds(500);
  return options;
}

// A client to one node only (also a cluster node, for administrative commands).
std::unique_ptr<RedisClient> NodeClient(const std::string& address) {
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Connect(OptionsFor({address}));
  EXPECT_OK(client);
  return client.ok() ? *std::move(client) : nullptr;
}

// Runs a command expected to succeed with a non-error reply.
RedisReply MustRun(RedisClient& client, absl::string_view key,
                   std::vector<absl::string_view> args) {
  absl::StatusOr<RedisReply> reply = client.Run(key, args);
  EXPECT_OK(reply);
  if (!reply.ok()) return RedisReply();
  EXPECT_FALSE(reply->IsError()) << reply->str;
  return *reply;
}

// How many `kind` errors (MOVED, ASK) the node has replied since its stats were reset.
long long ErrorCount(RedisClient& node, absl::string_view kind) {
  const std::string info = MustRun(node, "", {"INFO", "errorstats"}).str;
  const std::string prefix = absl::StrCat("errorstat_", kind, ":count=");
  for (absl::string_view line : absl::StrSplit(info, "\r\n")) {
    long long count = 0;
    if (absl::ConsumePrefix(&line, prefix) && absl::SimpleAtoi(line, &count)) return count;
  }
  return 0;
}

std::string NodeId(RedisClient& node) { return MustRun(node, "", {"CLUSTER", "MYID"}).str; }

// A key that hashes to `slot`.
std::string KeyInSlot(int slot) {
  for (int i = 0;; ++i) {
    std::string key = absl::StrCat("key:", i);
    if (RedisKeySlot(key) == slot) return key;
  }
}

TEST(RedisKeySlotTest, KnownValues) {
  EXPECT_EQ(RedisKeySlot("123456789"), 0x31C3);  // The CRC16/XMODEM check value.
  EXPECT_EQ(RedisKeySlot("foo"), 12182);
  EXPECT_EQ(RedisKeySlot("{user1000}.following"), RedisKeySlot("{user1000}.followers"));
  EXPECT_EQ(RedisKeySlot("a{b}c{d}"), RedisKeySlot("b"));
  EXPECT_EQ(RedisKeySlot("{}"), RedisKeySlot(std::string("{}")));
}

TEST(RedisKeySlotTest, EverySlotHasAShortTagOfItsOwn) {
  for (int slot = 0; slot < 16384; ++slot) {
    const std::string& tag = RedisSlotTag(slot);
    ASSERT_EQ(RedisKeySlot(absl::StrCat("sd:j:{", tag, "}")), slot) << tag;
    ASSERT_LE(tag.size(), 6u);
  }
}

TEST(RedisKeySlotTest, AgreesWithClusterKeyslot) {
  ASSERT_OK_AND_ASSIGN(auto server, testing::RedisServer::Start({"--cluster-enabled", "yes"}));
  std::unique_ptr<RedisClient> node = NodeClient(server->address());
  ASSERT_NE(node, nullptr);
  std::vector<std::string> keys = {"",
                                   "{}",
                                   "{",
                                   "}",
                                   "a{b}c{d}",
                                   "{}a",
                                   "a{}b",
                                   "{{a}}",
                                   "a{b",
                                   "}a{b}",
                                   "{a}{b}",
                                   "{ }",
                                   "x{}{y}",
                                   "\xff\xfe{\x80}",
                                   std::string("\0{\0}z", 5)};
  for (int i = 0; i < 500; ++i) {
    std::string key;
    for (int j = 0; j <= i % 23; ++j) key.push_back(static_cast<char>((i * 131 + j * 71) % 256));
    if (i % 3 == 0) key = absl::StrCat("session:{", key, "}:data");
    keys.push_back(key);
  }
  for (const std::string& key : keys) {
    RedisReply slot = MustRun(*node, "", {"CLUSTER", "KEYSLOT", key});
    EXPECT_EQ(RedisKeySlot(key), slot.integer) << "key '" << absl::CHexEscape(key) << "'";
  }
}

class StandaloneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, testing::RedisServer::Start());
    ASSERT_OK_AND_ASSIGN(client_, RedisClient::Connect(OptionsFor({server_->address()})));
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(StandaloneTest, RepliesOfEveryType) {
  const std::string binary("va\0l\r\nue\0", 9);
  RedisReply set = MustRun(*client_, "k", {"SET", "k", binary});
  EXPECT_EQ(set.type, Type::kStatus);
  EXPECT_EQ(set.str, "OK");
  RedisReply get = MustRun(*client_, "k", {"GET", "k"});
  EXPECT_EQ(get.type, Type::kString);
  EXPECT_EQ(get.str, binary);
  EXPECT_EQ(MustRun(*client_, "none", {"GET", "none"}).type, Type::kNil);
  RedisReply incremented = MustRun(*client_, "n", {"INCRBY", "n", "41"});
  EXPECT_EQ(incremented.type, Type::kInteger);
  EXPECT_EQ(incremented.integer, 41);
  MustRun(*client_, "l", {"RPUSH", "l", "a", "", "c"});
  RedisReply list = MustRun(*client_, "l", {"LRANGE", "l", "0", "-1"});
  EXPECT_EQ(list.type, Type::kArray);
  EXPECT_THAT(list.elements, ElementsAre(Field(&RedisReply::str, "a"), Field(&RedisReply::str, ""),
                                         Field(&RedisReply::str, "c")));
  RedisReply mixed = MustRun(*client_, "k", {"MGET", "k", "none"});
  EXPECT_THAT(mixed.elements, ElementsAre(Field(&RedisReply::type, Type::kString),
                                          Field(&RedisReply::type, Type::kNil)));
}

TEST_F(StandaloneTest, ErrorRepliesAreReplies) {
  MustRun(*client_, "k", {"SET", "k", "text"});
  ASSERT_OK_AND_ASSIGN(RedisReply reply, client_->Run("k", {"INCR", "k"}));
  EXPECT_EQ(reply.type, Type::kError);
  EXPECT_TRUE(reply.IsErrorStartingWith("ERR"));
  ASSERT_OK_AND_ASSIGN(reply, client_->Run("k", {"EVALSHA", std::string(40, 'a'), "0"}));
  EXPECT_TRUE(reply.IsErrorStartingWith("NOSCRIPT"));
  EXPECT_THAT(client_->Run("k", {}), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> sizes, client_->RunOnEveryPrimary({"DBSIZE"}));
  EXPECT_THAT(sizes, ElementsAre(Field(&RedisReply::integer, 1)));
}

TEST_F(StandaloneTest, ThreadsShareAFewConnections) {
  RedisOptions options = OptionsFor({server_->address()});
  options.max_connections_per_node = 2;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RedisClient> client, RedisClient::Connect(options));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([client] {
      for (int i = 0; i < 200; ++i) EXPECT_OK(client->Run("n", {"INCR", "n"}));
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(MustRun(*client, "n", {"GET", "n"}).str, "1600");
  RedisReply clients = MustRun(*client, "", {"CLIENT", "LIST"});
  EXPECT_LE(std::count(clients.str.begin(), clients.str.end(), '\n'), 2 + 1);  // + client_.
}

TEST_F(StandaloneTest, KilledServerIsUnavailableAndRestartedServerServesAgain) {
  MustRun(*client_, "k", {"SET", "k", "v"});
  server_->Kill();
  const absl::Time start = absl::Now();
  EXPECT_THAT(client_->Run("k", {"GET", "k"}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  ASSERT_OK(server_->Restart());
  EXPECT_EQ(MustRun(*client_, "k", {"GET", "k"}).type, Type::kNil);  // Data went with it.
}

TEST_F(StandaloneTest, StalledServerIsUnavailableWithinTheCommandTimeout) {
  MustRun(*client_, "k", {"SET", "k", "v"});
  ASSERT_EQ(kill(server_->pid(), SIGSTOP), 0);
  absl::Cleanup resume = [&] { kill(server_->pid(), SIGCONT); };
  const absl::Time start = absl::Now();
  EXPECT_THAT(client_->Run("k", {"GET", "k"}), StatusIs(absl::StatusCode::kUnavailable));
  // One command_timeout (500 ms), not one per attempt; the rest is slack for a busy machine.
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  kill(server_->pid(), SIGCONT);
  EXPECT_EQ(MustRun(*client_, "k", {"GET", "k"}).str, "v");
}

TEST_F(StandaloneTest, WaitWithoutReplicasIsUnavailable) {
  RedisOptions options = OptionsFor({server_->address()});
  options.wait_replicas = 1;
  options.wait_timeout = absl::Milliseconds(100);
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(options));
  EXPECT_THAT(client->Run("k", {"SET", "k", "v"}, /*wait_for_replicas=*/true),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(MustRun(*client, "k", {"GET", "k"}).str, "v");  // Written all the same.
  EXPECT_OK(client->Run("k", {"SET", "k", "w"}));           // No WAIT unless asked.
}

TEST(RedisClientTest, UnreachableOrMalformedAddresses) {
  EXPECT_THAT(RedisClient::Connect(OptionsFor({"127.0.0.1"})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RedisClient::Connect(OptionsFor({})), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto server, testing::RedisServer::Start());
  const std::string address = server->address();
  server->Kill();
  EXPECT_THAT(RedisClient::Connect(OptionsFor({address})),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(server->Restart());
  RedisOptions not_a_cluster = OptionsFor({server->address()});
  not_a_cluster.cluster = true;
  EXPECT_THAT(RedisClient::Connect(not_a_cluster), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(RedisAuthTest, RequirePass) {
  ASSERT_OK_AND_ASSIGN(auto server, testing::RedisServer::Start({"--requirepass", "secret"}));
  RedisOptions options = OptionsFor({server->address()});
  EXPECT_THAT(RedisClient::Connect(options), StatusIs(absl::StatusCode::kUnauthenticated));
  options.password = "wrong";
  EXPECT_THAT(RedisClient::Connect(options), StatusIs(absl::StatusCode::kUnauthenticated));
  options.password = "secret";
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(options));
  MustRun(*client, "k", {"SET", "k", "v"});
}

TEST(RedisAuthTest, AclUser) {
  ASSERT_OK_AND_ASSIGN(
      auto server,
      testing::RedisServer::Start({"--user", "alice", "on", ">alicepw", "~*", "&*",    "+@all",
                                   "--user", "bob",   "on", ">bobpw",   "~*", "-@all", "+ping",
                                   "--user", "carol", "on", ">carolpw", "~*", "-@all", "+get"}));
  RedisOptions options = OptionsFor({server->address()});
  options.user = "alice";
  options.password = "wrong";
  EXPECT_THAT(RedisClient::Connect(options), StatusIs(absl::StatusCode::kUnauthenticated));
  options.password = "alicepw";
  ASSERT_OK_AND_ASSIGN(auto alice, RedisClient::Connect(options));
  MustRun(*alice, "k", {"SET", "k", "v"});
  options.user = "bob";
  options.password = "bobpw";
  ASSERT_OK_AND_ASSIGN(auto bob, RedisClient::Connect(options));
  ASSERT_OK_AND_ASSIGN(RedisReply denied, bob->Run("k", {"GET", "k"}));
  EXPECT_TRUE(denied.IsErrorStartingWith("NOPERM")) << denied.str;
  options.user = "carol";  // Not allowed to PING: connects all the same, for what it may run.
  options.password = "carolpw";
  ASSERT_OK_AND_ASSIGN(auto carol, RedisClient::Connect(options));
  EXPECT_EQ(MustRun(*carol, "k", {"GET", "k"}).str, "v");
}

TEST(RedisTlsTest, VerifiedServerAndClientCertificate) {
  sessiond::testing::TempDir dir("redis-tls");
  ASSERT_OK_AND_ASSIGN(testing::RedisTlsFiles files, testing::GenerateRedisTlsFiles(dir.path()));
  ASSERT_OK_AND_ASSIGN(auto server, testing::RedisServer::StartTls(files));
  RedisOptions options = OptionsFor({server->address()});
  options.tls = true;
  options.tls_ca_file = files.ca_file;
  options.tls_cert_file = files.client_cert_file;
  options.tls_key_file = files.client_key_file;
  {
    ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(options));
    const std::string value(100000, 'x');  // More than one TLS record each way.
    MustRun(*client, "k", {"SET", "k", value});
    EXPECT_EQ(MustRun(*client, "k", {"GET", "k"}).str, value);
    ASSERT_OK(server->Restart());  // The pooled TLS connection is found closed and replaced.
    EXPECT_EQ(MustRun(*client, "k", {"GET", "k"}).type, Type::kNil);
  }
  RedisOptions wrong_name = options;
  wrong_name.tls_server_name = "other.example";
  EXPECT_THAT(RedisClient::Connect(wrong_name), StatusIs(absl::StatusCode::kUnavailable));
  RedisOptions system_cas = options;
  system_cas.tls_ca_file.clear();
  EXPECT_THAT(RedisClient::Connect(system_cas), StatusIs(absl::StatusCode::kUnavailable));
  RedisOptions no_client_cert = options;
  no_client_cert.tls_cert_file.clear();
  no_client_cert.tls_key_file.clear();
  EXPECT_THAT(RedisClient::Connect(no_client_cert), StatusIs(absl::StatusCode::kUnavailable));
  RedisOptions plain = options;
  plain.tls = false;
  EXPECT_THAT(RedisClient::Connect(plain), StatusIs(absl::StatusCode::kUnavailable));
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(cluster_, testing::RedisCluster::Start());
    ASSERT_OK_AND_ASSIGN(client_, RedisClient::Connect(Options()));
  }

  RedisOptions Options() const {
    RedisOptions options = OptionsFor({cluster_->addresses()[3]});  // A replica, to discover.
    options.cluster = true;
    return options;
  }

  // Resets every node's statistics, so that ErrorCount counts from now.
  void ResetStats() {
    for (const std::string& address : cluster_->addresses()) {
      MustRun(*NodeClient(address), "", {"CONFIG", "RESETSTAT"});
    }
  }

  std::unique_ptr<testing::RedisCluster> cluster_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(ClusterTest, EverySlotGoesStraightToItsPrimary) {
  ResetStats();
  std::vector<std::string> keys(kSlotCount);
  int found = 0;
  for (int i = 0; found < kSlotCount; ++i) {
    std::string key = absl::StrCat("s", i);
    std::string& slot_key = keys[RedisKeySlot(key)];
    if (slot_key.empty()) {
      slot_key = key;
      ++found;
    }
  }
  for (const std::string& key : keys) MustRun(*client_, key, {"SET", key, key});
  long long total = 0;
  for (const std::string& address : cluster_->addresses()) {
    std::unique_ptr<RedisClient> node = NodeClient(address);
    EXPECT_EQ(ErrorCount(*node, "MOVED"), 0) << address;
    total += MustRun(*node, "", {"DBSIZE"}).integer;
  }
  // Replicas hold copies: each key on its primary and one replica.
  EXPECT_EQ(total, 2 * kSlotCount);
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> sizes, client_->RunOnEveryPrimary({"DBSIZE"}));
  ASSERT_THAT(sizes, SizeIs(3));
  EXPECT_EQ(sizes[0].integer + sizes[1].integer + sizes[2].integer, kSlotCount);
}

TEST_F(ClusterTest, FollowsMovedAfterReshardAndKeepsTheNewOwner) {
  const std::string key = KeyInSlot(0);
  MustRun(*client_, key, {"SET", key, "v"});
  ASSERT_OK_AND_ASSIGN(const std::string from, cluster_->PrimaryOf(0));
  const std::string to = cluster_->addresses()[from == cluster_->addresses()[0] ? 1 : 0];
  ASSERT_OK(cluster_->Reshard(from, to, 1));
  ASSERT_OK_AND_ASSIGN(const std::string owner, cluster_->PrimaryOf(0));
  ASSERT_EQ(owner, to);
  ResetStats();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(MustRun(*client_, key, {"GET", key}).str, "v");
  EXPECT_EQ(ErrorCount(*NodeClient(from), "MOVED"), 1);  // Only the first GET went astray.
}

TEST_F(ClusterTest, FollowsAskDuringMigration) {
  const int slot = RedisKeySlot("{ask}");
  ASSERT_OK_AND_ASSIGN(const std::string from, cluster_->PrimaryOf(slot));
  const std::string to = cluster_->addresses()[from == cluster_->addresses()[0] ? 1 : 0];
  MustRun(*client_, "{ask}moved", {"SET", "{ask}moved", "1"});
  MustRun(*client_, "{ask}stays", {"SET", "{ask}stays", "2"});
  std::unique_ptr<RedisClient> source = NodeClient(from);
  std::unique_ptr<RedisClient> target = NodeClient(to);
  const std::string slot_text = absl::StrCat(slot);
  MustRun(*target, "", {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", NodeId(*source)});
  MustRun(*source, "", {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", NodeId(*target)});
  const std::string target_port = to.substr(to.rfind(':') + 1);
  MustRun(*source, "",
          {"MIGRATE", "127.0.0.1", target_port, "", "0", "5000", "KEYS", "{ask}moved"});
  ResetStats();
  EXPECT_EQ(MustRun(*client_, "{ask}moved", {"GET", "{ask}moved"}).str, "1");
  EXPECT_EQ(MustRun(*client_, "{ask}stays", {"GET", "{ask}stays"}).str, "2");
  EXPECT_EQ(MustRun(*client_, "{ask}moved", {"GET", "{ask}moved"}).str, "1");
  EXPECT_EQ(ErrorCount(*source, "ASK"), 2);  // Asked each time: ASK does not change the map.
  EXPECT_EQ(ErrorCount(*source, "MOVED"), 0);
}

TEST_F(ClusterTest, RetriesWhileTheClusterIsDownThenGivesUp) {
  const std::string key = "down";
  const std::string slot = absl::StrCat(RedisKeySlot(key));
  MustRun(*client_, key, {"SET", key, "v"});
  ASSERT_OK_AND_ASSIGN(const std::string owner, cluster_->PrimaryOf(RedisKeySlot(key)));
  std::unique_ptr<RedisClient> node = NodeClient(owner);
  MustRun(*node, "", {"CLUSTER", "DELSLOTS", slot});  // Its cluster no longer covers every slot.
  ResetStats();
  EXPECT_THAT(client_->Run(key, {"GET", key}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(ErrorCount(*node, "CLUSTERDOWN"), RedisOptions().max_redirects);
  MustRun(*node, "", {"CLUSTER", "ADDSLOTS", slot});
  EXPECT_EQ(MustRun(*client_, key, {"GET", key}).str, "v");
}

TEST_F(ClusterTest, ServesAgainAfterFailover) {
  RedisOptions options = Options();
  options.wait_replicas = 1;
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(options));
  const std::string key = "failover";
  // The replicas of a cluster just made may still be syncing: the first confirmed write is the
  // setup, not what is tested, so it may take until they have caught up.
  absl::Status written;
  for (const absl::Time give_up = absl::Now() + absl::Seconds(10);;) {
    written = client->Run(key, {"SET", key, "v"}, /*wait_for_replicas=*/true).status();
    if (!absl::IsUnavailable(written) || absl::Now() > give_up) break;
  }
  ASSERT_OK(written);
  ASSERT_OK_AND_ASSIGN(const std::string old_primary, cluster_->PrimaryOf(RedisKeySlot(key)));
  ASSERT_OK_AND_ASSIGN(const std::string new_primary,
                       cluster_->KillPrimaryAndAwaitFailover(RedisKeySlot(key), absl::Seconds(20)));
  EXPECT_NE(new_primary, old_primary);
  EXPECT_EQ(MustRun(*client, key, {"GET", key}).str, "v");
  MustRun(*client, key, {"SET", key, "w"});
}

TEST_F(ClusterTest, WaitForOneReplica) {
  RedisOptions options = Options();
  options.wait_replicas = 1;
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(options));
  for (const std::string key : {"a", "b", "c", "d"}) {
    ASSERT_OK_AND_ASSIGN(RedisReply reply, client->Run(key, {"SET", key, "v"}, true));
    EXPECT_EQ(reply.str, "OK");
  }
  options.wait_replicas = 2;  // Each primary has one.
  options.wait_timeout = absl::Milliseconds(100);
  ASSERT_OK_AND_ASSIGN(client, RedisClient::Connect(options));
  EXPECT_THAT(client->Run("a", {"SET", "a", "v"}, true), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace sessiond::storage
