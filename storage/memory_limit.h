// How much memory this process may use: the tightest cgroup memory limit on it (a container's or
// a systemd unit's), else the machine's physical memory. Memory caps default to a share of it, so
// that sessiond refuses work before the kernel's OOM killer ends it.
#ifndef SESSIOND_STORAGE_MEMORY_LIMIT_H_
#define SESSIOND_STORAGE_MEMORY_LIMIT_H_

#include <cstdint>
#include <optional>
#include <string>

namespace sessiond::storage {

// The tightest memory limit of this process's cgroup and its ancestors, read from the files under
// `root` (a directory that stands for "/": "/" in production, a fake tree in tests): cgroup v2's
// memory.max (at sys/fs/cgroup or sys/fs/cgroup/unified) and v1's memory.limit_in_bytes (at
// sys/fs/cgroup/memory), for the paths proc/self/cgroup names. nullopt when there is no limit
// ("max", or v1's near-2^63 "unlimited") or no cgroup information.
std::optional<uint64_t> CgroupMemoryLimit(const std::string& root = "/");

// CgroupMemoryLimit() if there is one and it is below physical memory, else physical memory.
uint64_t AvailableMemoryBytes();

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_MEMORY_LIMIT_H_
