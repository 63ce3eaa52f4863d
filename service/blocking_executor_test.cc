#include "service/blocking_executor.h"

#include <atomic>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace sessiond::service {
namespace {

TEST(BlockingExecutorTest, TasksThatBlockDoNotHoldUpTheOthers) {
  BlockingExecutor executor(4);
  absl::Notification release;
  absl::BlockingCounter blocked(3);
  for (int i = 0; i < 3; ++i) {
    executor.Submit([&] {
      blocked.DecrementCount();
      release.WaitForNotification();
    });
  }
  blocked.Wait();  // three threads are now stuck, as on an fsync
  absl::Notification ran;
  executor.Submit([&] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  release.Notify();
}

TEST(BlockingExecutorTest, DestructionRunsEverythingSubmitted) {
  std::atomic<int> ran{0};
  {
    BlockingExecutor executor(2);
    for (int i = 0; i < 1000; ++i) executor.Submit([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 1000);
}

}  // namespace
}  // namespace sessiond::service
