// libFuzzer target: the tenants file parser (--tenants_file). ParseTenantsFile must never crash or
// throw, and what it accepts must hold what the server relies on: every tenant named, with a
// credential, and no token digest or identity shared by two tenants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "absl/strings/string_view.h"
#include "service/tenants_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto tenants = sessiond::service::ParseTenantsFile(text);
  if (!tenants.ok()) return 0;
  std::set<std::string> names;
  std::set<sessiond::service::Sha256> digests;
  std::set<std::string> identities;
  for (const sessiond::service::TenantConfig& tenant : *tenants) {
    if (tenant.name.empty() || tenant.name.find('~') != std::string::npos ||
        !names.insert(tenant.name).second) {
      std::abort();  // a name that is no key-space prefix, or two tenants with one
    }
    if (tenant.token_sha256.empty() && tenant.client_identities.empty()) std::abort();
    for (const auto& digest : tenant.token_sha256) {
      if (!digests.insert(digest).second) std::abort();
    }
    for (const std::string& identity : tenant.client_identities) {
      if (!identities.insert(identity).second) std::abort();
    }
  }
  return 0;
}
