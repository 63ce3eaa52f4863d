// GoogleTest matchers and macros for absl::Status, absl::StatusOr and grpc::Status: IsOk(),
// StatusIs(code), IsOkAndHolds(m), ASSERT_OK(expr), EXPECT_OK(expr) and
// ASSERT_OK_AND_ASSIGN(lhs, expr). A failure prints the status (code and message), which
// ASSERT_TRUE(status.ok()) would not.
#ifndef SESSIOND_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define SESSIOND_TESTS_SUPPORT_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"

namespace sessiond::testing {

inline absl::Status StatusOf(const absl::Status& status) { return status; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}
// gRPC's codes are the canonical codes absl uses, number for number.
inline absl::Status StatusOf(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

MATCHER(IsOk, "is OK") {
  *result_listener << "status: " << StatusOf(arg);
  return StatusOf(arg).ok();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  *result_listener << "status: " << StatusOf(arg);
  return StatusOf(arg).code() == code;
}

// Matches a status with `code` whose message matches `message` (for example HasSubstr("--flag")).
MATCHER_P2(StatusIs, code, message,
           "has status code " + absl::StatusCodeToString(code) + " and a matching message") {
  *result_listener << "status: " << StatusOf(arg);
  const absl::Status status = StatusOf(arg);
  return status.code() == code && ::testing::Matches(message)(std::string(status.message()));
}

// Matches an OK StatusOr whose value matches `inner`.
MATCHER_P(IsOkAndHolds, inner, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status: " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

}  // namespace sessiond::testing

#define ASSERT_OK(expr) ASSERT_THAT(expr, ::sessiond::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT(expr, ::sessiond::testing::IsOk())

#define SESSIOND_CONCAT_INNER_(a, b) a##b
#define SESSIOND_CONCAT_(a, b) SESSIOND_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(SESSIOND_CONCAT_(status_or_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  ASSERT_OK(tmp);                                  \
  lhs = *std::move(tmp)

#endif  // SESSIOND_TESTS_SUPPORT_STATUS_MATCHERS_H_
