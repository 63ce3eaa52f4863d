// The crash test of the RocksDB backend (crash_model.h): sessiond --store=rocksdb killed with
// SIGKILL at random moments and restarted on the same directory. Cycles alternate between
// --durability=sync and --durability=async, which both promise to survive kill -9.
// SESSIOND_CRASH_CYCLES sets the number of cycles (default 20).
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/crash/crash_model.h"

namespace sessiond {
namespace {

TEST(CrashTest, KillNineNeverLosesAnAcknowledgedOperation) {
  const std::string data_dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("sessiond-crash-", getpid())).string();
  KillNineCycles(CrashCycles(), [&](int cycle) {
    return std::vector<std::string>{"--store=rocksdb", absl::StrCat("--data_dir=", data_dir),
                                    "--min_free_disk_bytes=16777216",
                                    cycle % 2 == 0 ? "--durability=sync" : "--durability=async"};
  });
  std::filesystem::remove_all(data_dir);
}

}  // namespace
}  // namespace sessiond
