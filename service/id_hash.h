// IdHash: how a WatchInvalidations stream names a session without sending its id.
#ifndef SESSIOND_SERVICE_ID_HASH_H_
#define SESSIOND_SERVICE_ID_HASH_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace sessiond::service {

// The first 8 bytes of the SHA-256 of `id`, read as a big-endian unsigned integer (the
// Invalidation.id_hash of the proto; every client computes the same).
uint64_t IdHash(absl::string_view id);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_ID_HASH_H_
