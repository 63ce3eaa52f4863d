// Two real sessiond replicas over one shared backend (a real Redis, a real PostgreSQL), driven
// through the C++ client: a session created through one is read, changed and deleted through the
// other, per-key conflicts across replicas are exact, a watcher on one sees the writes made
// through the other and a revocation through one ends sessions for both, and health follows the
// backend going down and coming back. Then sessiond on a backend that requires a password: it
// authenticates with the password file, and a wrong one stops the start. On a backend that caps a
// tenant's live sessions itself, concurrent creates through both replicas never pass the cap.
// Last, two replicas over a Redis Cluster share a user's sessions (list, revoke, the cap) and one
// order of events, and their concurrent creates never pass a tenant's live-session cap.
#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "sessiond/session.h"
#include "tests/support/health.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#ifdef SESSIOND_WITH_REDIS
#include "storage/testing/redis_servers.h"
#endif
#ifdef SESSIOND_WITH_POSTGRES
#include "storage/testing/postgres_server.h"
#endif

namespace sessiond {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::sessiond::testing::HealthOf;
using ::sessiond::testing::SessiondProcess;
using ::sessiond::testing::StatusIs;
using ::sessiond::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::UnorderedElementsAre;

// A backend server the replicas share, started for one test.
class SharedBackend {
 public:
  virtual ~SharedBackend() = default;
  // The sessiond flags that select it.
  virtual std::vector<std::string> Flags() const = 0;
  // Stops it as a crash would.
  virtual void Stop() = 0;
  // Starts it again where it was.
  virtual absl::Status Restart() = 0;
};

struct Backend {
  std::string name;
  // Starts a server; with a password, it requires it.
  std::function<absl::StatusOr<std::unique_ptr<SharedBackend>>(const std::string& password)> start;
  // The flag that names a password file.
  std::string password_file_flag;
};

// GoogleTest prints a backend as its name (not its bytes) in test listings and failures.
void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

// Wraps a started `Server`: `flags(server)`, `kStop`, and `Server::Restart`.
template <typename Server, void (Server::*kStop)()>
class Adapter final : public SharedBackend {
 public:
  using FlagsOf = std::vector<std::string> (*)(const Server&);
  Adapter(std::unique_ptr<Server> server, FlagsOf flags)
      : server_(std::move(server)), flags_(flags) {}
  std::vector<std::string> Flags() const override { return flags_(*server_); }
  void Stop() override { ((*server_).*kStop)(); }
  absl::Status Restart() override { return server_->Restart(); }

  static absl::StatusOr<std::unique_ptr<SharedBackend>> Wrap(
      absl::StatusOr<std::unique_ptr<Server>> server, FlagsOf flags) {
    if (!server.ok()) return server.status();
    return std::make_unique<Adapter>(*std::move(server), flags);
  }

 private:
  std::unique_ptr<Server> server_;
  FlagsOf flags_;
};

std::vector<Backend> Backends() {
  std::vector<Backend> backends;
#ifdef SESSIOND_WITH_REDIS
  using ::sessiond::storage::testing::RedisServer;
  backends.push_back({"redis",
                      [](const std::string& password) {
                        std::vector<std::string> args;
                        if (!password.empty()) args = {"--requirepass", password};
                        return Adapter<RedisServer, &RedisServer::Kill>::Wrap(
                            RedisServer::Start(args),
                            [](const RedisServer& redis) -> std::vector<std::string> {
                              return {"--store=redis", "--redis_addrs=" + redis.address(),
                                      "--redis_timeout=300ms", "--redis_connect_timeout=300ms"};
                            });
                      },
                      "--redis_password_file"});
#endif
#ifdef SESSIOND_WITH_POSTGRES
  using ::sessiond::storage::testing::PostgresServer;
  backends.push_back({"postgres",
                      [](const std::string& password) {
                        return Adapter<PostgresServer, &PostgresServer::Crash>::Wrap(
                            PostgresServer::Start(password),
                            [](const PostgresServer& postgres) -> std::vector<std::string> {
                              return {"--store=postgres", "--postgres_dsn=" + postgres.Dsn(),
                                      "--postgres_timeout=500ms"};
                            });
                      },
                      "--postgres_password_file"});
#endif
  return backends;
}

std::string NameOf(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

class ReplicasE2eTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(backend_, GetParam().start(""));
    for (auto* replica : {&first_, &second_}) {
      std::vector<std::string> flags = backend_->Flags();
      flags.push_back("--drain_grace=0s");
      ASSERT_OK_AND_ASSIGN(*replica, SessiondProcess::Start(std::move(flags)));
    }
    first_client_ = std::make_unique<Client>(first_->NewChannel());
    second_client_ = std::make_unique<Client>(second_->NewChannel());
  }

  std::unique_ptr<SharedBackend> backend_;
  std::unique_ptr<SessiondProcess> first_, second_;
  std::unique_ptr<Client> first_client_, second_client_;
};

TEST_P(ReplicasE2eTest, ASessionWrittenThroughOneReplicaIsReadChangedAndDeletedThroughTheOther) {
  ASSERT_OK_AND_ASSIGN(Session created, Session::Create(*first_client_));
  created.SetString("user", "alice");
  created.SetJson("cart", R"(["book"])");
  ASSERT_OK(created.Commit());

  Session elsewhere(*second_client_, created.Id());
  EXPECT_THAT(elsewhere.GetString("user"), Optional(std::string("alice")));
  EXPECT_THAT(elsewhere.GetJson("cart"), Optional(std::string(R"(["book"])")));
  elsewhere.SetInt64("visits", 2);
  ASSERT_OK(elsewhere.Commit());

  Session back(*first_client_, created.Id());
  EXPECT_THAT(back.GetInt64("visits"), Optional(2));
  EXPECT_THAT(back.Keys(), ElementsAre("cart", "user", "visits"));

  v1::DeleteRequest remove;
  remove.set_id(created.Id());
  ASSERT_OK(second_client_->Delete(remove));
  Session gone(*first_client_, created.Id());
  EXPECT_THAT(gone.Load(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ReplicasE2eTest, ConflictsAcrossReplicasAreDetectedPerKey) {
  ASSERT_OK_AND_ASSIGN(Session created, Session::Create(*first_client_));
  Session on_first(*first_client_, created.Id());
  Session on_second(*second_client_, created.Id());
  ASSERT_OK(on_first.Load());
  ASSERT_OK(on_second.Load());

  on_first.SetString("theme", "dark");
  on_second.SetString("lang", "fr");
  ASSERT_OK(on_first.Commit());
  ASSERT_OK(on_second.Commit()) << "different keys: both commit";

  on_first.SetString("cart", "1 item");
  on_second.SetString("cart", "2 items");
  ASSERT_OK(on_first.Commit());
  EXPECT_THAT(on_second.Commit(), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(on_second.ConflictingKeys(), ElementsAre("cart"));
}

TEST_P(ReplicasE2eTest, AWatcherOnOneReplicaSeesTheOthersWritesAndRevocationsEndSessionsForBoth) {
  // The backend is new: its events start at 1.
  v1::WatchSessionsRequest watch;
  watch.set_from_sequence(1);
  CallOptions call;
  call.deadline = absl::Now() + absl::Seconds(20);
  std::unique_ptr<EventStream> stream = second_client_->WatchSessions(watch, call);

  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    v1::CreateSessionRequest create;
    create.set_principal("alice");
    ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse created, first_client_->CreateSession(create));
    ids.push_back(created.session().id());
  }
  Session changed(*first_client_, ids[0]);
  changed.SetString("theme", "dark");
  ASSERT_OK(changed.Commit());
  v1::RevokeSessionsRequest revoke;
  revoke.set_principal("alice");
  ASSERT_OK_AND_ASSIGN(v1::RevokeSessionsResponse revoked, first_client_->RevokeSessions(revoke));
  EXPECT_EQ(revoked.revoked(), 2u);
  for (const std::string& id : ids) {
    Session elsewhere(*second_client_, id);
    EXPECT_THAT(elsewhere.Load(), StatusIs(absl::StatusCode::kNotFound)) << "revoked for both";
  }

  // Through the other replica: each of those changes, once, in order.
  std::vector<std::string> seen;
  uint64_t sequence = 0;
  while (seen.size() < 5) {
    std::optional<v1::SessionEvent> event = stream->Next();
    if (!event.has_value()) break;
    EXPECT_GT(event->sequence(), sequence);
    sequence = event->sequence();
    const int index = event->id() == ids[0] ? 0 : event->id() == ids[1] ? 1 : -1;
    seen.push_back(absl::StrCat(v1::SessionEvent::Kind_Name(event->kind()), " ", index));
  }
  stream->Cancel();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_THAT(std::vector<std::string>(seen.begin(), seen.begin() + 3),
              ElementsAre("CREATED 0", "CREATED 1", "UPDATED 0"));
  EXPECT_THAT(std::vector<std::string>(seen.begin() + 3, seen.end()),
              UnorderedElementsAre("REVOKED 0", "REVOKED 1"));
}

TEST_P(ReplicasE2eTest, HealthFollowsTheBackendDownAndBackUp) {
  const std::string service = "sessiond.v1.SessionService";
  EXPECT_EQ(HealthOf(first_->NewChannel(), service), HealthCheckResponse::SERVING);
  backend_->Stop();
  const absl::Time killed = absl::Now();
  while (HealthOf(first_->NewChannel(), service) == HealthCheckResponse::SERVING &&
         absl::Now() < killed + absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(HealthOf(first_->NewChannel(), service), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(first_->NewChannel(), ""), HealthCheckResponse::SERVING)
      << "the process itself is fine";
  v1::CreateSessionRequest create;
  EXPECT_THAT(first_client_->CreateSession(create), StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_OK(backend_->Restart());
  const absl::Time restarted = absl::Now();
  while (HealthOf(first_->NewChannel(), service) != HealthCheckResponse::SERVING &&
         absl::Now() < restarted + absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(HealthOf(first_->NewChannel(), service), HealthCheckResponse::SERVING);
  EXPECT_OK(first_client_->CreateSession(create)) << "recovered by itself";
}

// Two replicas over the backend that `backend_flags` select, with the tenant shop's cap of 5:
// eight creates through each at once make five sessions, and a delete through one frees a place
// for the other.
void ExpectConcurrentCreatesThroughTwoReplicasNeverPassATenantsCap(
    const std::vector<std::string>& backend_flags) {
  TempDir dir;
  // The tenant shop, whose bearer token is "shop-token" (the digest is its sha256sum).
  std::ofstream(dir.File("tenants.json"))
      << R"({"tenants": [{"name": "shop", "token_sha256": [)"
      << R"("88cc4600551e64b7cb97dd7f63ebad405255e5d17bdd71ee9fe1ed5cc20d0b3b"],)"
      << R"( "limits": {"max_live_sessions": 5}}]})";
  std::unique_ptr<SessiondProcess> replicas[2];
  std::unique_ptr<Client> clients[2];
  for (int i = 0; i < 2; ++i) {
    std::vector<std::string> flags = backend_flags;
    flags.push_back("--drain_grace=0s");
    flags.push_back("--tenants_file=" + dir.File("tenants.json"));
    ASSERT_OK_AND_ASSIGN(replicas[i], SessiondProcess::Start(std::move(flags)));
    clients[i] = std::make_unique<Client>(
        replicas[i]->NewChannel(),
        ClientOptions{.timeout = absl::Seconds(10), .bearer_token = "shop-token"});
  }
  const auto over_cap = StatusIs(absl::StatusCode::kResourceExhausted,
                                 HasSubstr("tenant \"shop\"'s max_live_sessions"));
  // Eight creates through each replica at once: five sessions, whichever replica made them.
  std::atomic<int> created{0};
  std::vector<std::string> ids[2];
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 8; ++n) {
        absl::StatusOr<v1::CreateSessionResponse> made = clients[i]->CreateSession({});
        if (made.ok()) {
          ++created;
          ids[i].push_back(made->session().id());
        } else {
          EXPECT_THAT(made, over_cap);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(created.load(), 5);
  // A session deleted through one replica frees its place for the other.
  const std::string& ended = ids[0].empty() ? ids[1].front() : ids[0].front();
  v1::DeleteRequest remove;
  remove.set_id(ended);
  ASSERT_OK(clients[0]->Delete(remove));
  EXPECT_OK(clients[1]->CreateSession({}));
  EXPECT_THAT(clients[0]->CreateSession({}), over_cap);
}

TEST_P(ReplicasE2eTest, ConcurrentCreatesThroughBothReplicasNeverPassATenantsLiveSessionCap) {
  ExpectConcurrentCreatesThroughTwoReplicasNeverPassATenantsCap(backend_->Flags());
}

INSTANTIATE_TEST_SUITE_P(SharedBackends, ReplicasE2eTest, ::testing::ValuesIn(Backends()), NameOf);

class PasswordE2eTest : public ::testing::TestWithParam<Backend> {};

TEST_P(PasswordE2eTest, SessiondAuthenticatesWithThePasswordFileAndRefusesToStartWithAWrongOne) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SharedBackend> backend, GetParam().start("s3cret"));
  TempDir dir;
  std::ofstream(dir.File("right")) << "s3cret\n";
  std::ofstream(dir.File("wrong")) << "guess\n";
  std::vector<std::string> flags = backend->Flags();
  flags.push_back("--drain_grace=0s");

  std::vector<std::string> with_right = flags;
  with_right.push_back(GetParam().password_file_flag + "=" + dir.File("right"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> server, SessiondProcess::Start(with_right));
  Client client(server->NewChannel());
  EXPECT_OK(client.CreateSession(v1::CreateSessionRequest()));

  std::vector<std::string> with_wrong = flags;
  with_wrong.push_back(GetParam().password_file_flag + "=" + dir.File("wrong"));
  EXPECT_FALSE(SessiondProcess::Start(with_wrong).ok()) << "a wrong password stops the start";
}

INSTANTIATE_TEST_SUITE_P(SharedBackends, PasswordE2eTest, ::testing::ValuesIn(Backends()), NameOf);

#ifdef SESSIOND_WITH_REDIS
TEST(RedisClusterE2eTest, TwoReplicasShareAUsersSessionsTheCapAndOneOrderOfEvents) {
  using ::sessiond::storage::testing::RedisCluster;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisCluster> cluster, RedisCluster::Start());
  std::unique_ptr<SessiondProcess> replicas[2];
  std::unique_ptr<Client> clients[2];
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(
        replicas[i],
        SessiondProcess::Start({"--store=redis",
                                "--redis_addrs=" + absl::StrJoin(cluster->addresses(), ","),
                                "--max_sessions_per_principal=4",
                                "--principal_cap_policy=reject_new", "--drain_grace=0s"}));
    clients[i] = std::make_unique<Client>(replicas[i]->NewChannel());
  }
  v1::WatchSessionsRequest watch;
  watch.set_from_sequence(1);
  CallOptions call;
  call.deadline = absl::Now() + absl::Seconds(20);
  std::unique_ptr<EventStream> stream = clients[1]->WatchSessions(watch, call);

  // Logins through both replicas; the fifth is refused by the cap, whichever replica takes it.
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    v1::CreateSessionRequest login;
    login.set_principal("alice");
    absl::StatusOr<v1::CreateSessionResponse> created = clients[i % 2]->CreateSession(login);
    if (i < 4) {
      ASSERT_OK(created);
      ids.push_back(created->session().id());
    } else {
      EXPECT_THAT(created, StatusIs(absl::StatusCode::kResourceExhausted));
    }
  }
  v1::ListSessionsRequest list;
  list.set_principal("alice");
  ASSERT_OK_AND_ASSIGN(v1::ListSessionsResponse listed, clients[1]->ListSessions(list));
  EXPECT_EQ(listed.sessions_size(), 4);
  v1::RevokeSessionsRequest revoke;
  revoke.set_principal("alice");
  revoke.add_except_ids(ids[0]);
  ASSERT_OK_AND_ASSIGN(v1::RevokeSessionsResponse revoked, clients[0]->RevokeSessions(revoke));
  EXPECT_EQ(revoked.revoked(), 3u);
  Session kept(*clients[1], ids[0]);
  EXPECT_OK(kept.Load());
  Session ended(*clients[1], ids[1]);
  EXPECT_THAT(ended.Load(), StatusIs(absl::StatusCode::kNotFound));

  // The watcher on the second replica sees both replicas' changes, numbered 1, 2, 3, ...
  std::vector<v1::SessionEvent::Kind> kinds;
  for (uint64_t sequence = 1; sequence <= 7; ++sequence) {
    std::optional<v1::SessionEvent> event = stream->Next();
    ASSERT_TRUE(event.has_value()) << "event " << sequence;
    EXPECT_EQ(event->sequence(), sequence);
    kinds.push_back(event->kind());
  }
  stream->Cancel();
  EXPECT_THAT(kinds, ElementsAre(v1::SessionEvent::CREATED, v1::SessionEvent::CREATED,
                                 v1::SessionEvent::CREATED, v1::SessionEvent::CREATED,
                                 v1::SessionEvent::REVOKED, v1::SessionEvent::REVOKED,
                                 v1::SessionEvent::REVOKED));
}

TEST(RedisClusterE2eTest, ConcurrentCreatesThroughBothReplicasNeverPassATenantsLiveSessionCap) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::testing::RedisCluster> cluster,
                       storage::testing::RedisCluster::Start());
  ExpectConcurrentCreatesThroughTwoReplicasNeverPassATenantsCap(
      {"--store=redis", "--redis_addrs=" + absl::StrJoin(cluster->addresses(), ",")});
}
#endif

}  // namespace
}  // namespace sessiond
