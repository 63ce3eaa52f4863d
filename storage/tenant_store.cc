#include "storage/tenant_store.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/page_token.h"

namespace sessiond::storage {
namespace {

// Removes `prefix` from the front of `value` if it is there.
void StripPrefix(absl::string_view prefix, std::string& value) {
  if (absl::StartsWith(value, prefix)) value.erase(0, prefix.size());
}

// A page token with its cursor's id moved into (or out of, with `inside` false) a key space.
absl::StatusOr<std::string> TranslateToken(absl::string_view prefix, absl::string_view token,
                                           bool inside) {
  if (token.empty()) return std::string();
  absl::StatusOr<PageCursor> cursor = DecodePageToken(token);
  if (!cursor.ok()) return cursor.status();
  if (inside) {
    cursor->id = absl::StrCat(prefix, cursor->id);
  } else {
    StripPrefix(prefix, cursor->id);
  }
  return EncodePageToken(*cursor);
}

}  // namespace

std::string TenantPrefix(absl::string_view name) { return absl::StrCat(name, "~"); }

bool ToTenantEvent(absl::string_view prefix, SessionEvent* event) {
  if (!absl::StartsWith(event->id, prefix)) return false;
  StripPrefix(prefix, event->id);
  StripPrefix(prefix, event->new_id);
  StripPrefix(prefix, event->principal);
  return true;
}

std::string TenantStore::Inside(absl::string_view value) const {
  return absl::StrCat(prefix_, value);
}

std::string TenantStore::PrincipalInside(absl::string_view principal) const {
  return principal.empty() ? std::string() : Inside(principal);
}

void TenantStore::StripMeta(SessionMeta& meta) const {
  StripPrefix(prefix_, meta.id);
  StripPrefix(prefix_, meta.principal);
}

absl::StatusOr<SessionMeta> TenantStore::Outside(absl::StatusOr<SessionMeta> meta) const {
  if (meta.ok()) StripMeta(*meta);
  return meta;
}

absl::StatusOr<SessionMeta> TenantStore::Create(NewSession session) {
  session.id = Inside(session.id);
  session.principal = PrincipalInside(session.principal);
  // A Create's request_id names a record of its own (not one inside a session): without the
  // prefix, tenant B retrying tenant A's request_id would be handed A's session.
  if (!session.request_id.empty()) session.request_id = Inside(session.request_id);
  return Outside(target()->Create(std::move(session)));
}

absl::StatusOr<SessionMeta> TenantStore::Get(absl::string_view id,
                                             absl::Span<const absl::string_view> keys,
                                             Renewal renewal, EntryVisitor visit) {
  return Outside(target()->Get(Inside(id), keys, renewal, visit));
}

absl::StatusOr<SessionMeta> TenantStore::Apply(absl::string_view id,
                                               std::vector<Mutation> mutations,
                                               const Conditions& conditions) {
  if (max_session_bytes_ == 0) {
    return Outside(target()->Apply(Inside(id), std::move(mutations), conditions));
  }
  Conditions capped = conditions;
  capped.max_session_bytes = max_session_bytes_;
  capped.max_session_bytes_name = max_session_bytes_name_;
  return Outside(target()->Apply(Inside(id), std::move(mutations), capped));
}

absl::StatusOr<SessionMeta> TenantStore::Touch(absl::string_view id) {
  return Outside(target()->Touch(Inside(id)));
}

absl::StatusOr<bool> TenantStore::Delete(absl::string_view id, std::optional<uint64_t> if_version,
                                         absl::string_view request_id) {
  return target()->Delete(Inside(id), if_version, request_id);
}

absl::StatusOr<SessionMeta> TenantStore::Rotate(absl::string_view id, std::string new_id,
                                                std::optional<uint64_t> if_version,
                                                absl::string_view request_id,
                                                const std::optional<std::string>& bind_principal) {
  std::optional<std::string> principal;
  if (bind_principal.has_value()) principal = PrincipalInside(*bind_principal);
  return Outside(target()->Rotate(Inside(id), Inside(new_id), if_version, request_id, principal));
}

absl::StatusOr<SessionPage> TenantStore::ListSessions(absl::string_view principal, size_t page_size,
                                                      absl::string_view page_token) {
  absl::StatusOr<std::string> token = TranslateToken(prefix_, page_token, /*inside=*/true);
  if (!token.ok()) return token.status();
  absl::StatusOr<SessionPage> page = target()->ListSessions(Inside(principal), page_size, *token);
  if (!page.ok()) return page;
  for (SessionMeta& meta : page->sessions) StripMeta(meta);
  absl::StatusOr<std::string> next =
      TranslateToken(prefix_, page->next_page_token, /*inside=*/false);
  if (!next.ok()) return next.status();
  page->next_page_token = *std::move(next);
  return page;
}

absl::StatusOr<size_t> TenantStore::RevokeSessions(absl::string_view principal,
                                                   absl::Span<const std::string> except_ids) {
  std::vector<std::string> except;
  except.reserve(except_ids.size());
  for (const std::string& id : except_ids) except.push_back(Inside(id));
  return target()->RevokeSessions(Inside(principal), except);
}

}  // namespace sessiond::storage
