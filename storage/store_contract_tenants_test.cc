// The Store contract, part three: tenants. Two tenants' views (TenantStore) of one store of the
// backend under test never see each other's sessions, lists, revocations or events, even with the
// same ids, principals and request_ids. Every backend runs these with the rest of the suite.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "storage/store_contract_test.h"
#include "storage/tenant_store.h"
#include "tests/support/status_matchers.h"

namespace sessiond::storage {
namespace {

using ::sessiond::testing::IsOkAndHolds;
using ::sessiond::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string TenantSessionId(int n) {
  return absl::StrCat("tn-", n, "-AAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

NewSession Session(int n, std::string principal = "", std::string request_id = "") {
  NewSession session;
  session.id = TenantSessionId(n);
  session.principal = std::move(principal);
  session.idle_timeout = absl::Minutes(20);
  session.absolute_timeout = absl::Hours(12);
  session.request_id = std::move(request_id);
  session.entries.push_back({"owner", Value(std::string(session.id))});
  return session;
}

std::vector<std::string> IdsOf(const SessionPage& page) {
  std::vector<std::string> ids;
  for (const SessionMeta& meta : page.sessions) ids.push_back(meta.id);
  return ids;
}

TEST_P(StoreContractTest, TenantsNeverSeeEachOthersSessions) {
  TenantStore a(store_.get(), TenantPrefix("a"));
  TenantStore b(store_.get(), TenantPrefix("b"));
  ASSERT_THAT(a.Create(Session(1)),
              IsOkAndHolds(::testing::Field(&SessionMeta::id, TenantSessionId(1))));
  const std::string id = TenantSessionId(1);
  const auto not_found = StatusIs(absl::StatusCode::kNotFound);
  EXPECT_THAT(b.Get(id, {}, Renewal::kRenew, [](absl::string_view, ValueView) {}), not_found);
  EXPECT_THAT(b.Apply(id, {Mutation::Set("k", true)}, {}), not_found);
  EXPECT_THAT(b.Touch(id), not_found);
  EXPECT_THAT(b.Rotate(id, TenantSessionId(2), std::nullopt, "", std::nullopt), not_found);
  EXPECT_THAT(b.Delete(id, std::nullopt, ""), IsOkAndHolds(false));
  // B's own session under the same id is another session.
  ASSERT_OK(b.Create(Session(1)));
  ASSERT_OK(b.Apply(id, {Mutation::Set("who", std::string("b"))}, {}));
  ASSERT_OK_AND_ASSIGN(SessionMeta meta,
                       a.Get(id, {}, Renewal::kRenew, [](absl::string_view, ValueView) {}));
  EXPECT_EQ(meta.version, 1u);
  EXPECT_EQ(meta.id, id);
  // A rotation in one tenant moves only its own session, and the new id is the tenant's.
  ASSERT_OK_AND_ASSIGN(SessionMeta rotated,
                       a.Rotate(id, TenantSessionId(3), std::nullopt, "", std::nullopt));
  EXPECT_EQ(rotated.id, TenantSessionId(3));
  EXPECT_THAT(b.Touch(TenantSessionId(3)), not_found);
  EXPECT_THAT(b.Touch(id), IsOkAndHolds(::testing::Field(&SessionMeta::version, 2u)));
  // The same Create request_id in two tenants creates two sessions.
  ASSERT_OK(a.Create(Session(4, "", "login-1")));
  ASSERT_OK_AND_ASSIGN(SessionMeta b_created, b.Create(Session(5, "", "login-1")));
  EXPECT_EQ(b_created.id, TenantSessionId(5));
  EXPECT_THAT(a.Touch(TenantSessionId(5)), not_found);
}

// A tenant's byte cap bounds the whole session after each write, not the bytes one write adds; a
// session over it may still shrink; another tenant keeps the store's own limit.
TEST_P(StoreContractTest, ATenantsByteCapBoundsTheWholeSession) {
  TenantStore capped(store_.get(), TenantPrefix("a"), 200, "tenant a's cap");
  TenantStore open(store_.get(), TenantPrefix("b"));
  const std::string id = TenantSessionId(1);  // its "owner" entry holds 5 + 33 bytes
  for (TenantStore* view : {&capped, &open}) {
    ASSERT_OK(view->Create(Session(1)));
    ASSERT_OK(view->Apply(id, {Mutation::Set("x", std::string(100, 'x'))}, {}));
  }
  EXPECT_THAT(
      capped.Apply(id, {Mutation::Set("y", std::string(100, 'y'))}, {}),
      StatusIs(absl::StatusCode::kResourceExhausted, ::testing::HasSubstr("tenant a's cap")));
  EXPECT_THAT(capped.Touch(id), IsOkAndHolds(::testing::Field(&SessionMeta::version, 2u)));
  EXPECT_OK(capped.Apply(id, {Mutation::Set("x", std::string(50, 'x'))}, {}));
  EXPECT_OK(open.Apply(id, {Mutation::Set("y", std::string(100, 'y'))}, {}));
}

TEST_P(StoreContractTest, TenantsNeverSeeEachOthersListsOrRevokes) {
  TenantStore a(store_.get(), TenantPrefix("a"));
  TenantStore b(store_.get(), TenantPrefix("b"));
  for (int n = 1; n <= 3; ++n) {
    ASSERT_OK(a.Create(Session(n, "alice")));
    clock_.Advance(absl::Seconds(1));
  }
  ASSERT_OK(b.Create(Session(9, "alice")));
  // Pages of A's alice, through A's page tokens, hold A's sessions only, principal unprefixed.
  ASSERT_OK_AND_ASSIGN(SessionPage first, a.ListSessions("alice", 2, ""));
  EXPECT_THAT(IdsOf(first), ElementsAre(TenantSessionId(3), TenantSessionId(2)));
  EXPECT_EQ(first.sessions[0].principal, "alice");
  ASSERT_OK_AND_ASSIGN(SessionPage second, a.ListSessions("alice", 2, first.next_page_token));
  EXPECT_THAT(IdsOf(second), ElementsAre(TenantSessionId(1)));
  EXPECT_THAT(second.next_page_token, IsEmpty());
  ASSERT_OK_AND_ASSIGN(SessionPage of_b, b.ListSessions("alice", 10, ""));
  EXPECT_THAT(IdsOf(of_b), ElementsAre(TenantSessionId(9)));
  // B revoking alice ends B's alice only; keeping an id of A's changes nothing for A.
  const std::vector<std::string> keep = {TenantSessionId(1)};
  EXPECT_THAT(b.RevokeSessions("alice", keep), IsOkAndHolds(1u));
  for (int n = 1; n <= 3; ++n) EXPECT_OK(a.Touch(TenantSessionId(n)));
  EXPECT_THAT(a.RevokeSessions("alice", keep), IsOkAndHolds(2u));
  EXPECT_OK(a.Touch(TenantSessionId(1)));
  // A principal named like a prefixed one is still another tenant's principal.
  EXPECT_THAT(a.ListSessions("b~alice", 10, ""),
              IsOkAndHolds(::testing::Field(&SessionPage::sessions, IsEmpty())));
}

TEST_P(StoreContractTest, TenantsNeverSeeEachOthersEvents) {
  TenantStore a(store_.get(), TenantPrefix("a"));
  TenantStore b(store_.get(), TenantPrefix("b"));
  const uint64_t first = store_->Events().next_sequence();
  ASSERT_OK(a.Create(Session(1, "alice")));
  ASSERT_OK(b.Create(Session(1, "bob")));
  ASSERT_OK(b.Rotate(TenantSessionId(1), TenantSessionId(2), std::nullopt, "", std::nullopt));
  ASSERT_OK(a.Delete(TenantSessionId(1), std::nullopt, ""));
  const std::vector<SessionEvent> events = AwaitEvents(*store_, first, 4);
  ASSERT_EQ(events.size(), 4u);
  std::vector<SessionEvent> of_a;
  std::vector<SessionEvent> of_b;
  for (const SessionEvent& event : events) {
    SessionEvent copy = event;
    if (ToTenantEvent(TenantPrefix("a"), &copy)) of_a.push_back(copy);
    copy = event;
    if (ToTenantEvent(TenantPrefix("b"), &copy)) of_b.push_back(copy);
  }
  using Kind = SessionEvent::Kind;
  ASSERT_EQ(of_a.size(), 2u);
  EXPECT_EQ(of_a[0].kind, Kind::kCreated);
  EXPECT_EQ(of_a[0].id, TenantSessionId(1));
  EXPECT_EQ(of_a[0].principal, "alice");
  EXPECT_EQ(of_a[1].kind, Kind::kDeleted);
  ASSERT_EQ(of_b.size(), 2u);
  EXPECT_EQ(of_b[0].principal, "bob");
  EXPECT_EQ(of_b[1].kind, Kind::kRotated);
  EXPECT_EQ(of_b[1].id, TenantSessionId(1));
  EXPECT_EQ(of_b[1].new_id, TenantSessionId(2));
}

}  // namespace
}  // namespace sessiond::storage
