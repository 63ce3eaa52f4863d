// OpenStore: the one place that knows every storage backend this binary was built with.
//
// The server names a backend (--store, defined here) and gets a Store. Each backend's own settings
// are flags defined beside it (storage/<backend>_flags.cc), with defaults taken from its options
// struct, and settable as SESSIOND_<FLAG> environment variables like every server flag. Adding a
// backend means a store, its flags file and one line in open_store.cc: nothing in service/.
#ifndef SESSIOND_STORAGE_OPEN_STORE_H_
#define SESSIOND_STORAGE_OPEN_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/session.h"
#include "storage/store.h"

namespace sessiond::storage {

// The backends this binary can open, comma-separated, for help texts and errors.
std::string StoreBackendNames();

// The backend --store names (default "memory"; the flag is defined beside the table of backends).
std::string SelectedBackend();

// Opens backend `name` as its flags configure it, enforcing `limits`. INVALID_ARGUMENT naming the
// flag for an unknown backend or a bad backend flag; otherwise the backend's own open errors
// (UNAVAILABLE, DATA_LOSS...). A durable backend may take a while (it recovers its log).
absl::StatusOr<std::unique_ptr<Store>> OpenStore(absl::string_view name,
                                                 const SessionLimits& limits);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_OPEN_STORE_H_
