// Sixteen concurrent requests on one session, through the Session class and the real server: no
// update is lost, and writers of the same key are told of the conflict instead of overwriting.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "sessiond/session.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"

namespace sessiond {
namespace {

using ::sessiond::testing::SessiondProcess;
using ::testing::ElementsAre;
using ::testing::Optional;

constexpr int kThreads = 16;

class ConcurrencyE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SessiondProcess>> server =
        SessiondProcess::Start({"--drain_grace=0s"});
    ASSERT_OK(server);
    server_ = *std::move(server);
    client_ = std::make_unique<Client>(server_->NewChannel());
    absl::StatusOr<Session> session = Session::Create(*client_);
    ASSERT_OK(session);
    id_ = session->Id();
  }

  // Runs `body(thread_index)` on kThreads threads and joins them.
  template <typename Body>
  void RunThreads(Body body) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
    for (std::thread& thread : threads) thread.join();
  }

  std::unique_ptr<SessiondProcess> server_;
  std::unique_ptr<Client> client_;
  std::string id_;
};

TEST_F(ConcurrencyE2eTest, CommitsOfDifferentKeysNeverConflictAndNoneIsLost) {
  constexpr int kRequests = 40;
  std::atomic<int> failures{0};
  RunThreads([&](int t) {
    // Each iteration is one web request: load the session, change this thread's key, commit.
    for (int request = 1; request <= kRequests; ++request) {
      Session session(*client_, id_);
      session.SetInt64(absl::StrCat("counter-", t), request);
      session.SetString(absl::StrCat("note-", t), absl::StrCat("request ", request));
      if (!session.Commit().ok()) ++failures;
    }
  });
  EXPECT_EQ(failures.load(), 0);
  Session check(*client_, id_);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_THAT(check.GetInt64(absl::StrCat("counter-", t)), Optional(int64_t{kRequests}));
  }
  EXPECT_EQ(check.Keys().size(), 2u * kThreads);
  EXPECT_EQ(check.Info().version(), 1u + kThreads * kRequests);
}

TEST_F(ConcurrencyE2eTest, CommitsOfOneKeyReportConflictsAndLoseNoIncrement) {
  constexpr int kIncrementsPerThread = 15;
  std::atomic<int> conflicts{0};
  std::atomic<int> unexpected{0};
  RunThreads([&](int) {
    Session session(*client_, id_);
    for (int done = 0; done < kIncrementsPerThread;) {
      session.SetInt64("hits", session.GetInt64("hits").value_or(0) + 1);
      const absl::Status status = session.Commit();
      if (status.ok()) {
        ++done;
      } else if (absl::IsAborted(status) &&
                 session.ConflictingKeys() == std::vector<std::string>{"hits"}) {
        ++conflicts;
      } else {
        ++unexpected;
      }
      // The next request starts from what the server holds now.
      if (!session.Reload().ok()) ++unexpected;
    }
  });
  EXPECT_EQ(unexpected.load(), 0);
  Session check(*client_, id_);
  EXPECT_THAT(check.GetInt64("hits"), Optional(int64_t{kThreads * kIncrementsPerThread}))
      << "an increment was silently overwritten";
  RecordProperty("conflicts", conflicts.load());
}

}  // namespace
}  // namespace sessiond
