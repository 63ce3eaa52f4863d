#include "service/request_parsing.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/v1/session.pb.h"
#include "tests/support/status_matchers.h"

namespace sessiond::service {
namespace {

using ::sessiond::testing::IsOk;
using ::sessiond::testing::StatusIs;
using ::testing::HasSubstr;

const std::string kBadUtf8 = "\xff\xfe";

// Appends a length-delimited field to `wire` (lengths here are < 128, so one varint byte).
void AppendField(std::string& wire, int number, const std::string& payload) {
  wire.push_back(static_cast<char>(number << 3 | 2));
  wire.push_back(static_cast<char>(payload.size()));
  wire += payload;
}

grpc::ByteBuffer ToByteBuffer(const std::string& wire) {
  grpc::Slice slice(wire);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(RequestParsingTest, AValidRequestRoundTrips) {
  v1::GetRequest request;
  request.set_id("some-id");
  request.add_keys("cart");
  grpc::ByteBuffer raw;
  SerializeResponse(request, &raw);
  v1::GetRequest parsed;
  ASSERT_THAT(ParseRequest(raw, &parsed), IsOk());
  EXPECT_EQ(parsed.keys(0), "cart");
}

TEST(RequestParsingTest, InvalidUtf8InARepeatedKeyIsNamed) {
  std::string wire;
  AppendField(wire, 2, kBadUtf8);  // GetRequest.keys
  v1::GetRequest parsed;
  const absl::Status status = ParseRequest(ToByteBuffer(wire), &parsed);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status.message(), HasSubstr("keys[0]: "));
  EXPECT_THAT(status.message(), HasSubstr("not valid UTF-8"));
}

TEST(RequestParsingTest, InvalidUtf8InAMapKeyIsFoundInsideTheEntry) {
  std::string entry;
  AppendField(entry, 1, kBadUtf8);  // map entry key
  std::string wire;
  AppendField(wire, 1, entry);  // CreateSessionRequest.entries
  EXPECT_EQ(FindInvalidUtf8Field(*v1::CreateSessionRequest::descriptor(), wire),
            "entries[\"\\xff\\xfe\"]");
}

TEST(RequestParsingTest, InvalidUtf8InAMapValueIsNamedByItsKey) {
  std::string value;
  AppendField(value, 1, kBadUtf8);  // Value.string_value
  std::string entry;
  AppendField(entry, 1, "cart");  // map entry key
  AppendField(entry, 2, value);   // map entry value
  std::string wire;
  AppendField(wire, 1, "id");
  AppendField(wire, 2, entry);  // SetRequest.entries
  EXPECT_EQ(FindInvalidUtf8Field(*v1::SetRequest::descriptor(), wire),
            "entries[\"cart\"].string_value");
}

TEST(RequestParsingTest, TheIndexOfARepeatedFieldIsCounted) {
  std::string wire;
  AppendField(wire, 2, "fine");
  AppendField(wire, 2, "also fine");
  AppendField(wire, 2, kBadUtf8);
  EXPECT_EQ(FindInvalidUtf8Field(*v1::GetRequest::descriptor(), wire), "keys[2]");
}

TEST(RequestParsingTest, InvalidUtf8DeepInACommitOperationIsFound) {
  std::string set_op;
  AppendField(set_op, 1, kBadUtf8);  // SetOp.key
  std::string operation;
  AppendField(operation, 1, set_op);  // Operation.set
  std::string wire;
  AppendField(wire, 2, operation);  // CommitRequest.ops
  EXPECT_EQ(FindInvalidUtf8Field(*v1::CommitRequest::descriptor(), wire), "ops[0].set.key");
}

TEST(RequestParsingTest, OverlongAndSurrogateEncodingsAreInvalid) {
  for (const std::string bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xe2\x82"}) {
    std::string wire;
    AppendField(wire, 2, bad);
    EXPECT_EQ(FindInvalidUtf8Field(*v1::GetRequest::descriptor(), wire), "keys[0]") << bad;
  }
  std::string fine;
  AppendField(fine, 2, "caf\xc3\xa9 \xf0\x9f\x8d\xaa");
  EXPECT_EQ(FindInvalidUtf8Field(*v1::GetRequest::descriptor(), fine), "");
}

TEST(RequestParsingTest, GarbageIsAnInvalidArgumentToo) {
  v1::GetRequest parsed;
  EXPECT_THAT(ParseRequest(ToByteBuffer("\x0a\x7f"), &parsed),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sessiond::service
