// ServiceLimits: what the service accepts in one request and the timeouts it grants. Each field is
// a server flag (server_flags.cc); defaults follow DESIGN.md §3.
#ifndef SESSIOND_SERVICE_LIMITS_H_
#define SESSIOND_SERVICE_LIMITS_H_

#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "storage/session.h"

namespace sessiond::service {

struct ServiceLimits {
  size_t max_key_bytes = 256;
  size_t max_value_bytes = 256 * 1024;
  size_t max_principal_bytes = 256;
  size_t max_labels = 16;
  // Applies to each label key and each label value.
  size_t max_label_bytes = 256;
  // The most operations one Batch call may carry.
  size_t max_batch_operations = 256;
  // How long a near cache may serve a session after its last granted lease ping, and so the most
  // Delete and RevokeSessions wait for the invalidation streams (WatchInvalidations).
  absl::Duration near_cache_lease = absl::Milliseconds(100);
  // Per-session limits, enforced by the store on the state after each mutation.
  storage::SessionLimits session;
  // Used when a CreateSession request leaves a timeout unset or zero.
  absl::Duration default_idle_timeout = absl::Minutes(20);
  absl::Duration default_absolute_timeout = absl::Hours(12);
  // The most a CreateSession request may ask for.
  absl::Duration max_idle_timeout = absl::Minutes(20);
  absl::Duration max_absolute_timeout = absl::Hours(12);
  // Whether max_idle_timeout / max_absolute_timeout are the tenant's own (its entry in
  // --tenants_file sets them) rather than the flags': over them is then RESOURCE_EXHAUSTED.
  bool tenant_max_idle_timeout = false;
  bool tenant_max_absolute_timeout = false;
  // Serialized responses the server holds for clients that have not read them, at most; one
  // connection at most an eighth (response_budget.h).
  size_t max_pending_response_bytes = size_t{256} << 20;
  // Set when these are one tenant's limits (--tenants_file, tenant_registry.h): messages then name
  // the tenant's limit instead of a flag.
  std::string tenant;
  // The tenant's max_session_bytes: the most entry bytes (keys + values) its sessions may hold,
  // checked on each request's entries here and on the whole session after each write by the
  // store (the tenant's TenantStore passes it in storage::Conditions). 0: none.
  size_t tenant_max_session_bytes = 0;
  // The tenant's max_live_sessions (tenant_session_counts.h). 0: none.
  size_t tenant_max_live_sessions = 0;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_LIMITS_H_
