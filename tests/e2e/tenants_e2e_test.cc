// Tenants end to end (--tenants_file): the real binary driven through the C++ client (bearer tokens
// and client certificates) and grpcurl. Two tenants hammering each other's ids see only NOT_FOUND
// and change nothing; no or a bad credential is UNAUTHENTICATED, an rpc beyond a tenant's rights
// PERMISSION_DENIED, a tenant's limits (live sessions, bytes, timeouts) name the tenant; a
// rewritten tenants file rotates tokens without a restart; a client certificate's identity names
// its tenant. Over one Redis, and over a Redis Cluster, shared by two replicas, a tenant's
// live-session cap holds across both.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/channel.h"
#include "sessiond/client.h"
#include "tests/support/command.h"
#include "tests/support/invalidation_stream.h"
#include "tests/support/pki.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/values.h"
#ifdef SESSIOND_WITH_REDIS
#include "storage/testing/redis_servers.h"
#endif

namespace sessiond {
namespace {

using ::sessiond::testing::Pki;
using ::sessiond::testing::RunCommand;
using ::sessiond::testing::SessiondProcess;
using ::sessiond::testing::StatusIs;
using ::sessiond::testing::TempDir;
using ::testing::HasSubstr;

constexpr int kSessionsPerTenant = 40;

// The hex SHA-256 of `token`, as an operator makes it for the tenants file.
std::string DigestOf(const std::string& token) {
  const auto result = RunCommand(absl::StrCat("printf %s '", token, "' | sha256sum"));
  EXPECT_EQ(result.exit_code, 0);
  return result.output.substr(0, 64);
}

// A tenant entry of the tenants file.
std::string Tenant(const std::string& name, const std::vector<std::string>& tokens,
                   const std::string& extra) {
  std::vector<std::string> digests;
  for (const std::string& token : tokens) digests.push_back("\"" + DigestOf(token) + "\"");
  return absl::StrCat("{\"name\": \"", name, "\", \"token_sha256\": [",
                      absl::StrJoin(digests, ", "), "]", extra, "}");
}

// The tenants file with `shop_tokens` for shop (every right, small limits) and blog (sessions
// only, also reachable by the client certificate identity blog.client).
std::string TenantsFile(const std::vector<std::string>& shop_tokens) {
  return absl::StrCat("{\"tenants\": [",
                      Tenant("shop", shop_tokens,
                             R"(, "limits": {"max_session_bytes": 100, "max_idle_timeout": "10m",
                             "max_live_sessions": 60})"),
                      ", ",
                      Tenant("blog", {"blog-token"},
                             R"(, "client_identities": ["blog.client"], "rights": ["sessions"])"),
                      "]}");
}

// Replaces `path` at once, as a configuration tool (or Kubernetes) does.
void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path + ".new") << text;
  ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
}

// A request about the session `id`.
template <typename Request>
Request WithId(const std::string& id) {
  Request request;
  request.set_id(id);
  return request;
}

v1::CreateSessionRequest Owned(const std::string& owner) {
  v1::CreateSessionRequest request;
  (*request.mutable_entries())["owner"] = testing::Text(owner);
  request.set_principal("alice");
  return request;
}

class TenantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(file_, TenantsFile({"shop-token"}));
    absl::StatusOr<std::unique_ptr<SessiondProcess>> server = SessiondProcess::Start(
        {"--drain_grace=0s", "--tenants_file=" + file_, "--tenants_reload_interval=1s"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  Client As(const std::string& token) {
    return Client(server_->NewChannel(),
                  ClientOptions{.timeout = absl::Seconds(10), .bearer_token = token});
  }

  // The ids of `count` sessions `client` creates, each owned by `owner`.
  std::vector<std::string> CreateSessions(const Client& client, const std::string& owner) {
    std::vector<std::string> ids;
    for (int i = 0; i < kSessionsPerTenant; ++i) {
      absl::StatusOr<v1::CreateSessionResponse> created = client.CreateSession(Owned(owner));
      EXPECT_TRUE(created.ok()) << created.status();
      if (created.ok()) ids.push_back(created->session().id());
    }
    return ids;
  }

  TempDir dir_;
  const std::string file_ = dir_.File("tenants.json");
  std::unique_ptr<SessiondProcess> server_;
};

// Every rpc on one session, aimed at `ids` of another tenant: each must find nothing. Returns how
// many calls did not (0 when isolated).
int HammerForeignIds(const Client& client, const std::vector<std::string>& ids) {
  int leaks = 0;
  auto expect_not_found = [&leaks](const absl::Status& status) {
    if (status.code() != absl::StatusCode::kNotFound) ++leaks;
  };
  for (int round = 0; round < 3; ++round) {
    for (const std::string& id : ids) {
      expect_not_found(client.Get(WithId<v1::GetRequest>(id)).status());
      auto set = WithId<v1::SetRequest>(id);
      (*set.mutable_entries())["owner"] = testing::Text("intruder");
      expect_not_found(client.Set(set).status());
      expect_not_found(client.Touch(WithId<v1::TouchRequest>(id)).status());
      auto commit = WithId<v1::CommitRequest>(id);
      commit.add_ops()->mutable_clear();
      expect_not_found(client.Commit(commit).status());
      expect_not_found(client.RotateId(WithId<v1::RotateIdRequest>(id)).status());
      absl::StatusOr<v1::DeleteResponse> deleted = client.Delete(WithId<v1::DeleteRequest>(id));
      if (!deleted.ok() || deleted->deleted()) ++leaks;
    }
  }
  return leaks;
}

TEST_F(TenantsTest, TwoTenantsHammeringEachOthersIdsFindNothingAndChangeNothing) {
  const Client shop = As("shop-token");
  const Client blog = As("blog-token");
  const std::vector<std::string> shop_ids = CreateSessions(shop, "shop");
  const std::vector<std::string> blog_ids = CreateSessions(blog, "blog");
  std::atomic<int> shop_leaks = 0, blog_leaks = 0;
  std::thread shop_hammer([&] { shop_leaks = HammerForeignIds(shop, blog_ids); });
  std::thread blog_hammer([&] { blog_leaks = HammerForeignIds(blog, shop_ids); });
  shop_hammer.join();
  blog_hammer.join();
  EXPECT_EQ(shop_leaks.load(), 0);
  EXPECT_EQ(blog_leaks.load(), 0);
  for (const auto& [client, ids, owner] :
       {std::tuple{&shop, &shop_ids, "shop"}, std::tuple{&blog, &blog_ids, "blog"}}) {
    for (const std::string& id : *ids) {
      absl::StatusOr<v1::GetResponse> got = client->Get(WithId<v1::GetRequest>(id));
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(got->session().version(), 1u) << owner;
      EXPECT_EQ(got->entries().at("owner").string_value(), owner);
    }
  }
  // Proposing another tenant's id is no existence oracle: it is free in this tenant's key space.
  v1::CreateSessionRequest proposed = Owned("shop");
  proposed.set_id(blog_ids[0]);
  EXPECT_OK(shop.CreateSession(proposed));
  // The same principal in two tenants is two users.
  v1::ListSessionsRequest list;
  list.set_principal("alice");
  list.set_page_size(1000);
  absl::StatusOr<v1::ListSessionsResponse> listed = shop.ListSessions(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->sessions_size(), kSessionsPerTenant + 1);
  v1::RevokeSessionsRequest revoke;
  revoke.set_principal("alice");
  absl::StatusOr<v1::RevokeSessionsResponse> revoked = shop.RevokeSessions(revoke);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->revoked(), static_cast<uint64_t>(kSessionsPerTenant + 1));
  const auto get = WithId<v1::GetRequest>(blog_ids[0]);
  EXPECT_OK(blog.Get(get));
}

TEST_F(TenantsTest, NoOrABadTokenIsUnauthenticated) {
  for (const std::string token : {"", "shop-tokeN", "blog-token "}) {
    SCOPED_TRACE(token);
    EXPECT_THAT(As(token).CreateSession({}), StatusIs(absl::StatusCode::kUnauthenticated));
    std::unique_ptr<EventStream> events = As(token).WatchSessions({});
    EXPECT_EQ(events->Next(), std::nullopt);
    EXPECT_THAT(events->Finish(), StatusIs(absl::StatusCode::kUnauthenticated));
  }
}

TEST_F(TenantsTest, AnRpcBeyondATenantsRightsIsPermissionDenied) {
  const Client blog = As("blog-token");
  v1::ListSessionsRequest list;
  list.set_principal("alice");
  EXPECT_THAT(blog.ListSessions(list),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("\"list\"")));
  v1::RevokeSessionsRequest revoke;
  revoke.set_principal("alice");
  EXPECT_THAT(blog.RevokeSessions(revoke), StatusIs(absl::StatusCode::kPermissionDenied));
  std::unique_ptr<EventStream> events = blog.WatchSessions({});
  EXPECT_EQ(events->Next(), std::nullopt);
  EXPECT_THAT(events->Finish(), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_OK(blog.CreateSession({}));
}

TEST_F(TenantsTest, ATenantsLimitsNameTheTenant) {
  const Client shop = As("shop-token");
  v1::CreateSessionRequest big;
  (*big.mutable_entries())["cart"] = testing::Text(std::string(200, 'x'));
  EXPECT_THAT(shop.CreateSession(big), StatusIs(absl::StatusCode::kResourceExhausted,
                                                HasSubstr("tenant \"shop\"'s max_session_bytes")));
  EXPECT_OK(As("blog-token").CreateSession(big));  // blog has the server's limits
  // The cap is on the session, not on one request: two writes of 60 bytes do not fit in 100.
  v1::CreateSessionRequest half;
  (*half.mutable_entries())["a"] = testing::Text(std::string(59, 'x'));
  absl::StatusOr<v1::CreateSessionResponse> filled = shop.CreateSession(half);
  ASSERT_TRUE(filled.ok()) << filled.status();
  auto more = WithId<v1::SetRequest>(filled->session().id());
  (*more.mutable_entries())["b"] = testing::Text(std::string(59, 'x'));
  EXPECT_THAT(shop.Set(more), StatusIs(absl::StatusCode::kResourceExhausted,
                                       HasSubstr("tenant \"shop\"'s max_session_bytes")));
  ASSERT_OK(shop.Delete(WithId<v1::DeleteRequest>(filled->session().id())));
  v1::CreateSessionRequest long_lived;
  long_lived.mutable_idle_timeout()->set_seconds(3600);
  EXPECT_THAT(shop.CreateSession(long_lived),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("is over tenant \"shop\"'s max_idle_timeout 10m")));
  // blog sets no maximum of its own: the server's flag bounds it, as without tenants.
  EXPECT_THAT(As("blog-token").CreateSession(long_lived),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(--max_idle_timeout)")));
  // The tenant's maximum caps its default too: ten minutes, not the server's twenty.
  absl::StatusOr<v1::CreateSessionResponse> created = shop.CreateSession({});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(
      created->session().idle_expires_at().seconds() - created->session().created_at().seconds(),
      600);
  // 60 live sessions at most: one exists, 59 more fit, then one must end first.
  for (int i = 0; i < 59; ++i) ASSERT_OK(shop.CreateSession({}));
  EXPECT_THAT(shop.CreateSession({}), StatusIs(absl::StatusCode::kResourceExhausted,
                                               HasSubstr("tenant \"shop\"'s max_live_sessions")));
  EXPECT_OK(As("blog-token").CreateSession({}));
  ASSERT_OK(shop.Delete(WithId<v1::DeleteRequest>(created->session().id())));
  EXPECT_OK(shop.CreateSession({}));
}

TEST_F(TenantsTest, ARewrittenFileRotatesTokensWithoutARestart) {
  absl::StatusOr<v1::CreateSessionResponse> created = As("shop-token").CreateSession(Owned("shop"));
  ASSERT_TRUE(created.ok()) << created.status();
  WriteFile(file_, TenantsFile({"shop-token", "shop-token-2"}));
  auto await_code = [this](const std::string& token, absl::StatusCode code) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (As(token).CreateSession({}).status().code() != code) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return true;
  };
  EXPECT_TRUE(await_code("shop-token-2", absl::StatusCode::kOk));
  EXPECT_OK(As("shop-token").CreateSession({}));
  WriteFile(file_, TenantsFile({"shop-token-2"}));
  EXPECT_TRUE(await_code("shop-token", absl::StatusCode::kUnauthenticated));
  // The tenant's sessions are the same under its new token.
  const auto get = WithId<v1::GetRequest>(created->session().id());
  EXPECT_OK(As("shop-token-2").Get(get));
  // A broken file keeps the tenants in force.
  WriteFile(file_, "{\"tenants\": [");
  absl::SleepFor(absl::Seconds(2));
  EXPECT_OK(As("shop-token-2").Get(get));
  EXPECT_TRUE(server_->Running());
}

TEST_F(TenantsTest, AWatcherSeesOnlyItsTenantsEvents) {
  const Client shop = As("shop-token");
  std::vector<std::string> ids;
  for (const std::string token : {"shop-token", "blog-token", "shop-token"}) {
    absl::StatusOr<v1::CreateSessionResponse> created = As(token).CreateSession(Owned(token));
    ASSERT_TRUE(created.ok()) << created.status();
    if (token == "shop-token") ids.push_back(created->session().id());
  }
  // From the server's first event: blog's session in between is not shop's to see.
  v1::WatchSessionsRequest from_start;
  from_start.set_from_sequence(1);
  std::unique_ptr<EventStream> events = shop.WatchSessions(from_start);
  for (const std::string& id : ids) {
    std::optional<v1::SessionEvent> event = events->Next();
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->id(), id);
    EXPECT_EQ(event->principal(), "alice");
  }
  events->Cancel();
}

TEST_F(TenantsTest, ANearCacheLearnsOnlyOfItsTenantsSessions) {
  testing::InvalidationStream shop_cache(server_->NewChannel(), "shop-token");
  testing::InvalidationStream::Granted started;
  ASSERT_OK(shop_cache.PingAndRead(1, &started));
  std::vector<std::string> deleted;
  for (const std::string token : {"blog-token", "shop-token"}) {
    const Client client = As(token);
    absl::StatusOr<v1::CreateSessionResponse> created = client.CreateSession(Owned(token));
    ASSERT_OK(created);
    ASSERT_OK(client.Delete(WithId<v1::DeleteRequest>(created->session().id())));
    deleted.push_back(created->session().id());
  }
  testing::InvalidationStream::Granted granted;
  ASSERT_OK(shop_cache.PingAndRead(2, &granted));
  // Only shop's session, hashed as shop wrote its id.
  ASSERT_EQ(granted.invalidations.size(), 1);
  EXPECT_EQ(granted.invalidations[0].id_hash(), testing::IdHashOf(deleted[1]));
  EXPECT_TRUE(granted.invalidations[0].gone());

  testing::InvalidationStream stranger(server_->NewChannel(), "no-such-token");
  EXPECT_THAT(stranger.PingAndRead(1, &granted),
              testing::StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(TenantsTest, ANearCacheWithATokenIsLeasedAndInvalidatedByItsTenantsChanges) {
  const Client cached(server_->NewChannel(),
                      ClientOptions{.bearer_token = "shop-token", .near_cache_max_bytes = 1 << 20});
  const Client shop = As("shop-token");
  absl::StatusOr<v1::CreateSessionResponse> created = shop.CreateSession(Owned("shop"));
  ASSERT_TRUE(created.ok()) << created.status();
  const auto get = WithId<v1::GetRequest>(created->session().id());
  // Its stream is accepted with the token: the cache starts answering.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (cached.near_cache_stats().hits == 0 && absl::Now() < give_up) {
    ASSERT_TRUE(cached.Get(get).ok());
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GT(cached.near_cache_stats().hits, 0);

  // The stream's id hashes are the ids as the tenant writes them: another client's change reaches
  // the cache within one lease (100 ms).
  auto set = WithId<v1::SetRequest>(created->session().id());
  (*set.mutable_entries())["owner"] = testing::Text("changed");
  ASSERT_TRUE(shop.Set(set).ok());
  absl::SleepFor(absl::Milliseconds(150));
  absl::StatusOr<v1::GetResponse> got = cached.Get(get);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->entries().at("owner").string_value(), "changed");
}

TEST_F(TenantsTest, GrpcurlWithABearerToken) {
  const std::string grpcurl = SESSIOND_GRPCURL;
  if (access(grpcurl.c_str(), X_OK) != 0) GTEST_FAIL() << "grpcurl not found: " << grpcurl;
  const std::string call =
      absl::StrCat(" -plaintext -d '{\"principal\": \"alice\"}' ", server_->address(),
                   " sessiond.v1.SessionService/CreateSession 2>&1");
  const auto served = RunCommand(grpcurl + " -H 'authorization: Bearer shop-token'" + call);
  EXPECT_EQ(served.exit_code, 0) << served.output;
  EXPECT_THAT(served.output, HasSubstr("\"principal\": \"alice\""));
  const auto refused = RunCommand(grpcurl + call);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.output, HasSubstr("Unauthenticated"));
}

TEST(TenantsTlsTest, AClientCertificateIdentityNamesItsTenant) {
  Pki pki;
  pki.Ca("ca");
  pki.Leaf("server", "ca");
  pki.Leaf("blog_client", "ca", /*expired=*/false, "DNS:blog.client");
  pki.Leaf("stranger", "ca", /*expired=*/false, "DNS:stranger.client");
  TempDir dir;
  WriteFile(dir.File("tenants.json"), TenantsFile({"shop-token"}));
  absl::StatusOr<std::unique_ptr<SessiondProcess>> server = SessiondProcess::Start(
      {"--drain_grace=0s", "--tenants_file=" + dir.File("tenants.json"),
       "--tls_cert_file=" + pki.File("server.pem"), "--tls_key_file=" + pki.File("server.key"),
       "--tls_client_ca_file=" + pki.File("ca.pem")});
  ASSERT_TRUE(server.ok()) << server.status();
  auto client_as = [&](const std::string& cert, const std::string& token) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        NewChannel((*server)->address(), {.tls = true,
                                          .ca_file = pki.File("ca.pem"),
                                          .cert_file = pki.File(cert + ".pem"),
                                          .key_file = pki.File(cert + ".key")});
    EXPECT_TRUE(channel.ok()) << channel.status();
    return Client(*channel, ClientOptions{.timeout = absl::Seconds(10), .bearer_token = token});
  };
  // blog.client is blog: sessions yes, list no.
  const Client blog = client_as("blog_client", "");
  absl::StatusOr<v1::CreateSessionResponse> created = blog.CreateSession(Owned("blog"));
  ASSERT_TRUE(created.ok()) << created.status();
  v1::ListSessionsRequest list;
  list.set_principal("alice");
  EXPECT_THAT(blog.ListSessions(list), StatusIs(absl::StatusCode::kPermissionDenied));
  // A certificate no tenant claims is refused; with shop's token it is shop (the token decides).
  EXPECT_THAT(client_as("stranger", "").CreateSession({}),
              StatusIs(absl::StatusCode::kUnauthenticated));
  const Client shop = client_as("stranger", "shop-token");
  EXPECT_OK(shop.ListSessions(list));
  const auto get = WithId<v1::GetRequest>(created->session().id());
  EXPECT_THAT(shop.Get(get), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(blog.Get(get));
}

// With --store=rocksdb a tenant's max_live_sessions holds across a kill -9: the store counts the
// tenant's sessions from what is on disk when it opens.
TEST(TenantsRocksDbTest, ALiveCapHoldsAcrossAKillAndRestart) {
  TempDir dir;
  const std::string file = dir.File("tenants.json");
  WriteFile(file, TenantsFile({"shop-token"}));
  auto start = [&] {
    return SessiondProcess::Start({"--drain_grace=0s", "--tenants_file=" + file, "--store=rocksdb",
                                   "--data_dir=" + dir.File("data")});
  };
  auto client = [](const SessiondProcess& server, const std::string& token) {
    return Client(server.NewChannel(),
                  ClientOptions{.timeout = absl::Seconds(10), .bearer_token = token});
  };
  std::string first_id;
  {
    absl::StatusOr<std::unique_ptr<SessiondProcess>> server = start();
    ASSERT_TRUE(server.ok()) << server.status();
    const Client shop = client(**server, "shop-token");
    for (int i = 0; i < 59; ++i) {
      absl::StatusOr<v1::CreateSessionResponse> created = shop.CreateSession({});
      ASSERT_TRUE(created.ok()) << created.status();
      if (i == 0) first_id = created->session().id();
    }
  }  // SIGKILL
  absl::StatusOr<std::unique_ptr<SessiondProcess>> server = start();
  ASSERT_TRUE(server.ok()) << server.status();
  const Client shop = client(**server, "shop-token");
  // 60 live sessions at most: 59 survived the kill, one more fits.
  ASSERT_OK(shop.CreateSession({}));
  EXPECT_THAT(shop.CreateSession({}), StatusIs(absl::StatusCode::kResourceExhausted,
                                               HasSubstr("tenant \"shop\"'s max_live_sessions")));
  EXPECT_OK(client(**server, "blog-token").CreateSession({}));
  ASSERT_OK(shop.Delete(WithId<v1::DeleteRequest>(first_id)));
  EXPECT_OK(shop.CreateSession({}));
}

#ifdef SESSIOND_WITH_REDIS
// A client of `replica` with shop's token.
Client ShopClient(const SessiondProcess& replica) {
  return Client(replica.NewChannel(),
                ClientOptions{.timeout = absl::Seconds(10), .bearer_token = "shop-token"});
}

// Two replicas over the Redis at `addresses` (several: a Redis Cluster) with shop's cap of 60:
// creates through both stop at 60, RESOURCE_EXHAUSTED naming the limit, and a session deleted
// through one makes room for exactly one through the other.
void ExpectATenantsLiveCapHoldsAcrossTwoReplicas(const std::vector<std::string>& addresses) {
  TempDir dir;
  const std::string file = dir.File("tenants.json");
  WriteFile(file, TenantsFile({"shop-token"}));
  std::unique_ptr<SessiondProcess> replicas[2];
  for (auto& replica : replicas) {
    ASSERT_OK_AND_ASSIGN(
        replica,
        SessiondProcess::Start({"--store=redis", "--redis_addrs=" + absl::StrJoin(addresses, ","),
                                "--drain_grace=0s", "--tenants_file=" + file}));
  }
  const Client first = ShopClient(*replicas[0]);
  const Client second = ShopClient(*replicas[1]);
  // shop may have 60 live sessions, wherever they were created.
  std::string first_id;
  for (int i = 0; i < 60; ++i) {
    absl::StatusOr<v1::CreateSessionResponse> created =
        (i % 2 == 0 ? first : second).CreateSession({});
    ASSERT_TRUE(created.ok()) << created.status();
    if (i == 0) first_id = created->session().id();
  }
  const auto over_cap = StatusIs(absl::StatusCode::kResourceExhausted,
                                 HasSubstr("tenant \"shop\"'s max_live_sessions"));
  EXPECT_THAT(first.CreateSession({}), over_cap);
  EXPECT_THAT(second.CreateSession({}), over_cap);
  // A session ended through one replica makes room for one through the other.
  ASSERT_OK(second.Delete(WithId<v1::DeleteRequest>(first_id)));
  EXPECT_OK(first.CreateSession({}));
  EXPECT_THAT(second.CreateSession({}), over_cap);
}

TEST(TenantsRedisTest, ATenantsLiveCapHoldsAcrossTwoReplicasOverOneRedis) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::testing::RedisServer> redis,
                       storage::testing::RedisServer::Start());
  ExpectATenantsLiveCapHoldsAcrossTwoReplicas({redis->address()});
}

TEST(TenantsRedisTest, ATenantsLiveCapHoldsAcrossTwoReplicasOverARedisCluster) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::testing::RedisCluster> cluster,
                       storage::testing::RedisCluster::Start());
  ExpectATenantsLiveCapHoldsAcrossTwoReplicas(cluster->addresses());
}
#endif

}  // namespace
}  // namespace sessiond
