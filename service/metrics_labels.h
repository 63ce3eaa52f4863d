// Bounded label values for sessiond's metrics, derived from what a call returned.
#ifndef SESSIOND_SERVICE_METRICS_LABELS_H_
#define SESSIOND_SERVICE_METRICS_LABELS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sessiond::service {

// `method` if it belongs to a service sessiond registers (its session service, health,
// reflection), else "other", so that a client cannot grow the label set.
std::string MethodLabel(absl::string_view method);

// The limit a refused request hit, named by the flag its error message cites ("max_keys" for a
// message ending "(--max_keys)"; "max_message_bytes" for gRPC's own size check); empty if the
// message names no known limit.
std::string LimitLabel(absl::StatusCode code, absl::string_view message);

// The trailing metadata with which a call names the tenant it is served as (--tenants_file; set by
// CallerTenant once the caller is authenticated): the `tenant` label of sessiond_rpcs_total, and
// the caller's own tenant name for a client debugging its credentials.
inline constexpr char kTenantTrailer[] = "sessiond-tenant";

// The canonical name of `code` ("OK", "NOT_FOUND", ...).
std::string CodeLabel(absl::StatusCode code);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_METRICS_LABELS_H_
