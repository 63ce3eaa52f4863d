// Who is calling, with --tenants_file: the tenant a call's credentials name (its bearer token in
// the `authorization` metadata, or the identity of its verified client certificate), checked for
// the right the rpc needs. Runs before any store access. Names the tenant in the call's trailing
// metadata (`sessiond-tenant`, metrics_labels.h), where the metrics interceptor finds it.
#ifndef SESSIOND_SERVICE_CALLER_TENANT_H_
#define SESSIOND_SERVICE_CALLER_TENANT_H_

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "service/tenant_registry.h"

namespace sessiond::service {

// The caller's tenant in the registry's current snapshot (kept alive by the pointer for the call).
// UNAUTHENTICATED without a credential or with one no tenant has; PERMISSION_DENIED naming the
// right and the tenant when `right` is given and the tenant's rights lack it (a Batch checks each
// operation's right itself, with CheckRight). Once the tenant is known (also when
// PERMISSION_DENIED), adds its name to `context`'s trailing metadata as `sessiond-tenant`.
absl::StatusOr<std::shared_ptr<const Tenant>> CallerTenant(const TenantRegistry& registry,
                                                           grpc::ServerContextBase& context,
                                                           std::optional<Right> right);

// OK if `tenant` has `right`; else PERMISSION_DENIED naming the right and the tenant.
absl::Status CheckRight(const Tenant& tenant, Right right);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_CALLER_TENANT_H_
