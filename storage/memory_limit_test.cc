// CgroupMemoryLimit over fake /proc and /sys trees laid out as cgroup v1 and v2 hosts and
// containers lay them out.
#include "storage/memory_limit.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace sessiond::storage {
namespace {

using ::testing::Optional;

class MemoryLimitTest : public ::testing::Test {
 protected:
  void Write(const std::string& path, const std::string& contents) {
    const std::filesystem::path file = root_.File(path);
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << contents;
  }

  // Stands for "/".
  const sessiond::testing::TempDir root_{"sessiond-memory-limit-test"};
};

TEST_F(MemoryLimitTest, V2TakesTheTightestOfTheCgroupAndItsAncestors) {
  Write("proc/self/cgroup", "0::/kubepods/pod1/app\n");
  Write("sys/fs/cgroup/kubepods/memory.max", "max\n");
  Write("sys/fs/cgroup/kubepods/pod1/memory.max", "1073741824\n");
  Write("sys/fs/cgroup/kubepods/pod1/app/memory.max", "2147483648\n");
  EXPECT_THAT(CgroupMemoryLimit(root_.path()), Optional(uint64_t{1} << 30));
}

TEST_F(MemoryLimitTest, V2ContainerSeesItsOwnCgroupAtTheRoot) {
  // With a cgroup namespace the container's cgroup is "/" and its files are at the mount point.
  Write("proc/self/cgroup", "0::/\n");
  Write("sys/fs/cgroup/memory.max", "536870912\n");
  EXPECT_THAT(CgroupMemoryLimit(root_.path()), Optional(uint64_t{512} << 20));
}

TEST_F(MemoryLimitTest, V1ReadsTheMemoryControllersLimit) {
  Write("proc/self/cgroup", "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n");
  Write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  Write("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "268435456\n");
  EXPECT_THAT(CgroupMemoryLimit(root_.path()), Optional(uint64_t{256} << 20));
}

TEST_F(MemoryLimitTest, NoLimitWhenUnlimitedOrUnknown) {
  EXPECT_EQ(CgroupMemoryLimit(root_.path()), std::nullopt);  // no /proc/self/cgroup
  Write("proc/self/cgroup", "4:memory:/\n0::/\n");
  Write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  Write("sys/fs/cgroup/memory.max", "max\n");
  EXPECT_EQ(CgroupMemoryLimit(root_.path()), std::nullopt);
}

TEST(AvailableMemoryTest, IsPositiveAndAtMostPhysicalMemory) {
  const uint64_t physical =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  EXPECT_GT(AvailableMemoryBytes(), 0u);
  EXPECT_LE(AvailableMemoryBytes(), physical);
}

}  // namespace
}  // namespace sessiond::storage
