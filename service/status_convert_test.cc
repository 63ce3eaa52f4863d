#include "service/status_convert.h"

#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "sessiond/v1/session.pb.h"
#include "storage/conflict.h"
#include "tests/support/status_matchers.h"

namespace sessiond::service {
namespace {

using ::testing::ElementsAre;

TEST(StatusConvertTest, KeepsCodeAndMessage) {
  const grpc::Status status = ToGrpcStatus(absl::NotFoundError("no such session"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no such session");
  EXPECT_TRUE(status.error_details().empty());
  EXPECT_OK(ToGrpcStatus(absl::OkStatus()));
}

TEST(StatusConvertTest, AConflictTravelsAsConflictDetailsInTheRichStatus) {
  const grpc::Status status =
      ToGrpcStatus(storage::ConflictError("stale", storage::Conflict{7, {"a", "b"}}));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(status.error_details()));
  EXPECT_EQ(rich.code(), static_cast<int>(grpc::StatusCode::ABORTED));
  EXPECT_EQ(rich.message(), "stale");
  ASSERT_EQ(rich.details_size(), 1);
  EXPECT_EQ(rich.details(0).type_url(), "type.googleapis.com/sessiond.v1.ConflictDetails");
  v1::ConflictDetails details;
  ASSERT_TRUE(rich.details(0).UnpackTo(&details));
  EXPECT_EQ(details.current_version(), 7u);
  EXPECT_THAT(details.conflicting_keys(), ElementsAre("a", "b"));
}

}  // namespace
}  // namespace sessiond::service
