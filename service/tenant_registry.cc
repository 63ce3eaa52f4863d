#include "service/tenant_registry.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "openssl/crypto.h"
#include "openssl/sha.h"
#include "service/request_validation.h"
#include "storage/tenant_store.h"

namespace sessiond::service {
namespace {

// What the file is now (mtime, size, inode), or an error naming the flag.
absl::StatusOr<std::string> StampOf(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tenants_file=", path, ": cannot read it: ", std::strerror(errno)));
  }
  return absl::StrCat(info.st_mtim.tv_sec, ".", info.st_mtim.tv_nsec, "/", info.st_size, "/",
                      info.st_ino);
}

absl::StatusOr<std::shared_ptr<const TenantSet>> Load(const std::string& path,
                                                      const ServiceLimits& server) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  if (!file || !(text << file.rdbuf())) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tenants_file=", path, ": cannot read it: ", std::strerror(errno)));
  }
  absl::StatusOr<std::vector<TenantConfig>> configs = ParseTenantsFile(text.str());
  if (!configs.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tenants_file=", path, ": ", configs.status().message()));
  }
  absl::StatusOr<std::shared_ptr<const TenantSet>> set =
      TenantSet::Make(*std::move(configs), server);
  if (!set.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tenants_file=", path, ": ", set.status().message()));
  }
  return set;
}

// INVALID_ARGUMENT if the tenant's `name` timeout is over the server's `flag` value.
absl::Status CheckAtMost(absl::string_view field, absl::Duration value, absl::string_view flag,
                         absl::Duration server) {
  if (value <= server) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", absl::FormatDuration(value),
                                                 " is over the server's ", flag, " (",
                                                 absl::FormatDuration(server), ")"));
}

// The server's limits with `config`'s own in place.
absl::StatusOr<ServiceLimits> LimitsOf(const TenantConfig& config, const std::string& field,
                                       const ServiceLimits& server) {
  const TenantLimits& own = config.limits;
  ServiceLimits limits = server;
  limits.tenant = config.name;
  limits.max_idle_timeout = own.max_idle_timeout.value_or(server.max_idle_timeout);
  limits.max_absolute_timeout = own.max_absolute_timeout.value_or(server.max_absolute_timeout);
  limits.default_idle_timeout = own.default_idle_timeout.value_or(
      std::min(server.default_idle_timeout, limits.max_idle_timeout));
  limits.default_absolute_timeout = own.default_absolute_timeout.value_or(
      std::min(server.default_absolute_timeout, limits.max_absolute_timeout));
  for (const auto& [name, value, flag, max] :
       {std::tuple{"max_idle_timeout", limits.max_idle_timeout, "--max_idle_timeout",
                   server.max_idle_timeout},
        std::tuple{"max_absolute_timeout", limits.max_absolute_timeout, "--max_absolute_timeout",
                   server.max_absolute_timeout},
        std::tuple{"default_idle_timeout", limits.default_idle_timeout, "max_idle_timeout",
                   limits.max_idle_timeout},
        std::tuple{"default_absolute_timeout", limits.default_absolute_timeout,
                   "max_absolute_timeout", limits.max_absolute_timeout}}) {
    if (absl::Status status = CheckAtMost(absl::StrCat(field, ".limits.", name), value, flag, max);
        !status.ok()) {
      return status;
    }
  }
  if (own.max_session_bytes > server.session.max_session_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".limits.max_session_bytes: ", own.max_session_bytes,
        " is over the server's --max_session_bytes (", server.session.max_session_bytes, ")"));
  }
  limits.tenant_max_idle_timeout = own.max_idle_timeout.has_value();
  limits.tenant_max_absolute_timeout = own.max_absolute_timeout.has_value();
  limits.tenant_max_live_sessions = own.max_live_sessions;
  limits.tenant_max_session_bytes = own.max_session_bytes;
  return limits;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TenantSet>> TenantSet::Make(std::vector<TenantConfig> configs,
                                                                 const ServiceLimits& server) {
  auto set = std::make_shared<TenantSet>();
  for (size_t i = 0; i < configs.size(); ++i) {
    TenantConfig& config = configs[i];
    absl::StatusOr<ServiceLimits> limits =
        LimitsOf(config, absl::StrCat("tenants[", i, "]"), server);
    if (!limits.ok()) return limits.status();
    for (const Sha256& digest : config.token_sha256) set->digests_.emplace_back(digest, i);
    for (const std::string& identity : config.client_identities) set->identities_[identity] = i;
    std::string prefix = storage::TenantPrefix(config.name);
    std::string bytes_name = TenantLimitName(config.name, "max_session_bytes");
    set->tenants_.push_back(
        {std::move(config), std::move(prefix), *std::move(limits), std::move(bytes_name)});
  }
  return set;
}

absl::StatusOr<const Tenant*> TenantSet::Authenticate(
    absl::string_view authorization, absl::Span<const std::string> identities) const {
  if (!authorization.empty()) {
    constexpr absl::string_view kScheme = "bearer ";
    if (authorization.size() <= kScheme.size() ||
        !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
      return absl::UnauthenticatedError(
          "authorization: not a bearer token; send \"authorization: Bearer <token>\"");
    }
    const absl::string_view token = authorization.substr(kScheme.size());
    Sha256 digest;
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
    // Every digest is compared, whatever matched before: the time depends on the number of
    // tokens only.
    size_t found = 0;
    size_t matches = 0;
    for (const auto& [candidate, tenant] : digests_) {
      const size_t equal = CRYPTO_memcmp(candidate.data(), digest.data(), digest.size()) == 0;
      matches += equal;
      found += equal * tenant;
    }
    if (matches != 1) return absl::UnauthenticatedError("authorization: the token is not valid");
    return &tenants_[found];
  }
  for (const std::string& identity : identities) {
    if (auto it = identities_.find(identity); it != identities_.end()) {
      return &tenants_[it->second];
    }
  }
  if (!identities.empty()) {
    return absl::UnauthenticatedError(
        "the client certificate's identity (subject alternative name) belongs to no tenant");
  }
  return absl::UnauthenticatedError(
      "no credentials: send \"authorization: Bearer <token>\" metadata or a client certificate");
}

absl::StatusOr<std::unique_ptr<TenantRegistry>> TenantRegistry::Open(
    const std::string& path, const ServiceLimits& server, absl::Duration reload_interval) {
  if (reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tenants_reload_interval=", absl::FormatDuration(reload_interval),
                     " must be at least 1s"));
  }
  absl::StatusOr<std::string> stamp = StampOf(path);
  if (!stamp.ok()) return stamp.status();
  absl::StatusOr<std::shared_ptr<const TenantSet>> set = Load(path, server);
  if (!set.ok()) return set.status();
  std::unique_ptr<TenantRegistry> registry(new TenantRegistry(path, server, reload_interval));
  registry->stamp_ = *std::move(stamp);
  {
    absl::MutexLock lock(&registry->mu_);
    registry->current_ = *std::move(set);
  }
  TenantRegistry* raw = registry.get();
  registry->poller_ = std::thread([raw] {
    while (!raw->stop_.WaitForNotificationWithTimeout(raw->interval_)) raw->ReloadIfChanged();
  });
  return registry;
}

TenantRegistry::~TenantRegistry() {
  stop_.Notify();
  if (poller_.joinable()) poller_.join();
}

std::shared_ptr<const TenantSet> TenantRegistry::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void TenantRegistry::ReloadIfChanged() {
  absl::StatusOr<std::string> stamp = StampOf(path_);
  if (stamp.ok() && *stamp == stamp_) return;
  absl::StatusOr<std::shared_ptr<const TenantSet>> set =
      stamp.ok() ? Load(path_, server_) : stamp.status();
  if (!set.ok()) {
    std::cerr << "sessiond: error: reloading the tenants failed; the tenants loaded before stay "
                 "in force: "
              << set.status().message() << std::endl;
    // Report a broken file once, not at every poll; a later change is read again.
    if (stamp.ok()) stamp_ = *stamp;
    return;
  }
  stamp_ = *std::move(stamp);
  const size_t count = (*set)->tenants().size();
  {
    absl::MutexLock lock(&mu_);
    current_ = *std::move(set);
  }
  std::cerr << "sessiond: reloaded --tenants_file: " << count << " tenants" << std::endl;
}

}  // namespace sessiond::service
