#include "storage/event_log.h"

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

SessionEvent Created(const char* id) {
  SessionEvent event;
  event.id = id;
  return event;
}

TEST(EventLogTest, RecordNumbersEventsFromTheFirstSequence) {
  EventLog log(10, 7);
  EXPECT_EQ(log.Record(Created("a")), 7u);
  EXPECT_EQ(log.Record(Created("b")), 8u);
  EXPECT_EQ(log.next_sequence(), 9u);
  EXPECT_THAT(log.Read(8, 10), IsOkAndHolds(ElementsAre(Field(&SessionEvent::id, "b"))));
  EXPECT_THAT(log.Read(9, 10), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(log.Read(10, 10), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(log.Read(6, 10), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(EventLogTest, ReadsBeforeTheRetainedEventsAreOutOfRange) {
  EventLog log(2);
  for (const char* id : {"a", "b", "c"}) log.Record(Created(id));
  EXPECT_THAT(log.Read(1, 10), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(log.Read(2, 10), IsOkAndHolds(ElementsAre(Field(&SessionEvent::id, "b"),
                                                        Field(&SessionEvent::id, "c"))));
}

TEST(EventLogTest, AppendKeepsTheBackendsSequencesAndSkipsOldOnes) {
  EventLog log(10);
  SessionEvent event = Created("a");
  event.sequence = 5;
  EXPECT_TRUE(log.Append(event));
  EXPECT_FALSE(log.Append(event));
  event.sequence = 9;
  EXPECT_TRUE(log.Append(event));
  // Gaps are sequences that never existed: reading from inside one starts at the next event.
  EXPECT_THAT(log.Read(6, 10), IsOkAndHolds(ElementsAre(Field(&SessionEvent::sequence, 9u))));
  EXPECT_EQ(log.next_sequence(), 10u);
}

TEST(EventLogTest, AWaiterIsWokenOnceAndCanBeCancelled) {
  struct Counter : EventLog::Waiter {
    void Wake() override { ++wakes; }
    int wakes = 0;
  };
  EventLog log(10);
  auto waiter = std::make_shared<Counter>();
  ASSERT_TRUE(log.WaitFor(1, waiter));
  log.Record(Created("a"));
  log.Record(Created("b"));
  EXPECT_EQ(waiter->wakes, 1);
  EXPECT_FALSE(log.WaitFor(2, waiter));
  ASSERT_TRUE(log.WaitFor(3, waiter));
  log.Cancel(waiter.get());
  log.Record(Created("c"));
  EXPECT_EQ(waiter->wakes, 1);
}

// A waiter that notes the log's next sequence each time it is woken.
struct WakeRecorder : EventLog::Waiter {
  explicit WakeRecorder(const EventLog* log) : log(log) {}
  void Wake() override { woken_at.push_back(log->next_sequence()); }
  const EventLog* const log;
  std::vector<uint64_t> woken_at;
};

TEST(EventLogTest, InsideDeferWakesAWaiterIsWokenOnceWhenTheOutermostScopeEnds) {
  EventLog log(10);
  auto waiter = std::make_shared<WakeRecorder>(&log);
  ASSERT_TRUE(log.WaitFor(1, waiter));
  {
    EventLog::DeferWakes batch;
    log.Record(Created("a"));
    {
      EventLog::DeferWakes nested;
      log.Record(Created("b"));
    }
    EXPECT_THAT(waiter->woken_at, IsEmpty());
    log.Record(Created("c"));
    EXPECT_THAT(waiter->woken_at, IsEmpty());
  }
  EXPECT_THAT(waiter->woken_at, ElementsAre(4));  // once, with all three events in the log

  ASSERT_TRUE(log.WaitFor(4, waiter));
  log.Record(Created("d"));  // no scope: at once
  EXPECT_THAT(waiter->woken_at, ElementsAre(4, 5));
}

TEST(EventLogTest, DeferWakesDefersOnlyItsOwnThreadsEvents) {
  EventLog log(10);
  auto waiter = std::make_shared<WakeRecorder>(&log);
  ASSERT_TRUE(log.WaitFor(1, waiter));
  EventLog::DeferWakes scope;
  std::thread([&log] { log.Record(Created("a")); }).join();
  EXPECT_THAT(waiter->woken_at, ElementsAre(2));
}

}  // namespace
}  // namespace sessiond::storage
