// The C++ client's near cache against the real binary (its WatchInvalidations stream and leases):
// reads served without an rpc, changes, deletes and revocations by other clients seen within one
// lease (--near_cache_lease, 100 ms), a SIGSTOPped process that serves nothing deleted meanwhile,
// a lost stream that stops the serving, sliding expiry kept by few Touches, and commits after a
// stale cached read refused. The server's /metrics counts the rpcs it saw.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "sessiond/session.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/server_test.h"
#include "tests/support/status_matchers.h"
#include "tests/support/values.h"

extern char** environ;

namespace sessiond {
namespace {

using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::Samples;
using ::sessiond::testing::Scrape;
using ::sessiond::testing::StatusIs;
using ::sessiond::testing::Text;

// One lease (the server's default --near_cache_lease) and a margin for scheduling.
constexpr absl::Duration kLeaseAndMargin = absl::Milliseconds(150);

class NearCacheE2eTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    metrics_port_ = testing::FreePort();
    ASSERT_NE(metrics_port_, 0);
    StartServer({absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port_)});
    ClientOptions options;
    options.near_cache_max_bytes = 1 << 20;
    cached_ = std::make_unique<Client>(server_->NewChannel(), options);
    WaitForLease();
  }

  // Waits (at most 10 s) until the caching client's stream holds a lease.
  void WaitForLease() {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!cached_->near_cache_stats().leased && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_TRUE(cached_->near_cache_stats().leased);
  }

  std::string NewSession(v1::CreateSessionRequest request = {}) {
    (*request.mutable_entries())["k"] = Text("v1");
    absl::StatusOr<v1::CreateSessionResponse> created = client_->CreateSession(request);
    EXPECT_OK(created);
    return created.ok() ? created->session().id() : "";
  }

  static absl::StatusOr<v1::GetResponse> Get(const Client& client, const std::string& id) {
    v1::GetRequest request;
    request.set_id(id);
    return client.Get(request);
  }

  // Reads `id` through the caching client until the cache answers (at most 5 s); the answer.
  v1::GetResponse ReadUntilCached(const std::string& id) {
    const absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (absl::Now() < give_up) {
      const uint64_t hits = cached_->near_cache_stats().hits;
      absl::StatusOr<v1::GetResponse> got = Get(*cached_, id);
      EXPECT_OK(got);
      if (!got.ok()) break;
      if (cached_->near_cache_stats().hits > hits) return *got;
      absl::SleepFor(absl::Milliseconds(5));
    }
    ADD_FAILURE() << "the near cache never answered";
    return {};
  }

  // The value of entry "k" as the caching client reads it, or the read's error.
  absl::StatusOr<std::string> CachedValue(const std::string& id) {
    absl::StatusOr<v1::GetResponse> got = Get(*cached_, id);
    if (!got.ok()) return got.status();
    return got->entries().at("k").string_value();
  }

  // How many `method` calls the server answered with OK, as rpcs and as operations in a Batch.
  double ServerCount(const std::string& method) {
    std::map<std::string, double> samples = Samples(Scrape(metrics_port_));
    const std::string labels =
        absl::StrCat("{code=\"OK\",method=\"/sessiond.v1.SessionService/", method, "\"}");
    return samples["sessiond_rpcs_total" + labels] +
           samples["sessiond_batched_operations_total" + labels];
  }

  void SetK(const std::string& id, const std::string& value) {
    v1::SetRequest set;
    set.set_id(id);
    (*set.mutable_entries())["k"] = Text(value);
    ASSERT_OK(client_->Set(set));
  }

  int metrics_port_ = 0;
  // A client with a near cache; client_ (from ServerTest) has none.
  std::unique_ptr<Client> cached_;
};

TEST_F(NearCacheE2eTest, ASecondGetIsAnsweredFromMemoryWithoutAnRpc) {
  const std::string id = NewSession();
  absl::StatusOr<v1::GetResponse> first = Get(*cached_, id);
  ASSERT_OK(first);
  const double gets = ServerCount("Get");

  absl::StatusOr<v1::GetResponse> second = Get(*cached_, id);
  ASSERT_OK(second);
  EXPECT_EQ(ServerCount("Get"), gets);
  EXPECT_EQ(cached_->near_cache_stats().hits, 1);
  EXPECT_EQ(second->session().version(), first->session().version());
  EXPECT_EQ(second->entries().at("k").string_value(), "v1");
  EXPECT_EQ(second->entries_size(), first->entries_size());
}

TEST_F(NearCacheE2eTest, ItsOwnWritesAreReadBackAtOnce) {
  const std::string id = NewSession();
  ReadUntilCached(id);
  v1::SetRequest set;
  set.set_id(id);
  (*set.mutable_entries())["k"] = Text("mine");
  ASSERT_OK(cached_->Set(set));
  const uint64_t hits = cached_->near_cache_stats().hits;
  EXPECT_THAT(CachedValue(id), IsOkAndHolds(std::string("mine")));
  EXPECT_EQ(cached_->near_cache_stats().hits, hits + 1);
}

TEST_F(NearCacheE2eTest, AReadAfterItsOwnCommitIsAHitWithTheWrittenValue) {
  const std::string id = NewSession();
  ReadUntilCached(id);
  Session session(*cached_, id);
  ASSERT_OK(session.Load());
  session.SetString("k", "mine");
  session.SetString("extra", "added");
  ASSERT_OK(session.Commit());
  const double gets = ServerCount("Get");
  const uint64_t hits = cached_->near_cache_stats().hits;

  absl::StatusOr<v1::GetResponse> read = Get(*cached_, id);
  ASSERT_OK(read);
  EXPECT_EQ(cached_->near_cache_stats().hits, hits + 1);
  EXPECT_EQ(ServerCount("Get"), gets);
  EXPECT_EQ(read->entries().at("k").string_value(), "mine");
  EXPECT_EQ(read->entries().at("extra").string_value(), "added");
  absl::StatusOr<v1::GetResponse> stored = Get(*client_, id);
  ASSERT_OK(stored);
  EXPECT_EQ(read->session().version(), stored->session().version());
  EXPECT_EQ(read->entries_size(), stored->entries_size());
}

TEST_F(NearCacheE2eTest, ACommitRacingAnotherClientsWriteLeavesNoEntry) {
  const std::string id = NewSession();
  ReadUntilCached(id);
  // Alone, this client's write keeps the session cached.
  v1::ClearRequest clear;
  clear.set_id(id);
  ASSERT_OK(cached_->Clear(clear));
  const uint64_t hits_before = cached_->near_cache_stats().hits;
  ASSERT_OK(Get(*cached_, id));
  ASSERT_EQ(cached_->near_cache_stats().hits, hits_before + 1);
  // Another client's change lands between the cached read and this client's commit, so the
  // commit's version is not the cached one plus one.
  v1::SetRequest theirs;
  theirs.set_id(id);
  (*theirs.mutable_entries())["theirs"] = Text("t");
  ASSERT_OK(client_->Set(theirs));
  v1::CommitRequest mine;
  mine.set_id(id);
  v1::Operation& set = *mine.add_ops();
  set.mutable_set()->set_key("k");
  *set.mutable_set()->mutable_value() = Text("mine");
  ASSERT_OK(cached_->Commit(mine));
  const uint64_t hits = cached_->near_cache_stats().hits;

  absl::StatusOr<v1::GetResponse> read = Get(*cached_, id);
  ASSERT_OK(read);
  EXPECT_EQ(cached_->near_cache_stats().hits, hits);
  EXPECT_EQ(read->entries().at("k").string_value(), "mine");
  EXPECT_EQ(read->entries().at("theirs").string_value(), "t");
}

TEST_F(NearCacheE2eTest, AnotherClientsChangeIsSeenWithinOneLease) {
  const std::string id = NewSession();
  ReadUntilCached(id);
  SetK(id, "v2");
  absl::SleepFor(kLeaseAndMargin);
  EXPECT_THAT(CachedValue(id), IsOkAndHolds(std::string("v2")));

  ReadUntilCached(id);
  v1::DeleteRequest logout;
  logout.set_id(id);
  ASSERT_OK(client_->Delete(logout));
  absl::SleepFor(kLeaseAndMargin);
  EXPECT_THAT(Get(*cached_, id), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(NearCacheE2eTest, AnotherClientsRevocationEndsCachedSessionsWithinOneLease) {
  v1::CreateSessionRequest alice;
  alice.set_principal("alice");
  const std::string phone = NewSession(alice);
  const std::string laptop = NewSession(alice);
  ReadUntilCached(phone);
  ReadUntilCached(laptop);

  v1::RevokeSessionsRequest revoke;
  revoke.set_principal("alice");
  ASSERT_OK(client_->RevokeSessions(revoke));
  absl::SleepFor(kLeaseAndMargin);
  EXPECT_THAT(Get(*cached_, phone), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Get(*cached_, laptop), StatusIs(absl::StatusCode::kNotFound));
}

// A near_cache_child process the test talks to through its stdin and stdout.
class ChildProcess {
 public:
  explicit ChildProcess(const std::string& address) {
    int to_child[2], from_child[2];
    EXPECT_EQ(pipe(to_child), 0);
    EXPECT_EQ(pipe(from_child), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, to_child[1]);
    posix_spawn_file_actions_addclose(&actions, from_child[0]);
    const std::string binary = NEAR_CACHE_CHILD;
    char* argv[] = {const_cast<char*>(binary.c_str()), const_cast<char*>(address.c_str()), nullptr};
    EXPECT_EQ(posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    in_ = fdopen(to_child[1], "w");
    out_ = fdopen(from_child[0], "r");
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    fclose(in_);
    fclose(out_);
  }

  // Sends one command line (it waits in the pipe while the child is stopped).
  void Send(const std::string& line) {
    std::fputs((line + "\n").c_str(), in_);
    std::fflush(in_);
  }

  // The next line the child printed, without its newline; "" at the end of its output.
  std::string NextLine() {
    char line[256];
    if (std::fgets(line, sizeof line, out_) == nullptr) return "";
    std::string text(line);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  void Signal(int signal_number) { kill(pid_, signal_number); }

 private:
  pid_t pid_ = -1;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
};

TEST_F(NearCacheE2eTest, AStoppedProcessServesNothingDeletedWhileItWasStopped) {
  const std::string id = NewSession();
  ChildProcess child(server_->address());
  ASSERT_EQ(child.NextLine(), "leased");
  child.Send("fill " + id);
  ASSERT_EQ(child.NextLine(), "cached");

  child.Signal(SIGSTOP);
  v1::DeleteRequest logout;
  logout.set_id(id);
  const absl::Time start = absl::Now();
  ASSERT_OK(client_->Delete(logout));
  // Delete does not wait for a stream whose reader does not read beyond about one lease.
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // Within one lease after Delete returned, no process serves the session.
  absl::SleepFor(kLeaseAndMargin);
  child.Send("get " + id);  // the first thing the child does once it runs again
  child.Signal(SIGCONT);
  EXPECT_EQ(child.NextLine(), "NOT_FOUND miss");
}

TEST_F(NearCacheE2eTest, AStoppedServerStopsTheServingWithinOneLeaseAndItResumesAfter) {
  const std::string id = NewSession();
  ReadUntilCached(id);
  server_->Signal(SIGSTOP);
  absl::SleepFor(kLeaseAndMargin);
  const uint64_t hits = cached_->near_cache_stats().hits;
  v1::GetRequest get;
  get.set_id(id);
  EXPECT_THAT(cached_->Get(get, {.deadline = absl::Now() + absl::Milliseconds(300)}),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(cached_->near_cache_stats().hits, hits);
  EXPECT_FALSE(cached_->near_cache_stats().leased);

  server_->Signal(SIGCONT);
  WaitForLease();
  EXPECT_EQ(ReadUntilCached(id).entries().at("k").string_value(), "v1");
}

TEST_F(NearCacheE2eTest, ALostStreamStopsTheServing) {
  const std::string id = NewSession();
  ReadUntilCached(id);
  server_->Signal(SIGKILL);
  server_->Wait();
  absl::SleepFor(kLeaseAndMargin);
  EXPECT_THAT(Get(*cached_, id), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(cached_->near_cache_stats().leased);
  EXPECT_EQ(cached_->near_cache_stats().entries, 0);
}

TEST_F(NearCacheE2eTest, CachedReadsKeepTheSessionAliveWithFewTouches) {
  v1::CreateSessionRequest short_idle;
  short_idle.mutable_idle_timeout()->set_seconds(2);
  const std::string id = NewSession(short_idle);
  ReadUntilCached(id);
  const double touches = ServerCount("Touch");
  const uint64_t hits = cached_->near_cache_stats().hits;

  int reads = 0;
  for (const absl::Time end = absl::Now() + absl::Seconds(3); absl::Now() < end; ++reads) {
    ASSERT_OK(Get(*cached_, id));
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_OK(Get(*client_, id));  // alive on the server, after longer than its idle timeout
  const double touched = ServerCount("Touch") - touches;
  EXPECT_GE(touched, 1);
  EXPECT_LT(touched * 10, reads);
  EXPECT_GT(cached_->near_cache_stats().hits - hits, static_cast<uint64_t>(reads / 2));
}

TEST_F(NearCacheE2eTest, ACommitAfterAStaleCachedReadIsAborted) {
  const std::string id = NewSession();
  ReadUntilCached(id);
  Session session(*cached_, id);
  const uint64_t hits = cached_->near_cache_stats().hits;
  ASSERT_OK(session.Load());
  ASSERT_EQ(cached_->near_cache_stats().hits, hits + 1);  // the read came from the cache
  SetK(id, "theirs");

  session.SetString("k", "mine");
  EXPECT_THAT(session.Commit(), StatusIs(absl::StatusCode::kAborted));
  absl::StatusOr<v1::GetResponse> stored = Get(*client_, id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->entries().at("k").string_value(), "theirs");
}

}  // namespace
}  // namespace sessiond
