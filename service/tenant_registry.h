// Tenants as the server serves them (--tenants_file): who a caller is, from its bearer token or its
// client certificate, and that tenant's rights, limits and key-space prefix.
//
// A TenantSet is one immutable snapshot of the file; TenantRegistry holds the current one and
// re-reads the file when it changes (polling its modification time, size and inode, as the TLS
// files are), so a rotated token starts working and a removed one stops without a restart. A file
// that no longer parses on reload leaves the previous snapshot in force and is reported on stderr
// (never with a token: the file holds only digests, and no message quotes one).
//
// Authentication compares the SHA-256 of the presented token with every tenant's every digest in
// constant time (CRYPTO_memcmp, no early exit), so timing reveals neither whether nor which token
// matched. Thread-safe.
#ifndef SESSIOND_SERVICE_TENANT_REGISTRY_H_
#define SESSIOND_SERVICE_TENANT_REGISTRY_H_

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "service/limits.h"
#include "service/tenants_file.h"

namespace sessiond::service {

// One tenant, ready to serve.
struct Tenant {
  TenantConfig config;
  // Its key-space prefix (storage::TenantPrefix).
  std::string prefix;
  // The server's limits with the tenant's own in place; `limits.tenant` names it.
  ServiceLimits limits;
  // How messages name the tenant's max_session_bytes (TenantLimitName), for its TenantStore.
  std::string max_session_bytes_name;
};

class TenantSet {
 public:
  // The tenants of `configs` with limits resolved against the server's. INVALID_ARGUMENT naming the
  // field for a tenant limit above the server's (its flag) or a default above its maximum.
  static absl::StatusOr<std::shared_ptr<const TenantSet>> Make(std::vector<TenantConfig> configs,
                                                               const ServiceLimits& server);

  // The tenant a caller is. `authorization` is the call's `authorization` metadata (empty if
  // absent); `identities` the subject alternative names of its verified client certificate. A
  // token, when sent, decides alone. UNAUTHENTICATED with no credential, a malformed header or a
  // token or identity no tenant has.
  absl::StatusOr<const Tenant*> Authenticate(absl::string_view authorization,
                                             absl::Span<const std::string> identities) const;

  const std::vector<Tenant>& tenants() const { return tenants_; }

 private:
  std::vector<Tenant> tenants_;
  // Every token digest with the index of its tenant.
  std::vector<std::pair<Sha256, size_t>> digests_;
  absl::flat_hash_map<std::string, size_t> identities_;
};

class TenantRegistry {
 public:
  // Reads and checks `path` (INVALID_ARGUMENT naming --tenants_file and the line or field: fatal at
  // start), then checks it for changes every `reload_interval` (at least 1s).
  static absl::StatusOr<std::unique_ptr<TenantRegistry>> Open(const std::string& path,
                                                              const ServiceLimits& server,
                                                              absl::Duration reload_interval);
  ~TenantRegistry();
  TenantRegistry(const TenantRegistry&) = delete;
  TenantRegistry& operator=(const TenantRegistry&) = delete;

  // The snapshot in force. Callers keep it for the whole call.
  std::shared_ptr<const TenantSet> Current() const;

 private:
  TenantRegistry(std::string path, const ServiceLimits& server, absl::Duration interval)
      : path_(std::move(path)), server_(server), interval_(interval) {}

  // Re-reads the file if its modification time, size or inode changed.
  void ReloadIfChanged();

  const std::string path_;
  const ServiceLimits server_;
  const absl::Duration interval_;
  // What identified the file's contents at the last read: mtime (ns), size, inode.
  std::string stamp_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const TenantSet> current_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread poller_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_TENANT_REGISTRY_H_
