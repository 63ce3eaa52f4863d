#include "service/metrics_labels.h"

#include "gtest/gtest.h"

namespace sessiond::service {
namespace {

TEST(MetricsLabelsTest, MethodsOfRegisteredServicesAreKeptOthersAreOther) {
  EXPECT_EQ(MethodLabel("/sessiond.v1.SessionService/Get"), "/sessiond.v1.SessionService/Get");
  EXPECT_EQ(MethodLabel("/grpc.health.v1.Health/Check"), "/grpc.health.v1.Health/Check");
  EXPECT_EQ(MethodLabel("/attacker.Chosen/Name123"), "other");
  EXPECT_EQ(MethodLabel(""), "other");
}

TEST(MetricsLabelsTest, LimitIsTheFlagTheMessageCites) {
  EXPECT_EQ(LimitLabel(absl::StatusCode::kResourceExhausted,
                       "entries: 5 keys; the limit is 2 (--max_keys)"),
            "max_keys");
  EXPECT_EQ(LimitLabel(absl::StatusCode::kResourceExhausted,
                       "the store is full: 1GiB (--max_memory_bytes)"),
            "max_memory_bytes");
  EXPECT_EQ(LimitLabel(absl::StatusCode::kInvalidArgument,
                       "idle_timeout: 2h is too long; the limit is 20m (--max_idle_timeout)"),
            "max_idle_timeout");
  EXPECT_EQ(LimitLabel(absl::StatusCode::kResourceExhausted,
                       "Received message larger than max (5000000 vs. 4194304)"),
            "max_message_bytes");
}

TEST(MetricsLabelsTest, MessagesNamingNoKnownLimitGiveNoLabel) {
  EXPECT_EQ(LimitLabel(absl::StatusCode::kResourceExhausted, "cannot format a Redis command"), "");
  EXPECT_EQ(LimitLabel(absl::StatusCode::kNotFound, "no such session"), "");
  EXPECT_EQ(LimitLabel(absl::StatusCode::kInvalidArgument, "see (--made_up_flag)"), "");
}

TEST(MetricsLabelsTest, CodesAreCanonicalNames) {
  EXPECT_EQ(CodeLabel(absl::StatusCode::kOk), "OK");
  EXPECT_EQ(CodeLabel(absl::StatusCode::kResourceExhausted), "RESOURCE_EXHAUSTED");
}

}  // namespace
}  // namespace sessiond::service
