#include "service/caller_tenant.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "service/metrics_labels.h"

namespace sessiond::service {

absl::StatusOr<std::shared_ptr<const Tenant>> CallerTenant(const TenantRegistry& registry,
                                                           grpc::ServerContextBase& context,
                                                           std::optional<Right> right) {
  std::shared_ptr<const TenantSet> set = registry.Current();
  absl::string_view authorization;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  std::vector<std::string> identities;
  if (std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
      auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const grpc::string_ref& name : auth->FindPropertyValues("x509_subject_alternative_name")) {
      identities.emplace_back(name.data(), name.size());
    }
  }
  absl::StatusOr<const Tenant*> tenant = set->Authenticate(authorization, identities);
  if (!tenant.ok()) return tenant.status();
  context.AddTrailingMetadata(kTenantTrailer, (*tenant)->config.name);
  if (right.has_value()) {
    if (absl::Status status = CheckRight(**tenant, *right); !status.ok()) return status;
  }
  return std::shared_ptr<const Tenant>(std::move(set), *tenant);
}

absl::Status CheckRight(const Tenant& tenant, Right right) {
  if (tenant.config.Has(right)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("tenant \"", tenant.config.name,
                                                  "\" lacks the right \"", RightName(right),
                                                  "\" this rpc needs (--tenants_file)"));
}

}  // namespace sessiond::service
