// Prometheus metrics of the real binary: known traffic through the real client, then a scrape of
// /metrics over HTTP, checking each count, and that no session id appears in the output.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#ifdef SESSIOND_TEST_REDIS
#include "storage/testing/redis_servers.h"
#endif

namespace sessiond {
namespace {

using ::sessiond::testing::ConnectTo;
using ::sessiond::testing::FreePort;
using ::sessiond::testing::Samples;
using ::sessiond::testing::Scrape;
using ::sessiond::testing::SessiondProcess;
using ::sessiond::testing::TempDir;

constexpr char kService[] = "/sessiond.v1.SessionService/";

// An HTTP/1.1 keep-alive GET /metrics on `fd`; true once a response's headers arrived. The
// connection is left open.
bool ScrapeKeepingAlive(int fd) {
  const std::string request =
      "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    return false;
  }
  std::string response;
  char buffer[8192];
  for (ssize_t n; response.find("\r\n\r\n") == std::string::npos &&
                  (n = read(fd, buffer, sizeof(buffer))) > 0;) {
    response.append(buffer, n);
  }
  return absl::StartsWith(response, "HTTP/1.1 200");
}

std::string Rpcs(absl::string_view method, absl::string_view code) {
  return absl::StrCat("sessiond_rpcs_total{code=\"", code, "\",method=\"", kService, method, "\"}");
}

std::string Conflicts(absl::string_view method) {
  return absl::StrCat("sessiond_conflicts_total{method=\"", kService, method, "\"}");
}

std::string LatencyCount(absl::string_view method) {
  return absl::StrCat("sessiond_rpc_duration_seconds_count{method=\"", kService, method, "\"}");
}

class MetricsE2eTest : public ::testing::Test {
 protected:
  // Starts sessiond with metrics on a free port and `flags`.
  void Start(std::vector<std::string> flags) {
    metrics_port_ = FreePort();
    ASSERT_NE(metrics_port_, 0);
    flags.push_back(absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port_));
    flags.push_back("--drain_grace=0s");
    absl::StatusOr<std::unique_ptr<SessiondProcess>> started = SessiondProcess::Start(flags);
    ASSERT_OK(started);
    server_ = *std::move(started);
    client_ = std::make_unique<Client>(server_->NewChannel());
  }

  std::string ScrapeText() { return Scrape(metrics_port_); }

  std::unique_ptr<SessiondProcess> server_;
  std::unique_ptr<Client> client_;
  int metrics_port_ = 0;
};

TEST_F(MetricsE2eTest, KnownTrafficIsCountedByMethodCodeAndLimit) {
  ASSERT_NO_FATAL_FAILURE(Start({"--max_keys=2", "--sweep_interval=50ms"}));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<v1::CreateSessionResponse> created = client_->CreateSession({});
    ASSERT_OK(created);
    ids.push_back(created->session().id());
  }
  for (int i = 0; i < 5; ++i) {
    v1::GetRequest get;
    get.set_id(ids[0]);
    ASSERT_OK(client_->Get(get));
  }
  v1::GetRequest unknown;
  unknown.set_id(std::string(ids[0].size(), 'A'));
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(client_->Get(unknown).status().code(), absl::StatusCode::kNotFound);
  }
  v1::SetRequest conflicting;
  conflicting.set_id(ids[1]);
  conflicting.set_if_version(7);
  (*conflicting.mutable_entries())["k"].set_int64_value(1);
  EXPECT_EQ(client_->Set(conflicting).status().code(), absl::StatusCode::kAborted);
  v1::SetRequest too_many;
  too_many.set_id(ids[1]);
  for (const char* key : {"a", "b", "c"}) (*too_many.mutable_entries())[key].set_int64_value(1);
  EXPECT_EQ(client_->Set(too_many).status().code(), absl::StatusCode::kResourceExhausted);
  v1::DeleteRequest remove;
  remove.set_id(ids[2]);
  ASSERT_OK(client_->Delete(remove));
  v1::CreateSessionRequest short_lived;
  short_lived.mutable_idle_timeout()->set_nanos(100'000'000);
  ASSERT_OK(client_->CreateSession(short_lived));

  // The short-lived session expires and a sweep reclaims it.
  std::map<std::string, double> samples;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(100));
    samples = Samples(ScrapeText());
  } while (samples["sessiond_sessions_ended_total{reason=\"expired\"}"] < 1 &&
           absl::Now() < deadline);

  EXPECT_EQ(samples[Rpcs("CreateSession", "OK")], 4);
  EXPECT_EQ(samples[Rpcs("Get", "OK")], 5);
  EXPECT_EQ(samples[Rpcs("Get", "NOT_FOUND")], 2);
  EXPECT_EQ(samples[Rpcs("Set", "ABORTED")], 1);
  EXPECT_EQ(samples[Rpcs("Set", "RESOURCE_EXHAUSTED")], 1);
  EXPECT_EQ(samples[Rpcs("Delete", "OK")], 1);
  EXPECT_EQ(samples[LatencyCount("Get")], 7);
  EXPECT_EQ(samples[LatencyCount("CreateSession")], 4);
  EXPECT_EQ(samples[Conflicts("Set")], 1);
  EXPECT_EQ(samples["sessiond_rejections_total{limit=\"max_keys\"}"], 1);
  EXPECT_EQ(samples["sessiond_sessions_created_total"], 4);
  EXPECT_EQ(samples["sessiond_sessions_ended_total{reason=\"deleted\"}"], 1);
  EXPECT_EQ(samples["sessiond_sessions_ended_total{reason=\"expired\"}"], 1);
  EXPECT_EQ(samples["sessiond_sessions_live"], 2);
  EXPECT_GT(samples["sessiond_sessions_bytes"], 0);
  EXPECT_GE(samples["sessiond_sweeps_total"], 1);
  EXPECT_EQ(samples.count("sessiond_store_errors_total"), 0u) << "no store failed";
  EXPECT_GT(samples["process_resident_memory_bytes"], 1e6);
  EXPECT_GT(samples["process_open_fds"], 3);
  EXPECT_GT(samples["process_max_fds"], 0);
  EXPECT_EQ(samples.count("process_cpu_seconds_total"), 1u);
}

// Automatic batching, seen from the server: threads sharing one client make far fewer rpcs than
// calls, most of them Batch, and every call still gets its own result; with batching off, none.
TEST_F(MetricsE2eTest, ConcurrentCallsOfOneClientGoOutAsBatches) {
  ASSERT_NO_FATAL_FAILURE(Start({}));
  constexpr int kThreads = 16, kRounds = 50;
  auto run_web_requests = [&](const Client& client) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&client, t] {
        absl::StatusOr<v1::CreateSessionResponse> created = client.CreateSession({});
        ASSERT_OK(created);
        for (int round = 1; round <= kRounds; ++round) {
          v1::GetRequest get;
          get.set_id(created->session().id());
          absl::StatusOr<v1::GetResponse> read = client.Get(get);
          ASSERT_OK(read);
          ASSERT_EQ(read->session().version(), round);
          v1::SetRequest set;
          set.set_id(created->session().id());
          set.set_if_version(read->session().version());
          (*set.mutable_entries())["thread"].set_int64_value(t);
          ASSERT_OK(client.Set(set));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  };
  constexpr double kCalls = kThreads * (1 + 2 * kRounds);
  auto rpcs = [](std::map<std::string, double>& samples) {
    return samples[Rpcs("CreateSession", "OK")] + samples[Rpcs("Get", "OK")] +
           samples[Rpcs("Set", "OK")] + samples[Rpcs("Batch", "OK")];
  };

  run_web_requests(*client_);
  std::map<std::string, double> batched = Samples(ScrapeText());
  EXPECT_GT(batched[Rpcs("Batch", "OK")], 0);
  EXPECT_LT(rpcs(batched), kCalls * 0.75) << "batching saved under a quarter of the rpcs";

  ClientOptions options;
  options.batching = false;
  run_web_requests(Client(server_->NewChannel(), options));
  std::map<std::string, double> unbatched = Samples(ScrapeText());
  EXPECT_EQ(unbatched[Rpcs("Batch", "OK")], batched[Rpcs("Batch", "OK")]);
  EXPECT_EQ(rpcs(unbatched) - rpcs(batched), kCalls);
}

std::string Batched(absl::string_view method, absl::string_view code) {
  return absl::StrCat("sessiond_batched_operations_total{code=\"", code, "\",method=\"", kService,
                      method, "\"}");
}

// Operations inside a Batch are counted under their own rpc, and their conflicts and limit
// rejections as the same calls sent alone would be.
TEST_F(MetricsE2eTest, BatchedOperationsAreCountedByTheirOwnMethod) {
  ASSERT_NO_FATAL_FAILURE(Start({"--max_keys=2"}));
  absl::StatusOr<v1::CreateSessionResponse> created = client_->CreateSession({});
  ASSERT_OK(created);
  const std::string& id = created->session().id();
  v1::BatchRequest batch;
  batch.add_operations()->mutable_get()->set_id(id);
  batch.add_operations()->mutable_get()->set_id(id);
  batch.add_operations()->mutable_get()->set_id(std::string(id.size(), 'A'));
  v1::SetRequest* conflicting = batch.add_operations()->mutable_set();
  conflicting->set_id(id);
  conflicting->set_if_version(7);
  (*conflicting->mutable_entries())["k"].set_int64_value(1);
  v1::SetRequest* too_many = batch.add_operations()->mutable_set();
  too_many->set_id(id);
  for (const char* key : {"a", "b", "c"}) (*too_many->mutable_entries())[key].set_int64_value(1);
  v1::CommitRequest* stale_commit = batch.add_operations()->mutable_commit();
  stale_commit->set_id(id);
  stale_commit->set_if_version(9);
  v1::Operation::SetOp* op = stale_commit->add_ops()->mutable_set();
  op->set_key("k");
  op->mutable_value()->set_int64_value(1);
  ASSERT_OK(client_->Batch(batch));

  std::map<std::string, double> samples = Samples(ScrapeText());
  EXPECT_EQ(samples[Rpcs("Batch", "OK")], 1);
  EXPECT_EQ(samples[Batched("Get", "OK")], 2);
  EXPECT_EQ(samples[Batched("Get", "NOT_FOUND")], 1);
  EXPECT_EQ(samples[Batched("Set", "ABORTED")], 1);
  EXPECT_EQ(samples[Batched("Set", "RESOURCE_EXHAUSTED")], 1);
  EXPECT_EQ(samples[Batched("Commit", "ABORTED")], 1);
  EXPECT_EQ(samples[Conflicts("Set")], 1);
  EXPECT_EQ(samples[Conflicts("Commit")], 1);
  EXPECT_EQ(samples[Conflicts("Batch")], 0);
  EXPECT_EQ(samples["sessiond_rejections_total{limit=\"max_keys\"}"], 1);
}

TEST_F(MetricsE2eTest, LabelsStayBoundedAndNeverHoldSessionIds) {
  ASSERT_NO_FATAL_FAILURE(Start({}));
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<v1::CreateSessionResponse> created = client_->CreateSession({});
    ASSERT_OK(created);
    ids.push_back(created->session().id());
    v1::SetRequest set;
    set.set_id(created->session().id());
    (*set.mutable_entries())[absl::StrCat("user-key-", i)].set_string_value("secret");
    ASSERT_OK(client_->Set(set));
  }
  // A method the server does not have: counted, under one "other" label.
  grpc::GenericStub generic(server_->NewChannel());
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    generic.UnaryCall(&context, absl::StrCat("/made.up.Service/Method", i), grpc::StubOptions(),
                      &request, &response, [&done](grpc::Status status) {
                        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
                        done.Notify();
                      });
    done.WaitForNotification();
  }
  const std::string text = ScrapeText();
  for (const std::string& id : ids) EXPECT_EQ(text.find(id), std::string::npos);
  EXPECT_EQ(text.find("user-key-"), std::string::npos);
  EXPECT_EQ(text.find("made.up"), std::string::npos);
  EXPECT_EQ(Samples(text)["sessiond_rpcs_total{code=\"UNIMPLEMENTED\",method=\"other\"}"], 3);
}

// With --tenants_file, each rpc is counted under the tenant it was served as (also when refused
// for the tenant's rights), so an operator sees which application fails or is hot; a call whose
// tenant is unknown (UNAUTHENTICATED) has no tenant label.
TEST_F(MetricsE2eTest, WithTenantsRpcsAreCountedPerTenant) {
  TempDir directory;
  const std::string file = directory.File("tenants.json");
  // The SHA-256 digests of "shop-token" and "blog-token".
  std::ofstream(file)
      << R"({"tenants": [{"name": "shop", "token_sha256": [)"
      << R"("88cc4600551e64b7cb97dd7f63ebad405255e5d17bdd71ee9fe1ed5cc20d0b3b"]},)"
      << R"({"name": "blog", "rights": ["sessions"], "token_sha256": [)"
      << R"("1ddc54f9cf3a246b9b93cbe9ca4bb8793dd7713e4b653f92cacd088a06fb3dad"]}]})";
  ASSERT_NO_FATAL_FAILURE(Start({"--tenants_file=" + file}));
  auto as = [this](const std::string& token) {
    return Client(server_->NewChannel(),
                  ClientOptions{.timeout = absl::Seconds(10), .bearer_token = token});
  };
  const Client shop = as("shop-token"), blog = as("blog-token"), stranger = as("no-such-token");
  for (int i = 0; i < 3; ++i) ASSERT_OK(shop.CreateSession({}));
  ASSERT_OK(blog.CreateSession({}));
  v1::ListSessionsRequest list;
  list.set_principal("alice");
  EXPECT_FALSE(blog.ListSessions(list).ok());  // blog lacks the right "list"
  EXPECT_FALSE(stranger.CreateSession({}).ok());

  std::map<std::string, double> samples = Samples(ScrapeText());
  auto rpcs = [&samples](absl::string_view method, absl::string_view code,
                         absl::string_view tenant) {
    return samples[absl::StrCat("sessiond_rpcs_total{code=\"", code, "\",method=\"", kService,
                                method, "\",tenant=\"", tenant, "\"}")];
  };
  EXPECT_EQ(rpcs("CreateSession", "OK", "shop"), 3);
  EXPECT_EQ(rpcs("CreateSession", "OK", "blog"), 1);
  EXPECT_EQ(rpcs("ListSessions", "PERMISSION_DENIED", "blog"), 1);
  EXPECT_EQ(samples[Rpcs("CreateSession", "UNAUTHENTICATED")], 1);
}

TEST_F(MetricsE2eTest, RocksDbReportsItsFilesAndFreeDisk) {
  TempDir directory;
  ASSERT_NO_FATAL_FAILURE(
      Start({"--store=rocksdb", absl::StrCat("--data_dir=", directory.path(), "/db")}));
  for (int i = 0; i < 10; ++i) {
    v1::CreateSessionRequest create;
    (*create.mutable_entries())["k"].set_string_value(std::string(1000, 'x'));
    ASSERT_OK(client_->CreateSession(create));
  }
  std::map<std::string, double> samples = Samples(ScrapeText());
  EXPECT_GT(samples["sessiond_rocksdb_wal_bytes"], 10 * 1000);
  EXPECT_EQ(samples.count("sessiond_rocksdb_sst_bytes"), 1u);
  EXPECT_GT(samples["sessiond_data_dir_free_bytes"], 0);
  EXPECT_EQ(samples["sessiond_sessions_live"], 10);
}

// Scrapers that keep connections open, one after a scrape and one that never sent a request, do
// not hold up exit: after SIGTERM the process is gone within its --shutdown_timeout.
TEST_F(MetricsE2eTest, OpenScrapeConnectionsDoNotDelayExit) {
  constexpr absl::Duration kShutdownTimeout = absl::Seconds(1);
  ASSERT_NO_FATAL_FAILURE(
      Start({absl::StrCat("--shutdown_timeout=", absl::FormatDuration(kShutdownTimeout))}));
  const int scraper = ConnectTo(metrics_port_);
  ASSERT_GE(scraper, 0);
  EXPECT_TRUE(ScrapeKeepingAlive(scraper));
  const int idle = ConnectTo(metrics_port_);
  EXPECT_GE(idle, 0);

  const absl::Time signalled = absl::Now();
  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->Wait(), 0);
  EXPECT_LT(absl::Now() - signalled, kShutdownTimeout);
  close(scraper);
  if (idle >= 0) close(idle);
}

TEST_F(MetricsE2eTest, AnAddressThatCannotBeBoundStopsStartUpNamingTheFlag) {
  // The port is taken by another sessiond's metrics.
  ASSERT_NO_FATAL_FAILURE(Start({}));
  absl::StatusOr<std::unique_ptr<SessiondProcess>> second =
      SessiondProcess::Start({absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port_)});
  EXPECT_FALSE(second.ok());
}

#ifdef SESSIOND_TEST_REDIS
TEST_F(MetricsE2eTest, StoreFailuresAreCountedByCode) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::testing::RedisServer> redis,
                       storage::testing::RedisServer::Start());
  ASSERT_NO_FATAL_FAILURE(Start({"--store=redis", "--redis_addrs=" + redis->address(),
                                 "--redis_timeout=500ms", "--redis_connect_timeout=500ms"}));
  absl::StatusOr<v1::CreateSessionResponse> created = client_->CreateSession({});
  ASSERT_OK(created);
  redis->Kill();
  v1::GetRequest get;
  get.set_id(created->session().id());
  EXPECT_EQ(client_->Get(get).status().code(), absl::StatusCode::kUnavailable);

  std::map<std::string, double> samples = Samples(ScrapeText());
  EXPECT_EQ(samples[Rpcs("Get", "UNAVAILABLE")], 1);
  EXPECT_GE(samples["sessiond_store_errors_total{code=\"UNAVAILABLE\"}"], 1);
  EXPECT_EQ(samples["sessiond_sessions_created_total"], 1);
}
#endif

}  // namespace
}  // namespace sessiond
