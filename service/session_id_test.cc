#include "service/session_id.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace sessiond::service {
namespace {

using ::sessiond::testing::StatusIs;

TEST(SessionIdTest, NewIdsAreWellFormedAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = NewSessionId();
    ASSERT_EQ(id.size(), kSessionIdLength);
    ASSERT_OK(ValidateSessionId(id, "id")) << id;
    ASSERT_TRUE(seen.insert(id).second) << "repeated id " << id;
  }
}

TEST(SessionIdTest, NewIdsUseTheWholeAlphabet) {
  // 192 random bits spread over all 64 characters: 10k ids must hit every one of them.
  std::set<char> characters;
  for (int i = 0; i < 10'000; ++i) {
    for (char c : NewSessionId()) characters.insert(c);
  }
  EXPECT_EQ(characters.size(), 64u);
}

TEST(SessionIdTest, MalformedIdsAreInvalidArguments) {
  EXPECT_THAT(ValidateSessionId("", "id"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateSessionId(std::string(31, 'A'), "id"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateSessionId(std::string(33, 'A'), "id"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateSessionId(std::string(31, 'A') + "=", "id"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateSessionId(std::string(31, 'A') + "+", "id"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(ValidateSessionId(std::string(31, 'A') + "_", "id"));
}

TEST(SessionIdTest, MessagesNameTheField) {
  EXPECT_EQ(ValidateSessionId("", "id").message(),
            "id: empty; a session id is 32 base64url characters");
  EXPECT_EQ(ValidateSessionId("abc", "id").message(),
            "id: 3 characters; a session id is 32 base64url characters");
}

}  // namespace
}  // namespace sessiond::service
