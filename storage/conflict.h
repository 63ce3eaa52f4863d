// Conflict: the details an ABORTED status from a Store carries, so that the service can tell the
// client the current version and which keys to reload. Carried as an absl::Status payload.
#ifndef SESSIOND_STORAGE_CONFLICT_H_
#define SESSIOND_STORAGE_CONFLICT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sessiond::storage {

struct Conflict {
  // The session's version when the condition failed.
  uint64_t current_version = 0;
  // The written keys that changed after the caller's read_version, sorted; empty for an
  // if_version mismatch.
  std::vector<std::string> keys;
};

// An ABORTED status with `message` that carries `conflict`.
absl::Status ConflictError(absl::string_view message, const Conflict& conflict);

// The Conflict carried by `status`, if it has one.
std::optional<Conflict> GetConflict(const absl::Status& status);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_CONFLICT_H_
