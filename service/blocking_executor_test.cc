#include "service/blocking_executor.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace sessiond::service {
namespace {

TEST(BlockingExecutorTest, TasksThatBlockDoNotHoldUpTheOthers) {
  BlockingExecutor executor(4, 16);
  absl::Notification release;
  absl::BlockingCounter blocked(3);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(executor.Submit([&] {
      blocked.DecrementCount();
      release.WaitForNotification();
    }));
  }
  blocked.Wait();  // three threads are now stuck, as on an fsync
  absl::Notification ran;
  ASSERT_TRUE(executor.Submit([&] { ran.Notify(); }));
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  release.Notify();
}

TEST(BlockingExecutorTest, DestructionRunsEverythingSubmitted) {
  std::atomic<int> ran{0};
  {
    BlockingExecutor executor(2, 1000);
    for (int i = 0; i < 1000; ++i) {
      while (!executor.Submit([&] { ++ran; })) std::this_thread::yield();
    }
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(BlockingExecutorTest, RefusesTasksBeyondTheQueueBound) {
  BlockingExecutor executor(1, 2);
  absl::Notification release;
  absl::Notification running;
  ASSERT_TRUE(executor.Submit([&] {
    running.Notify();
    release.WaitForNotification();
  }));
  running.WaitForNotification();  // the only thread is busy; the queue is empty
  std::atomic<int> ran{0};
  EXPECT_TRUE(executor.Submit([&] { ++ran; }));
  EXPECT_TRUE(executor.Submit([&] { ++ran; }));
  EXPECT_FALSE(executor.Submit([&] { ran += 100; }));  // dropped, never run
  release.Notify();
  while (ran.load() < 2) std::this_thread::yield();
  // Room again once the queue drains.
  absl::Notification after;
  EXPECT_TRUE(executor.Submit([&] { after.Notify(); }));
  EXPECT_TRUE(after.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace sessiond::service
