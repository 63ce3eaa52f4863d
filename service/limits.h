// ServiceLimits: what the service accepts in one request and the timeouts it grants. Each field is
// a server flag (server_flags.cc); defaults follow DESIGN.md §3.
#ifndef SESSIOND_SERVICE_LIMITS_H_
#define SESSIOND_SERVICE_LIMITS_H_

#include <cstddef>

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
  // Per-session limits, enforced by the store on the state after each mutation.
  storage::SessionLimits session;
  // Used when a CreateSession request leaves a timeout unset or zero.
  absl::Duration default_idle_timeout = absl::Minutes(20);
  absl::Duration default_absolute_timeout = absl::Hours(12);
  // The most a CreateSession request may ask for.
  absl::Duration max_idle_timeout = absl::Minutes(20);
  absl::Duration max_absolute_timeout = absl::Hours(12);
  // Serialized responses the server holds for clients that have not read them, at most; one
  // connection at most an eighth (response_budget.h).
  size_t max_pending_response_bytes = size_t{256} << 20;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_LIMITS_H_
