// A user's sessions through the real binary and the C++ client: labels, "log out everywhere",
// login in one call, the per-principal cap under concurrency, why a session is gone, revocation
// racing writes, and WatchSessions seeing every event exactly once, in order, across a watcher
// that is killed and resumes.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "sessiond/status.h"
#include "tests/support/server_test.h"
#include "tests/support/status_matchers.h"
#include "tests/support/values.h"

extern char** environ;

namespace sessiond {
namespace {

using ::sessiond::testing::StatusIs;
using ::sessiond::testing::Text;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

class UserSessionsE2eTest : public testing::ServerTest {
 protected:
  // A new session of `principal` with `labels`; its id.
  std::string Login(const std::string& principal, std::map<std::string, std::string> labels = {}) {
    v1::CreateSessionRequest create;
    create.set_principal(principal);
    create.mutable_labels()->insert(labels.begin(), labels.end());
    absl::StatusOr<v1::CreateSessionResponse> created = client_->CreateSession(create);
    EXPECT_OK(created);
    return created.ok() ? created->session().id() : "";
  }

  absl::Status Touch(const std::string& id) {
    v1::TouchRequest touch;
    touch.set_id(id);
    return client_->Touch(touch).status();
  }

  std::vector<std::string> ListIds(const std::string& principal) {
    v1::ListSessionsRequest list;
    list.set_principal(principal);
    absl::StatusOr<v1::ListSessionsResponse> listed = client_->ListSessions(list);
    EXPECT_OK(listed);
    std::vector<std::string> ids;
    if (listed.ok()) {
      for (const v1::SessionInfo& info : listed->sessions()) ids.push_back(info.id());
    }
    return ids;
  }
};

std::optional<v1::NotFoundDetails::Reason> GoneReason(const absl::Status& status) {
  std::optional<v1::NotFoundDetails> details = GetNotFoundDetails(status);
  if (!details.has_value()) return std::nullopt;
  return details->reason();
}

TEST_F(UserSessionsE2eTest, LogOutEverywhereButHere) {
  StartServer();
  const std::string laptop = Login("alice", {{"device", "laptop"}});
  absl::SleepFor(absl::Milliseconds(5));
  const std::string phone = Login("alice", {{"device", "phone"}});
  absl::SleepFor(absl::Milliseconds(5));
  const std::string here = Login("alice", {{"device", "desktop"}});
  const std::string bobs = Login("bob");

  v1::ListSessionsRequest list;
  list.set_principal("alice");
  ASSERT_OK_AND_ASSIGN(v1::ListSessionsResponse listed, client_->ListSessions(list));
  ASSERT_EQ(listed.sessions_size(), 3);
  EXPECT_EQ(listed.sessions(0).id(), here);
  EXPECT_EQ(listed.sessions(0).labels().at("device"), "desktop");
  EXPECT_EQ(listed.sessions(2).labels().at("device"), "laptop");
  EXPECT_TRUE(listed.sessions(0).has_last_access_at());

  v1::RevokeSessionsRequest revoke;
  revoke.set_principal("alice");
  revoke.add_except_ids(here);
  ASSERT_OK_AND_ASSIGN(v1::RevokeSessionsResponse revoked, client_->RevokeSessions(revoke));
  EXPECT_EQ(revoked.revoked(), 2u);
  for (const std::string& id : {laptop, phone}) {
    absl::Status status = Touch(id);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(GoneReason(status), Optional(v1::NotFoundDetails::REVOKED));
  }
  EXPECT_OK(Touch(here));
  EXPECT_OK(Touch(bobs));
  EXPECT_THAT(ListIds("alice"), ElementsAre(here));
  // A session that never existed says nothing about itself.
  EXPECT_EQ(GoneReason(Touch("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")), std::nullopt);
}

TEST_F(UserSessionsE2eTest, LoginRotatesAndBindsInOneCall) {
  StartServer();
  const std::string anonymous = Login("");
  v1::RotateIdRequest login;
  login.set_id(anonymous);
  login.set_principal("carol");
  ASSERT_OK_AND_ASSIGN(v1::RotateIdResponse rotated, client_->RotateId(login));
  EXPECT_EQ(rotated.session().principal(), "carol");
  EXPECT_THAT(ListIds("carol"), ElementsAre(rotated.session().id()));
  absl::Status old = Touch(anonymous);
  EXPECT_THAT(GoneReason(old), Optional(v1::NotFoundDetails::ROTATED));
  EXPECT_THAT(std::string(old.message()), ::testing::Not(HasSubstr(rotated.session().id())));
}

TEST_F(UserSessionsE2eTest, ThirtyTwoParallelLoginsWithACapOfFiveLeaveFive) {
  StartServer({"--max_sessions_per_principal=5", "--principal_cap_policy=reject_new"});
  std::atomic<int> created{0};
  std::vector<std::string> refusals(32);
  absl::Notification go;
  {
    std::vector<std::thread> threads;
    absl::Cleanup join = [&] {
      for (std::thread& thread : threads) thread.join();
    };
    for (int i = 0; i < 32; ++i) {
      threads.emplace_back([&, i] {
        go.WaitForNotification();
        v1::CreateSessionRequest create;
        create.set_principal("dave");
        absl::StatusOr<v1::CreateSessionResponse> result = client_->CreateSession(create);
        if (result.ok()) {
          ++created;
        } else {
          refusals[i] = result.status().ToString();
        }
      });
    }
    go.Notify();
  }
  EXPECT_EQ(created.load(), 5);
  EXPECT_EQ(ListIds("dave").size(), 5u);
  for (const std::string& refusal : refusals) {
    if (!refusal.empty()) {
      EXPECT_THAT(refusal, HasSubstr("--max_sessions_per_principal"));
    }
  }
}

TEST_F(UserSessionsE2eTest, NoWriteToARevokedSessionIsAcknowledgedAfterTheRevokeReturns) {
  StartServer();
  constexpr int kSessions = 8;
  std::vector<std::string> ids;
  for (int i = 0; i < kSessions; ++i) ids.push_back(Login("erin"));
  std::atomic<bool> revoke_returned{false};
  std::atomic<int> late_acknowledgements{0};
  std::atomic<int> writes_before{0};
  std::vector<std::thread> writers;
  {
    absl::Cleanup join = [&] {
      for (std::thread& writer : writers) writer.join();
    };
    for (int i = 0; i < kSessions; ++i) {
      writers.emplace_back([&, i] {
        for (int n = 0;; ++n) {
          const bool after = revoke_returned.load();
          v1::CommitRequest commit;
          commit.set_id(ids[i]);
          auto* set = commit.add_ops()->mutable_set();
          set->set_key("n");
          *set->mutable_value() = ::sessiond::testing::Int(n);
          absl::StatusOr<v1::CommitResponse> result = client_->Commit(commit);
          if (result.ok()) {
            (after ? late_acknowledgements : writes_before)++;
          } else if (after) {
            return;  // NOT_FOUND once revoked: done
          }
        }
      });
    }
    absl::SleepFor(absl::Milliseconds(200));
    v1::RevokeSessionsRequest revoke;
    revoke.set_principal("erin");
    ASSERT_OK_AND_ASSIGN(v1::RevokeSessionsResponse revoked, client_->RevokeSessions(revoke));
    revoke_returned = true;
    EXPECT_EQ(revoked.revoked(), size_t{kSessions});
  }
  EXPECT_GT(writes_before.load(), 0);
  EXPECT_EQ(late_acknowledgements.load(), 0);
  for (const std::string& id : ids) {
    EXPECT_THAT(GoneReason(Touch(id)), Optional(v1::NotFoundDetails::REVOKED));
  }
}

// Runs a scripted workload: for each of `count` sessions, create, commit, delete. 3 events each.
void RunWorkload(const Client& client, int count) {
  for (int i = 0; i < count; ++i) {
    v1::CreateSessionRequest create;
    create.set_principal("frank");
    absl::StatusOr<v1::CreateSessionResponse> created = client.CreateSession(create);
    ASSERT_OK(created);
    v1::CommitRequest commit;
    commit.set_id(created->session().id());
    auto* set = commit.add_ops()->mutable_set();
    set->set_key("cart");
    *set->mutable_value() = Text("book");
    ASSERT_OK(client.Commit(commit));
    v1::DeleteRequest remove;
    remove.set_id(created->session().id());
    ASSERT_OK(client.Delete(remove));
  }
}

// Checks that `events` ("<sequence> <kind> <id>") hold each session's CREATED, UPDATED, DELETED
// once and in that order, with sequences 1, 2, 3, ... with none repeated or missing.
void ExpectEveryEventOnceInOrder(const std::vector<std::string>& events, int sessions) {
  ASSERT_EQ(events.size(), size_t(3 * sessions));
  std::map<std::string, std::vector<std::string>> by_session;
  for (size_t i = 0; i < events.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(events[i], ' ');
    ASSERT_EQ(fields.size(), 3u) << events[i];
    EXPECT_EQ(fields[0], absl::StrCat(i + 1)) << "event " << i;
    by_session[fields[2]].push_back(fields[1]);
  }
  EXPECT_EQ(by_session.size(), size_t(sessions));
  for (const auto& [id, kinds] : by_session) {
    EXPECT_THAT(kinds, ElementsAre("CREATED", "UPDATED", "DELETED")) << id;
  }
}

// Up to `count` events from `stream` (fewer if it ends), as "<sequence> <kind> <id>".
std::vector<std::string> ReadEvents(EventStream& stream, size_t count) {
  std::vector<std::string> events;
  while (events.size() < count) {
    std::optional<v1::SessionEvent> event = stream.Next();
    if (!event.has_value()) break;
    events.push_back(absl::StrCat(event->sequence(), " ",
                                  v1::SessionEvent::Kind_Name(event->kind()), " ", event->id()));
  }
  return events;
}

TEST_F(UserSessionsE2eTest, AWatcherSeesEveryEventOnceAndInOrder) {
  StartServer();
  v1::WatchSessionsRequest watch;
  watch.set_from_sequence(1);
  std::unique_ptr<EventStream> stream = client_->WatchSessions(watch);
  constexpr int kSessions = 200;
  std::thread workload([&] { RunWorkload(*client_, kSessions); });
  const std::vector<std::string> events = ReadEvents(*stream, 3 * kSessions);
  workload.join();
  ExpectEveryEventOnceInOrder(events, kSessions);
  stream->Cancel();
}

TEST_F(UserSessionsE2eTest, AWatcherReplaysABacklogOfManyBatches) {
  StartServer();
  constexpr int kSessions = 100;  // 300 events: several of the server's batches of 64
  RunWorkload(*client_, kSessions);
  v1::WatchSessionsRequest watch;
  watch.set_from_sequence(1);
  CallOptions call;
  call.deadline = absl::Now() + absl::Seconds(20);
  std::unique_ptr<EventStream> stream = client_->WatchSessions(watch, call);
  const std::vector<std::string> events = ReadEvents(*stream, 3 * kSessions);
  ExpectEveryEventOnceInOrder(events, kSessions);
  stream->Cancel();
}

// A watch_printer process whose stdout the test reads line by line.
class WatcherProcess {
 public:
  WatcherProcess(const std::string& address, uint64_t from) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    const std::string binary = WATCH_PRINTER;
    const std::string from_text = absl::StrCat(from);
    char* argv[] = {const_cast<char*>(binary.c_str()), const_cast<char*>(address.c_str()),
                    const_cast<char*>(from_text.c_str()), nullptr};
    EXPECT_EQ(posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~WatcherProcess() {
    Kill();
    fclose(out_);
  }

  // The next line the watcher printed, without its newline; nullopt at the end of its output.
  std::optional<std::string> NextLine() {
    char line[512];
    if (fgets(line, sizeof line, out_) == nullptr) return std::nullopt;
    std::string text(line);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

TEST_F(UserSessionsE2eTest, AKilledWatcherResumesFromItsLastSequenceWithoutLossOrRepeat) {
  StartServer();
  constexpr int kSessions = 150;
  std::thread workload([&] { RunWorkload(*client_, kSessions); });
  absl::Cleanup join = [&] { workload.join(); };
  std::vector<std::string> events;
  uint64_t next = 1;
  // Three watcher processes in turn, each killed with SIGKILL after some events; the next resumes
  // from the sequence after the last one seen.
  for (size_t stop_at : {size_t{100}, size_t{250}, size_t{3 * kSessions}}) {
    WatcherProcess watcher(server_->address(), next);
    while (events.size() < stop_at) {
      std::optional<std::string> line = watcher.NextLine();
      ASSERT_TRUE(line.has_value()) << "the watcher ended early after " << events.size();
      events.push_back(*line);
      uint64_t sequence = 0;
      ASSERT_TRUE(absl::SimpleAtoi(line->substr(0, line->find(' ')), &sequence)) << *line;
      next = sequence + 1;
    }
    watcher.Kill();
  }
  ExpectEveryEventOnceInOrder(events, kSessions);
}

TEST_F(UserSessionsE2eTest, ASequenceOutsideTheLogIsOutOfRange) {
  StartServer({"--event_retention=10"});
  RunWorkload(*client_, 10);  // 30 events: 1 to 20 are gone
  v1::WatchSessionsRequest watch;
  watch.set_from_sequence(5);
  std::unique_ptr<EventStream> old = client_->WatchSessions(watch);
  EXPECT_EQ(old->Next(), std::nullopt);
  EXPECT_THAT(old->Finish(), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("resynchronise")));
  watch.set_from_sequence(21);
  std::unique_ptr<EventStream> recent = client_->WatchSessions(watch);
  std::optional<v1::SessionEvent> first = recent->Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->sequence(), 21u);
  recent->Cancel();
}

}  // namespace
}  // namespace sessiond
