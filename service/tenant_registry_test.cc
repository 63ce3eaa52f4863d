#include "service/tenant_registry.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "openssl/sha.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace sessiond::service {
namespace {

using ::sessiond::testing::StatusIs;
using ::sessiond::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// The hex SHA-256 of `token`, as `sha256sum` prints it.
std::string DigestOf(const std::string& token) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string TenantJson(const std::string& name, const std::vector<std::string>& tokens,
                       const std::string& extra = "") {
  std::string digests;
  for (const std::string& token : tokens) {
    absl::StrAppend(&digests, digests.empty() ? "" : ", ", "\"", DigestOf(token), "\"");
  }
  return absl::StrCat("{\"name\": \"", name, "\", \"token_sha256\": [", digests, "]", extra, "}");
}

std::string File(const std::vector<std::string>& tenants) {
  std::string text = "{\"tenants\": [";
  for (size_t i = 0; i < tenants.size(); ++i) absl::StrAppend(&text, i ? ", " : "", tenants[i]);
  return text + "]}";
}

absl::StatusOr<std::shared_ptr<const TenantSet>> SetOf(const std::string& text,
                                                       const ServiceLimits& server = {}) {
  absl::StatusOr<std::vector<TenantConfig>> configs = ParseTenantsFile(text);
  if (!configs.ok()) return configs.status();
  return TenantSet::Make(*std::move(configs), server);
}

// The name of the tenant `authorization` and `identities` authenticate as, or the error.
absl::StatusOr<std::string> Who(const TenantSet& set, absl::string_view authorization,
                                std::vector<std::string> identities = {}) {
  absl::StatusOr<const Tenant*> tenant = set.Authenticate(authorization, identities);
  if (!tenant.ok()) return tenant.status();
  return (*tenant)->config.name;
}

TEST(TenantSetTest, ABearerTokenNamesItsTenant) {
  ASSERT_OK_AND_ASSIGN(
      std::shared_ptr<const TenantSet> set,
      SetOf(File({TenantJson("shop", {"shop-old", "shop-new"}), TenantJson("blog", {"blog-1"}),
                  R"({"name": "admin", "client_identities": ["admin.internal"]})"})));
  EXPECT_THAT(Who(*set, "Bearer shop-old"), ::sessiond::testing::IsOkAndHolds("shop"));
  EXPECT_THAT(Who(*set, "Bearer shop-new"), ::sessiond::testing::IsOkAndHolds("shop"));
  EXPECT_THAT(Who(*set, "bearer blog-1"), ::sessiond::testing::IsOkAndHolds("blog"));
  EXPECT_THAT(Who(*set, "", {"other.internal", "admin.internal"}),
              ::sessiond::testing::IsOkAndHolds("admin"));
}

TEST(TenantSetTest, NoOrABadCredentialIsUnauthenticated) {
  ASSERT_OK_AND_ASSIGN(
      std::shared_ptr<const TenantSet> set,
      SetOf(File({TenantJson("shop", {"shop-token"}),
                  R"({"name": "admin", "client_identities": ["admin.internal"]})"})));
  const auto unauthenticated = StatusIs(absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Who(*set, ""), unauthenticated);
  EXPECT_THAT(Who(*set, "Bearer "), unauthenticated);
  EXPECT_THAT(Who(*set, "Basic c2hvcDp4"), unauthenticated);
  EXPECT_THAT(Who(*set, "Bearer shop-tokeN"),
              StatusIs(absl::StatusCode::kUnauthenticated, Not(HasSubstr("shop-tokeN"))));
  EXPECT_THAT(Who(*set, "", {"stranger.internal"}), unauthenticated);
  // A token, when sent, decides alone: a bad one is refused even with a known certificate.
  EXPECT_THAT(Who(*set, "Bearer wrong", {"admin.internal"}), unauthenticated);
}

TEST(TenantSetTest, TenantLimitsReplaceTheServersAndNeverExceedThem) {
  ServiceLimits server;
  server.max_idle_timeout = absl::Hours(1);
  server.default_idle_timeout = absl::Minutes(20);
  ASSERT_OK_AND_ASSIGN(
      std::shared_ptr<const TenantSet> set,
      SetOf(
          File({TenantJson("shop", {"t"},
                           R"(, "limits": {"max_idle_timeout": "10m", "max_session_bytes": 100})"),
                TenantJson("blog", {"u"})}),
          server));
  const Tenant& shop = set->tenants()[0];
  EXPECT_EQ(shop.limits.tenant, "shop");
  EXPECT_EQ(shop.limits.max_idle_timeout, absl::Minutes(10));
  EXPECT_EQ(shop.limits.default_idle_timeout, absl::Minutes(10));  // the server's, capped
  EXPECT_EQ(shop.limits.tenant_max_session_bytes, 100u);
  EXPECT_EQ(set->tenants()[1].limits.max_idle_timeout, absl::Hours(1));

  EXPECT_THAT(
      SetOf(File({TenantJson("shop", {"t"}, R"(, "limits": {"max_idle_timeout": "2h"})")}), server),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("tenants[0].limits.max_idle_timeout: 2h is over the server's "
                         "--max_idle_timeout")));
  EXPECT_THAT(SetOf(File({TenantJson("shop", {"t"},
                                     R"(, "limits": {"default_idle_timeout": "30m",
                                                     "max_idle_timeout": "15m"})")}),
                    server),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tenants[0].limits.default_idle_timeout")));
  ASSERT_OK_AND_ASSIGN(
      set,
      SetOf(File({TenantJson("shop", {"t"}, R"(, "limits": {"max_live_sessions": 5})")}), server));
  EXPECT_EQ(set->tenants()[0].limits.tenant_max_live_sessions, 5u);
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path + ".new") << text;
  ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
}

// Waits (at most 20 s) until the registry's current tenants authenticate `authorization` with
// `code`; true if they came to.
bool AwaitCode(const TenantRegistry& registry, absl::string_view authorization,
               absl::StatusCode code) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (registry.Current()->Authenticate(authorization, {}).status().code() != code) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

TEST(TenantRegistryTest, ABrokenFileIsFatalAtStartNamingTheFlag) {
  TempDir dir;
  EXPECT_THAT(TenantRegistry::Open(dir.File("absent.json"), {}, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tenants_file=")));
  Write(dir.File("tenants.json"), "{\"tenants\": [\n\n  {\"name\": }]}");
  EXPECT_THAT(TenantRegistry::Open(dir.File("tenants.json"), {}, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3")));
}

TEST(TenantRegistryTest, AChangedFileIsReloadedAndABrokenOneKeepsThePrevious) {
  TempDir dir;
  const std::string path = dir.File("tenants.json");
  Write(path, File({TenantJson("shop", {"old-token"})}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TenantRegistry> registry,
                       TenantRegistry::Open(path, {}, absl::Seconds(1)));
  EXPECT_OK(registry->Current()->Authenticate("Bearer old-token", {}));
  // Rotation: both tokens, then the new one alone.
  Write(path, File({TenantJson("shop", {"old-token", "new-token"})}));
  EXPECT_TRUE(AwaitCode(*registry, "Bearer new-token", absl::StatusCode::kOk));
  EXPECT_OK(registry->Current()->Authenticate("Bearer old-token", {}));
  Write(path, File({TenantJson("shop", {"new-token"})}));
  EXPECT_TRUE(AwaitCode(*registry, "Bearer old-token", absl::StatusCode::kUnauthenticated));
  // A broken file changes nothing; the next good one is read.
  Write(path, "{\"tenants\": ");
  absl::SleepFor(absl::Seconds(2));
  EXPECT_OK(registry->Current()->Authenticate("Bearer new-token", {}));
  Write(path, File({TenantJson("shop", {"newest-token"})}));
  EXPECT_TRUE(AwaitCode(*registry, "Bearer newest-token", absl::StatusCode::kOk));
}

}  // namespace
}  // namespace sessiond::service
