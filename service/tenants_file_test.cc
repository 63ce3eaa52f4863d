#include "service/tenants_file.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace sessiond::service {
namespace {

using ::sessiond::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Digests as the file writes them (any 64 hex digits parse).
constexpr char kDigest[] = "2b1a1d07ab4b0a4ec1aa9e5a8cd0e1cd4f1b5e2e2a6c7f44b4d0a8f5e1e3f0c1";
constexpr char kOtherDigest[] = "0000000000000000000000000000000000000000000000000000000000000001";

std::string OneTenant(const std::string& fields) {
  return "{\"tenants\": [{\"name\": \"shop\", " + fields + "}]}";
}

TEST(TenantsFileTest, ParsesEveryField) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<TenantConfig> tenants,
      ParseTenantsFile(R"({"tenants": [
        {"name": "shop", "token_sha256": [")" +
                       std::string(kDigest) + R"(", ")" + std::string(kOtherDigest) + R"("],
         "client_identities": ["shop.internal"], "rights": ["sessions", "watch"],
         "limits": {"max_session_bytes": 4096, "default_idle_timeout": "5m",
                    "max_idle_timeout": "10m", "default_absolute_timeout": "1h",
                    "max_absolute_timeout": "2h"}},
        {"name": "admin-1", "client_identities": ["admin.internal"]}]})"));
  ASSERT_EQ(tenants.size(), 2u);
  const TenantConfig& shop = tenants[0];
  EXPECT_EQ(shop.name, "shop");
  ASSERT_EQ(shop.token_sha256.size(), 2u);
  EXPECT_EQ(shop.token_sha256[0][0], 0x2b);
  EXPECT_EQ(shop.token_sha256[1][31], 0x01);
  EXPECT_THAT(shop.client_identities, ::testing::ElementsAre("shop.internal"));
  EXPECT_TRUE(shop.Has(Right::kSessions));
  EXPECT_TRUE(shop.Has(Right::kWatch));
  EXPECT_FALSE(shop.Has(Right::kList));
  EXPECT_FALSE(shop.Has(Right::kRevoke));
  EXPECT_EQ(shop.limits.max_session_bytes, 4096u);
  EXPECT_EQ(shop.limits.default_idle_timeout, absl::Minutes(5));
  EXPECT_EQ(shop.limits.max_absolute_timeout, absl::Hours(2));
  // Rights left out: all of them.
  for (Right right : {Right::kSessions, Right::kList, Right::kRevoke, Right::kWatch}) {
    EXPECT_TRUE(tenants[1].Has(right)) << RightName(right);
  }
  EXPECT_FALSE(tenants[1].limits.max_idle_timeout.has_value());
}

TEST(TenantsFileTest, SyntaxErrorsNameTheLineAndColumn) {
  EXPECT_THAT(ParseTenantsFile("{\"tenants\": [\n  {\"name\": \"shop\",,}]}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2, column")));
  EXPECT_THAT(ParseTenantsFile(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TenantsFileTest, BadFieldsAreNamed) {
  const std::string token = "\"token_sha256\": [\"" + std::string(kDigest) + "\"]";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "(top level)"},
      {"{\"tenants\": []}", "tenants"},
      {"{\"tenant\": []}", "unknown field \"tenant\""},
      {OneTenant("\"token_sha256\": [\"abc\"]"), "tenants[0].token_sha256[0]"},
      {OneTenant("\"token_sha256\": [\"" + std::string(63, 'a') + "g\"]"),
       "tenants[0].token_sha256[0]"},
      {OneTenant("\"token_sha256\": \"x\""), "tenants[0].token_sha256: not an array"},
      {OneTenant(token + ", \"rights\": [\"root\"]"), "tenants[0].rights[0]"},
      {OneTenant(token + ", \"limits\": {\"max_idle_timeout\": \"soon\"}"),
       "tenants[0].limits.max_idle_timeout"},
      {OneTenant(token + ", \"limits\": {\"max_session_bytes\": -1}"),
       "tenants[0].limits.max_session_bytes"},
      {OneTenant(token + ", \"limits\": {\"max_sessions\": 1}"), "unknown field \"max_sessions\""},
      {OneTenant(token + ", \"tokens\": []"), "tenants[0]: unknown field \"tokens\""},
      {OneTenant("\"rights\": [\"list\"]"), "tenants[0]: no token_sha256 and no client_identities"},
      {"{\"tenants\": [{\"name\": \"Shop\", " + token + "}]}", "tenants[0].name"},
      {"{\"tenants\": [{\"name\": \"shop~x\", " + token + "}]}", "tenants[0].name"},
      {"{\"tenants\": [{" + token + "}]}", "tenants[0].name"},
  };
  for (const auto& [text, field] : cases) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseTenantsFile(text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)));
  }
}

TEST(TenantsFileTest, NamesTokensAndIdentitiesBelongToOneTenant) {
  const std::string token = "\"token_sha256\": [\"" + std::string(kDigest) + "\"]";
  EXPECT_THAT(ParseTenantsFile("{\"tenants\": [{\"name\": \"a\", " + token +
                               "}, {\"name\": \"a\", " + "\"client_identities\": [\"x\"]}]}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tenants[1].name")));
  EXPECT_THAT(ParseTenantsFile("{\"tenants\": [{\"name\": \"a\", " + token +
                               "}, {\"name\": \"b\", " + token + "}]}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("tenants[1].token_sha256[0]"), Not(HasSubstr(kDigest)))));
  EXPECT_THAT(
      ParseTenantsFile(R"({"tenants": [{"name": "a", "client_identities": ["x"]},
                                               {"name": "b", "client_identities": ["x"]}]})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tenants[1].client_identities[0]")));
}

}  // namespace
}  // namespace sessiond::service
