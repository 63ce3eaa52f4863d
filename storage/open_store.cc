#include "storage/open_store.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "storage/backend_flags.h"

ABSL_FLAG(std::string, store, "memory",
          "storage backend: memory (nothing survives a restart), rocksdb (durable, one node; "
          "--data_dir), redis (shared by many replicas; --redis_addrs) or postgres (shared by many "
          "replicas; --postgres_dsn), as this build has them");

namespace sessiond::storage {
namespace {

struct Backend {
  absl::string_view name;
  absl::StatusOr<std::unique_ptr<Store>> (*open)(const SessionLimits& limits);
};

// Every backend, registered once.
constexpr Backend kBackends[] = {
    {"memory", &OpenMemoryStoreFromFlags},
#ifdef SESSIOND_WITH_ROCKSDB
    {"rocksdb", &OpenRocksDbStoreFromFlags},
#endif
#ifdef SESSIOND_WITH_REDIS
    {"redis", &OpenRedisStoreFromFlags},
#endif
#ifdef SESSIOND_WITH_POSTGRES
    {"postgres", &OpenPostgresStoreFromFlags},
#endif
};

}  // namespace

std::string StoreBackendNames() {
  return absl::StrJoin(kBackends, ", ", [](std::string* out, const Backend& backend) {
    absl::StrAppend(out, backend.name);
  });
}

std::string SelectedBackend() { return absl::GetFlag(FLAGS_store); }

absl::StatusOr<std::unique_ptr<Store>> OpenStore(absl::string_view name,
                                                 const SessionLimits& limits) {
  for (const Backend& backend : kBackends) {
    if (backend.name == name) return backend.open(limits);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--store=", name, " is not a backend of this build; use one of: ", StoreBackendNames()));
}

}  // namespace sessiond::storage
