#include "tests/crash/crash_model.h"

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"

namespace sessiond {
namespace {

using ::sessiond::testing::SessiondProcess;

using Entries = std::map<std::string, int64_t>;

constexpr int kThreads = 4;
constexpr int kSessionsPerThread = 6;
constexpr int kKeysPerSession = 5;

// What one session must look like. `pending` is the state the session has if the one operation
// that got no answer took effect (nullopt: the session would be gone).
struct ModelSession {
  std::string id;
  std::optional<Entries> state;  // nullopt: deleted (acknowledged)
  bool has_pending = false;
  std::optional<Entries> pending;
};

// One client thread's sessions and its counters.
struct Worker {
  std::vector<ModelSession> sessions;
  int64_t acknowledged = 0;
};

// Applies `ops` (key -> value, or nullopt to remove) to `entries`.
Entries Applied(Entries entries, const std::map<std::string, std::optional<int64_t>>& ops) {
  for (const auto& [key, value] : ops) {
    if (value.has_value()) {
      entries[key] = *value;
    } else {
      entries.erase(key);
    }
  }
  return entries;
}

// Runs random operations on `worker`'s sessions until a call fails (the server died).
void RunWorker(Client& client, Worker& worker, std::mt19937_64 random) {
  for (int64_t counter = 1;; ++counter) {
    size_t slot = random() % kSessionsPerThread;
    if (slot >= worker.sessions.size() || !worker.sessions[slot].state.has_value()) {
      // Create a session (in a fresh slot, or replacing a deleted one).
      v1::CreateSessionRequest create;
      (*create.mutable_entries())["k0"].set_int64_value(counter);
      absl::StatusOr<v1::CreateSessionResponse> created = client.CreateSession(create);
      if (!created.ok()) return;  // an unanswered create leaves an unknown id: nothing to check
      ModelSession session{created->session().id(), Entries{{"k0", counter}}};
      if (slot >= worker.sessions.size()) {
        worker.sessions.push_back(std::move(session));
        slot = worker.sessions.size() - 1;
      } else {
        worker.sessions[slot] = std::move(session);
      }
    } else if (random() % 10 == 0) {
      ModelSession& session = worker.sessions[slot];
      session.has_pending = true;
      session.pending = std::nullopt;
      v1::DeleteRequest request;
      request.set_id(session.id);
      if (!client.Delete(request).ok()) return;
      session.state = std::nullopt;
    } else {
      ModelSession& session = worker.sessions[slot];
      v1::CommitRequest commit;
      commit.set_id(session.id);
      std::map<std::string, std::optional<int64_t>> ops;
      for (int n = 1 + random() % 3; n > 0; --n) {
        const std::string key = absl::StrCat("k", random() % kKeysPerSession);
        v1::Operation* op = commit.add_ops();
        if (random() % 4 == 0) {
          op->mutable_remove()->set_key(key);
          ops[key] = std::nullopt;
        } else {
          op->mutable_set()->set_key(key);
          op->mutable_set()->mutable_value()->set_int64_value(counter);
          ops[key] = counter;
        }
      }
      session.has_pending = true;
      session.pending = Applied(*session.state, ops);
      if (!client.Commit(commit).ok()) return;
      session.state = session.pending;
    }
    worker.sessions[slot].has_pending = false;
    ++worker.acknowledged;
  }
}

// What the server holds for `id`: its entries, or nullopt if it is NOT_FOUND.
absl::StatusOr<std::optional<Entries>> Observe(Client& client, const std::string& id) {
  v1::GetRequest get;
  get.set_id(id);
  get.set_no_renew(true);
  absl::StatusOr<v1::GetResponse> got = client.Get(get);
  if (absl::IsNotFound(got.status())) return std::nullopt;
  if (!got.ok()) return got.status();
  Entries entries;
  for (const auto& [key, value] : got->entries()) entries[key] = value.int64_value();
  return entries;
}

std::string Describe(const std::optional<Entries>& entries) {
  if (!entries.has_value()) return "<deleted>";
  std::string text;
  for (const auto& [key, value] : *entries) absl::StrAppend(&text, key, "=", value, " ");
  return text;
}

}  // namespace

int CrashCycles() {
  const char* cycles = std::getenv("SESSIOND_CRASH_CYCLES");
  return cycles != nullptr ? std::atoi(cycles) : 20;
}

void KillNineCycles(int cycles, const std::function<std::vector<std::string>(int cycle)>& flags) {
  std::vector<Worker> workers(kThreads);
  std::mt19937_64 random(std::random_device{}());
  int64_t acknowledged = 0, checked = 0;
  // The last round only checks what the last kill left.
  for (int cycle = 0; cycle <= cycles; ++cycle) {
    std::vector<std::string> server_flags = flags(cycle);
    server_flags.insert(server_flags.end(),
                        {"--drain_grace=0s", "--idle_timeout=1h", "--max_idle_timeout=1h"});
    absl::StatusOr<std::unique_ptr<SessiondProcess>> server =
        SessiondProcess::Start(std::move(server_flags));
    ASSERT_OK(server);
    Client client((*server)->NewChannel(), ClientOptions{.timeout = absl::Seconds(10)});

    // Check every session against the model, then adopt what the server holds.
    for (Worker& worker : workers) {
      for (ModelSession& session : worker.sessions) {
        absl::StatusOr<std::optional<Entries>> held = Observe(client, session.id);
        ASSERT_OK(held);
        const bool matches_acknowledged = *held == session.state;
        const bool matches_pending = session.has_pending && *held == session.pending;
        ASSERT_TRUE(matches_acknowledged || matches_pending)
            << "cycle " << cycle << ", session " << session.id.substr(0, 6) << "...: server holds "
            << Describe(*held) << "; acknowledged " << Describe(session.state)
            << (session.has_pending ? "; unanswered " + Describe(session.pending) : "");
        session.state = *held;
        session.has_pending = false;
        ++checked;
      }
    }

    if (cycle == cycles) break;

    std::vector<std::thread> threads;
    for (Worker& worker : workers) {
      threads.emplace_back(RunWorker, std::ref(client), std::ref(worker),
                           std::mt19937_64(random()));
    }
    absl::SleepFor(absl::Milliseconds(100 + random() % 400));
    (*server)->Signal(SIGKILL);
    EXPECT_EQ((*server)->Wait(), 128 + SIGKILL);
    for (std::thread& thread : threads) thread.join();
  }
  for (const Worker& worker : workers) acknowledged += worker.acknowledged;
  ::testing::Test::RecordProperty("cycles", cycles);
  ::testing::Test::RecordProperty("acknowledged_operations", static_cast<int>(acknowledged));
  std::cout << "crash test: " << cycles << " kill -9 cycles, " << acknowledged
            << " acknowledged operations, " << checked << " session checks, none lost\n";
  EXPECT_GT(acknowledged, cycles) << "the workers got operations through between kills";
}

}  // namespace sessiond
