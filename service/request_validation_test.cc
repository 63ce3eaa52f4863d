#include "service/request_validation.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace sessiond::service {
namespace {

using ::sessiond::testing::IsOk;
using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;
using ::testing::HasSubstr;

const ServiceLimits kLimits;

// A FieldName that names `name`; the test checks errors name the field.
auto Named(const char* name) {
  return [name] { return std::string(name); };
}

google::protobuf::Duration ProtoDuration(int64_t seconds, int32_t nanos) {
  google::protobuf::Duration duration;
  duration.set_seconds(seconds);
  duration.set_nanos(nanos);
  return duration;
}

TEST(RequestValidationTest, KeysMustBeNonEmptyAndWithinTheLimit) {
  EXPECT_THAT(ValidateKey("cart", Named("keys[0]"), kLimits), IsOk());
  EXPECT_THAT(ValidateKey("", Named("keys[0]"), kLimits),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const absl::Status long_key = ValidateKey(std::string(257, 'k'), Named("keys[3]"), kLimits);
  EXPECT_THAT(long_key, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(long_key.message(), HasSubstr("keys[3]"));
  EXPECT_THAT(long_key.message(), HasSubstr("256"));
  EXPECT_THAT(ValidateKey(std::string(256, 'k'), Named("keys[0]"), kLimits), IsOk());
}

TEST(RequestValidationTest, RepeatedKeysAndOpsAreCappedAtTwiceMaxKeys) {
  EXPECT_THAT(ValidateRequestKeyCount(2 * kLimits.session.max_keys, "keys", kLimits), IsOk());
  const absl::Status over = ValidateRequestKeyCount(700'000, "keys", kLimits);
  EXPECT_THAT(over, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(over.message(), HasSubstr("keys"));
  EXPECT_THAT(over.message(), HasSubstr("--max_keys"));
}

TEST(RequestValidationTest, RequestIdsAreAtMost64Bytes) {
  EXPECT_THAT(ValidateRequestId(""), IsOk());
  EXPECT_THAT(ValidateRequestId(std::string(64, 'r')), IsOk());
  EXPECT_THAT(ValidateRequestId(std::string(65, 'r')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RequestValidationTest, ValuesMustHaveAKindAndFitTheLimit) {
  v1::Value value;
  EXPECT_THAT(ValidateValue(value, Named("v"), kLimits),
              StatusIs(absl::StatusCode::kInvalidArgument));
  value.set_bytes_value(std::string(kLimits.max_value_bytes, 'x'));
  EXPECT_THAT(ValidateValue(value, Named("v"), kLimits), IsOk());
  value.set_bytes_value(std::string(kLimits.max_value_bytes + 1, 'x'));
  EXPECT_THAT(ValidateValue(value, Named("v"), kLimits),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(RequestValidationTest, KeyFieldEscapesAndCutsTheKey) {
  EXPECT_EQ(KeyField("entries", "a\nb"), "entries[\"a\\nb\"]");
  EXPECT_EQ(KeyField("entries", std::string(100, 'k')),
            "entries[\"" + std::string(64, 'k') + "...\"]");
}

TEST(RequestValidationTest, TimeoutsFallBackAreTruncatedAndBounded) {
  ServiceLimits limits;
  limits.default_idle_timeout = absl::Minutes(20);
  limits.max_idle_timeout = absl::Hours(1);
  const TimeoutKind idle = TimeoutKind::kIdle;
  EXPECT_THAT(ResolveTimeout(nullptr, idle, limits), IsOkAndHolds(absl::Minutes(20)));
  const auto zero = ProtoDuration(0, 0);
  EXPECT_THAT(ResolveTimeout(&zero, idle, limits), IsOkAndHolds(absl::Minutes(20)));
  const auto fine = ProtoDuration(90, 1'500'000);
  EXPECT_THAT(ResolveTimeout(&fine, idle, limits), IsOkAndHolds(absl::Milliseconds(90'001)));
  const auto negative = ProtoDuration(-5, 0);
  EXPECT_THAT(ResolveTimeout(&negative, idle, limits),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const auto too_long = ProtoDuration(3601, 0);
  const absl::StatusOr<absl::Duration> over = ResolveTimeout(&too_long, idle, limits);
  EXPECT_THAT(over, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(over.status().message(), HasSubstr("idle_timeout"));
  const auto mixed = ProtoDuration(5, -1);
  EXPECT_THAT(ResolveTimeout(&mixed, idle, limits), StatusIs(absl::StatusCode::kInvalidArgument));
  const auto tiny = ProtoDuration(0, 10);
  EXPECT_THAT(ResolveTimeout(&tiny, idle, limits), StatusIs(absl::StatusCode::kInvalidArgument));
}

// A tenant's own maximum is its quota: RESOURCE_EXHAUSTED naming it; one it inherits from the
// server's flag stays INVALID_ARGUMENT naming the flag.
TEST(RequestValidationTest, OverATenantsOwnMaxTimeoutIsResourceExhaustedNamingIt) {
  ServiceLimits shop;
  shop.tenant = "shop";
  shop.max_idle_timeout = absl::Hours(1);
  shop.tenant_max_idle_timeout = true;
  const auto two_hours = ProtoDuration(7200, 0);
  const absl::StatusOr<absl::Duration> idle = ResolveTimeout(&two_hours, TimeoutKind::kIdle, shop);
  EXPECT_THAT(idle, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(idle.status().message(),
            "idle_timeout: 2h is over tenant \"shop\"'s max_idle_timeout 1h (--tenants_file)");
  const auto day = ProtoDuration(86400, 0);
  const absl::StatusOr<absl::Duration> absolute =
      ResolveTimeout(&day, TimeoutKind::kAbsolute, shop);
  EXPECT_THAT(absolute, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(absolute.status().message(), HasSubstr("(--max_absolute_timeout)"));
}

TEST(RequestValidationTest, PrincipalIsBounded) {
  EXPECT_THAT(ValidatePrincipal("user-42", kLimits), IsOk());
  EXPECT_THAT(ValidatePrincipal(std::string(257, 'p'), kLimits),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Every message names the field as the caller wrote it, says what was wrong and gives the limit
// with its flag, in one shape (issue 7, item m).
TEST(RequestValidationTest, MessagesNameTheFieldTheProblemAndTheLimitWithItsFlag) {
  v1::Value big;
  big.set_string_value(std::string(kLimits.max_value_bytes + 1, 'x'));
  EXPECT_EQ(
      ValidateValue(
          big, [] { return KeyField("entries", "cart"); }, kLimits)
          .message(),
      "entries[\"cart\"]: the value is 262145 bytes; the limit is 262144 (--max_value_bytes)");
  EXPECT_EQ(ValidateKey(std::string(300, 'k'), Named("keys[3]"), kLimits).message(),
            "keys[3]: the key is 300 bytes; the limit is 256 (--max_key_bytes)");
  EXPECT_EQ(ValidateKey("", Named("ops[0].set.key"), kLimits).message(),
            "ops[0].set.key: the key is empty");
  EXPECT_EQ(ValidatePrincipal(std::string(300, 'p'), kLimits).message(),
            "principal: 300 bytes; the limit is 256 (--max_principal_bytes)");
  const auto too_long = ProtoDuration(3600, 0);
  EXPECT_EQ(ResolveTimeout(&too_long, TimeoutKind::kIdle, kLimits).status().message(),
            "idle_timeout: 1h is too long; the limit is 20m (--max_idle_timeout)");
}

}  // namespace
}  // namespace sessiond::service
