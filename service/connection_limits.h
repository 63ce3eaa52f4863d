// Descriptor and connection limits: sessiond raises its soft descriptor limit to the hard one at
// start, and caps its connections below it, so that a flood of connections can neither take the
// descriptors the store needs (RocksDB's files, Redis's sockets) nor wedge the listener.
#ifndef SESSIOND_SERVICE_CONNECTION_LIMITS_H_
#define SESSIOND_SERVICE_CONNECTION_LIMITS_H_

#include <cstddef>

#include "absl/status/statusor.h"

namespace sessiond::service {

// Raises RLIMIT_NOFILE's soft limit to its hard limit and returns the soft limit now in force.
// INTERNAL if the limit cannot be read; if it cannot be raised, returns the unraised soft limit.
absl::StatusOr<size_t> RaiseDescriptorLimit();

// The connection cap a descriptor limit leaves room for: the limit less a reserve for the store,
// logs and gRPC's own descriptors (256 plus an eighth of the limit), at least 16.
size_t DefaultMaxConnections(size_t descriptor_limit);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_CONNECTION_LIMITS_H_
