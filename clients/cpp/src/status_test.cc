#include "sessiond/status.h"

#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "gmock/gmock.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace sessiond {
namespace {

using ::sessiond::testing::IsOk;
using ::sessiond::testing::StatusIs;
using ::testing::ElementsAre;

// An ABORTED grpc::Status whose error details carry `details`, as the server sends a conflict.
grpc::Status AbortedWith(const google::protobuf::Message& details) {
  google::rpc::Status rich;
  rich.set_code(grpc::StatusCode::ABORTED);
  rich.set_message("version conflict");
  rich.add_details()->PackFrom(details);
  return grpc::Status(grpc::StatusCode::ABORTED, "version conflict", rich.SerializeAsString());
}

TEST(FromGrpcStatusTest, OkIsOk) { EXPECT_THAT(FromGrpcStatus(grpc::Status::OK), IsOk()); }

TEST(FromGrpcStatusTest, KeepsEveryCodeAndTheMessage) {
  for (int code = grpc::StatusCode::CANCELLED; code <= grpc::StatusCode::UNAUTHENTICATED; ++code) {
    const absl::Status status =
        FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(code), "key too long"));
    EXPECT_EQ(static_cast<int>(status.code()), code);
    EXPECT_EQ(status.message(), "key too long");
  }
  EXPECT_THAT(FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(FromGrpcStatusTest, DecodesConflictDetails) {
  v1::ConflictDetails sent;
  sent.set_current_version(7);
  sent.add_conflicting_keys("cart");
  sent.add_conflicting_keys("user");

  const absl::Status status = FromGrpcStatus(AbortedWith(sent));

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(status.message(), "version conflict");
  const std::optional<v1::ConflictDetails> details = GetConflictDetails(status);
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->current_version(), 7u);
  EXPECT_THAT(details->conflicting_keys(), ElementsAre("cart", "user"));
}

TEST(FromGrpcStatusTest, KeepsOtherDetailsAsPayloadsByTypeUrl) {
  google::protobuf::Duration other;
  other.set_seconds(3);

  const absl::Status status = FromGrpcStatus(AbortedWith(other));

  EXPECT_EQ(GetConflictDetails(status), std::nullopt);
  const auto payload = status.GetPayload("type.googleapis.com/google.protobuf.Duration");
  ASSERT_TRUE(payload.has_value());
  google::protobuf::Duration decoded;
  ASSERT_TRUE(decoded.ParseFromString(std::string(*payload)));
  EXPECT_EQ(decoded.seconds(), 3);
}

TEST(FromGrpcStatusTest, UnparsableDetailsAreDroppedCodeKept) {
  const absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::ABORTED, "conflict", "\xff\xff not a proto"));

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(GetConflictDetails(status), std::nullopt);
}

TEST(GetConflictDetailsTest, NoneWithoutPayload) {
  EXPECT_EQ(GetConflictDetails(absl::AbortedError("conflict")), std::nullopt);
  EXPECT_EQ(GetConflictDetails(absl::OkStatus()), std::nullopt);
}

TEST(GetConflictDetailsTest, NoneWhenThePayloadDoesNotParse) {
  absl::Status status = absl::AbortedError("conflict");
  status.SetPayload("type.googleapis.com/sessiond.v1.ConflictDetails", absl::Cord("\xff\xff"));
  EXPECT_EQ(GetConflictDetails(status), std::nullopt);
}

}  // namespace
}  // namespace sessiond
