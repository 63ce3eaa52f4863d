#include "storage/memory_limit.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace sessiond::storage {
namespace {

// cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit value; treat anything this
// large as no limit.
constexpr uint64_t kUnlimitedAbove = uint64_t{1} << 62;

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// The limit in the file `path`: a number of bytes, or "max" for none.
std::optional<uint64_t> ReadLimit(const std::string& path) {
  std::optional<std::string> text = ReadFile(path);
  if (!text.has_value()) return std::nullopt;
  uint64_t limit = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &limit) || limit >= kUnlimitedAbove) {
    return std::nullopt;
  }
  return limit;
}

// The tightest limit in `file` under `mount` for `cgroup_path` and each of its ancestors. A
// container often mounts only its own cgroup, where the deeper paths do not exist; its root then
// holds its limit.
std::optional<uint64_t> TightestLimit(const std::string& mount, absl::string_view cgroup_path,
                                      absl::string_view file) {
  std::optional<uint64_t> tightest;
  std::string path(absl::StripSuffix(cgroup_path, "/"));
  while (true) {
    if (std::optional<uint64_t> limit = ReadLimit(mount + path + "/" + std::string(file))) {
      tightest = std::min(tightest.value_or(*limit), *limit);
    }
    if (path.empty()) break;
    path.resize(path.rfind('/'));
  }
  return tightest;
}

}  // namespace

std::optional<uint64_t> CgroupMemoryLimit(const std::string& root) {
  std::optional<std::string> membership = ReadFile(root + "/proc/self/cgroup");
  if (!membership.has_value()) return std::nullopt;
  std::optional<uint64_t> tightest;
  auto consider = [&](std::optional<uint64_t> limit) {
    if (limit.has_value()) tightest = std::min(tightest.value_or(*limit), *limit);
  };
  // Lines are "hierarchy-id:controllers:path"; v2's is "0::path".
  for (absl::string_view line : absl::StrSplit(*membership, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    const absl::string_view controllers = fields[1], path = fields[2];
    if (controllers.empty()) {
      consider(TightestLimit(root + "/sys/fs/cgroup", path, "memory.max"));
      consider(TightestLimit(root + "/sys/fs/cgroup/unified", path, "memory.max"));
    } else {
      for (absl::string_view controller : absl::StrSplit(controllers, ',')) {
        if (controller == "memory") {
          consider(TightestLimit(root + "/sys/fs/cgroup/memory", path, "memory.limit_in_bytes"));
        }
      }
    }
  }
  return tightest;
}

uint64_t AvailableMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  const uint64_t physical =
      pages > 0 && page_size > 0 ? static_cast<uint64_t>(pages) * page_size : 0;
  const std::optional<uint64_t> cgroup = CgroupMemoryLimit();
  if (cgroup.has_value() && (physical == 0 || *cgroup < physical)) return *cgroup;
  return physical;
}

}  // namespace sessiond::storage
