// TenantStore: one tenant's view of a Store shared by several tenants (applications), so that a
// tenant sees only its own sessions whatever the backend.
//
// Tenancy lives in the store's key space: every id, principal and Create request_id a tenant
// passes is stored as `<prefix><value>`, where the prefix is the tenant's name followed by '~'
// (TenantPrefix). Tenant names are [a-z0-9_-], which holds no '~', so no tenant's prefixed value
// can equal another's: a session of tenant A is unknown to tenant B even with the right id, and
// costs B exactly what an unknown id costs (the same store lookup). Everything the view returns has
// the prefix stripped (ids and principals in SessionMeta, ListSessions' page tokens), and events
// are filtered to the tenant's own with ToTenantEvent.
//
// Why a decorator and not a backend feature: stores treat ids and principals as opaque bytes (the
// service validates them first), so a prefix is honoured by every backend without a change: Redis
// keys `sd:{<prefix><id>}` keep one hash tag (no '{' or '}' in a prefix), RocksDB and PostgreSQL
// keep ids as byte strings without a length limit, and the principal index orders prefixed
// principals like any other. The contract suite runs two views over each backend.
//
// The server without --tenants_file uses no TenantStore at all (no prefix, no cost), so data
// written before tenants were configured stays readable there. Events() is the whole store's log:
// a reader must filter it with ToTenantEvent. Thread-safe if the target is.
#ifndef SESSIOND_STORAGE_TENANT_STORE_H_
#define SESSIOND_STORAGE_TENANT_STORE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/session_event.h"
#include "storage/store_wrapper.h"

namespace sessiond::storage {

// The key-space prefix of the tenant named `name` (a valid tenant name: [a-z0-9_-], not empty).
std::string TenantPrefix(absl::string_view name);

// If `event` is about a session of the tenant with `prefix`, strips the prefix from its ids and
// principal and returns true; else returns false (the event is not the tenant's to see).
bool ToTenantEvent(absl::string_view prefix, SessionEvent* event);

class TenantStore final : public StoreWrapper {
 public:
  // A view of `target` (not owned; must outlive the view) for the tenant with `prefix`
  // (TenantPrefix). With `max_session_bytes` (not 0), every Apply through the view also caps the
  // session's key and value bytes at it (Conditions::max_session_bytes), its messages naming it
  // `max_session_bytes_name` (not owned; must outlive the view). Cheap to make: it holds two
  // pointers, the prefix and the cap.
  TenantStore(Store* target, absl::string_view prefix, size_t max_session_bytes = 0,
              absl::string_view max_session_bytes_name = {})
      : StoreWrapper(target),
        prefix_(prefix),
        max_session_bytes_(max_session_bytes),
        max_session_bytes_name_(max_session_bytes_name) {}

  absl::StatusOr<SessionMeta> Create(NewSession session) override;
  absl::StatusOr<SessionMeta> Get(absl::string_view id, absl::Span<const absl::string_view> keys,
                                  Renewal renewal, EntryVisitor visit) override;
  absl::StatusOr<SessionMeta> Apply(absl::string_view id, std::vector<Mutation> mutations,
                                    const Conditions& conditions) override;
  absl::StatusOr<SessionMeta> Touch(absl::string_view id) override;
  absl::StatusOr<bool> Delete(absl::string_view id, std::optional<uint64_t> if_version,
                              absl::string_view request_id) override;
  absl::StatusOr<SessionMeta> Rotate(absl::string_view id, std::string new_id,
                                     std::optional<uint64_t> if_version,
                                     absl::string_view request_id,
                                     const std::optional<std::string>& bind_principal) override;
  absl::StatusOr<SessionPage> ListSessions(absl::string_view principal, size_t page_size,
                                           absl::string_view page_token) override;
  absl::StatusOr<size_t> RevokeSessions(absl::string_view principal,
                                        absl::Span<const std::string> except_ids) override;

 private:
  // `value` in the tenant's key space.
  std::string Inside(absl::string_view value) const;
  // A principal in the tenant's key space; the empty principal (none) stays empty.
  std::string PrincipalInside(absl::string_view principal) const;
  // `meta` as the tenant sees it: the prefix stripped from its id and principal.
  absl::StatusOr<SessionMeta> Outside(absl::StatusOr<SessionMeta> meta) const;
  void StripMeta(SessionMeta& meta) const;

  const std::string prefix_;
  const size_t max_session_bytes_;
  const absl::string_view max_session_bytes_name_;  // not owned
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_TENANT_STORE_H_
