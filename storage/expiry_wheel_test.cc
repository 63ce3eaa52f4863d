#include "storage/expiry_wheel.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sessiond::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

struct Timer : ExpiryWheel::Item {
  Timer(int id_in, absl::Time at_in) : id(id_in), at(at_in) {}
  int id;
  absl::Time at;
};

class ExpiryWheelTest : public ::testing::Test {
 protected:
  std::vector<int> AdvanceTo(absl::Duration since_start) {
    std::vector<int> expired;
    wheel_.Advance(
        start_ + since_start,
        [](const ExpiryWheel::Item* item) { return static_cast<const Timer*>(item)->at; },
        [&](ExpiryWheel::Item* item) { expired.push_back(static_cast<Timer*>(item)->id); });
    return expired;
  }

  const absl::Time start_ = absl::FromUnixSeconds(1'000'000);
  ExpiryWheel wheel_{start_, /*slot_count=*/16};
};

TEST_F(ExpiryWheelTest, ExpiresItemsOnceTheirSecondHasPassed) {
  Timer a(1, start_ + absl::Seconds(2)), b(2, start_ + absl::Seconds(5));
  wheel_.Insert(&a, a.at);
  wheel_.Insert(&b, b.at);
  EXPECT_THAT(AdvanceTo(absl::Milliseconds(2500)), IsEmpty()) << "second 2 has not fully passed";
  EXPECT_THAT(AdvanceTo(absl::Seconds(3)), ElementsAre(1));
  EXPECT_THAT(AdvanceTo(absl::Seconds(6)), ElementsAre(2));
}

TEST_F(ExpiryWheelTest, RemovedItemsNeverExpire) {
  Timer a(1, start_ + absl::Seconds(1)), b(2, start_ + absl::Seconds(1));
  wheel_.Insert(&a, a.at);
  wheel_.Insert(&b, b.at);
  wheel_.Remove(&a);
  wheel_.Remove(&a);  // a no-op the second time
  EXPECT_THAT(AdvanceTo(absl::Seconds(3)), ElementsAre(2));
}

TEST_F(ExpiryWheelTest, AMovedDeadlineIsFollowed) {
  Timer a(1, start_ + absl::Seconds(2));
  wheel_.Insert(&a, a.at);
  a.at = start_ + absl::Seconds(7);
  EXPECT_THAT(AdvanceTo(absl::Seconds(4)), IsEmpty());
  EXPECT_THAT(AdvanceTo(absl::Seconds(8)), ElementsAre(1));
}

TEST_F(ExpiryWheelTest, DeadlinesBeyondOneLapWaitForTheirLap) {
  Timer far(1, start_ + absl::Seconds(40)), near(2, start_ + absl::Seconds(8));
  wheel_.Insert(&far, far.at);
  wheel_.Insert(&near, near.at);
  EXPECT_THAT(AdvanceTo(absl::Seconds(30)), ElementsAre(2));
  EXPECT_THAT(AdvanceTo(absl::Seconds(39)), IsEmpty());
  EXPECT_THAT(AdvanceTo(absl::Seconds(41)), ElementsAre(1));
}

TEST_F(ExpiryWheelTest, ALongPauseVisitsEverySlotOnce) {
  std::vector<Timer> timers;
  timers.reserve(10);
  for (int i = 0; i < 10; ++i) timers.emplace_back(i, start_ + absl::Seconds(i + 1));
  for (Timer& timer : timers) wheel_.Insert(&timer, timer.at);
  EXPECT_THAT(AdvanceTo(absl::Hours(1)), UnorderedElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

}  // namespace
}  // namespace sessiond::storage
