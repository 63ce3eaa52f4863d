// Helpers and checks the tests of the shared backends (Redis, PostgreSQL) have in common: a new
// session's request, a one-key commit, the process's open descriptors (for leak checks), and the
// check that two stores on one backend (two replicas) share sessions and conflicts per key.
#ifndef SESSIOND_STORAGE_TESTING_SHARED_STORE_CHECKS_H_
#define SESSIOND_STORAGE_TESTING_SHARED_STORE_CHECKS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/session.h"
#include "storage/store.h"

namespace sessiond::storage::testing {

// A Create request for `id` with `entries`, 20 min idle, 12 h absolute.
NewSession TestSession(std::string id, std::vector<Entry> entries = {});

// Sets `key` to `value` in session `id`, under `read_version` if given.
absl::StatusOr<SessionMeta> SetInt(Store& store, absl::string_view id, std::string key,
                                   int64_t value, std::optional<uint64_t> read_version = {});

// How many file descriptors this process has open.
size_t OpenDescriptors();

// Through `first`, creates session `id`; checks that `second` reads it, that commits of different
// keys from both after the same read both succeed, that a commit of a key the other changed is
// ABORTED naming exactly that key, and that a delete through one ends it for the other (gtest
// expectations).
void ExpectReplicasShareSessionsAndConflictsPerKey(Store& first, Store& second,
                                                   const std::string& id);

}  // namespace sessiond::storage::testing

#endif  // SESSIOND_STORAGE_TESTING_SHARED_STORE_CHECKS_H_
