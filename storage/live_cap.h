// LiveCap: a cap on how many live sessions one tenant may have (its max_live_sessions in
// --tenants_file), carried with a Create to the stores that enforce it (Store::CapsLiveSessions),
// and the one error every enforcer returns when it is reached.
#ifndef SESSIOND_STORAGE_LIVE_CAP_H_
#define SESSIOND_STORAGE_LIVE_CAP_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sessiond::storage {

// At most `max` sessions whose ids start with `id_prefix` (a tenant's TenantPrefix; TenantStore
// sets it) may be live. max 0: no cap.
struct LiveCap {
  std::string id_prefix;
  size_t max = 0;
  // How error messages name the limit (for example `tenant "shop" max_live_sessions
  // (--tenants_file)`); must outlive the call that carries the cap.
  absl::string_view name;
};

// RESOURCE_EXHAUSTED for a create refused because `live` sessions are live under `cap`: names the
// count, the limit and what to do.
absl::Status LiveCapExceeded(const LiveCap& cap, size_t live);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_LIVE_CAP_H_
