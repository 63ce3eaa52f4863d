#include "service/response_budget.h"

#include "gtest/gtest.h"

namespace sessiond::service {
namespace {

TEST(ResponseBudgetTest, AConnectionGetsAnEighthOnceItHasSomethingPending) {
  ResponseBudget budget(800);
  EXPECT_TRUE(budget.TryCharge("a", 60));
  EXPECT_TRUE(budget.TryCharge("a", 40));
  EXPECT_FALSE(budget.TryCharge("a", 1)) << "over a's share of 100";
  EXPECT_TRUE(budget.TryCharge("b", 100)) << "other connections keep theirs";
  budget.Release("a", 60);
  EXPECT_TRUE(budget.TryCharge("a", 60));
}

TEST(ResponseBudgetTest, AConnectionWithNothingPendingGetsOneResponseLargerThanItsShare) {
  ResponseBudget budget(800);
  EXPECT_TRUE(budget.TryCharge("a", 500));
  EXPECT_FALSE(budget.TryCharge("a", 1));
  EXPECT_FALSE(budget.TryCharge("b", 301)) << "over the server's budget";
  EXPECT_TRUE(budget.TryCharge("b", 300));
  budget.Release("a", 500);
  budget.Release("b", 300);
  EXPECT_TRUE(budget.TryCharge("c", 800));
}

TEST(ResponseBudgetTest, EmptyResponsesAreFree) {
  ResponseBudget budget(8);
  EXPECT_TRUE(budget.TryCharge("a", 8));
  EXPECT_TRUE(budget.TryCharge("a", 0));
  EXPECT_TRUE(budget.TryCharge("b", 0));
}

TEST(ResponseBudgetTest, RefusalNamesTheFlag) {
  const absl::Status status = OverResponseBudget(ResponseBudget(1024));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(status.message().find("--max_pending_response_bytes"), absl::string_view::npos);
}

}  // namespace
}  // namespace sessiond::service
