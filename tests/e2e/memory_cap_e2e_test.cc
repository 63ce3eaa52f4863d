// The memory store's cap against the real binary: the process's resident memory when the store
// starts refusing sessions stays within 1.25x the cap, for tiny and for large sessions, and with no
// --max_memory_bytes inside a memory-limited cgroup the cap follows the cgroup's limit, so sessiond
// answers RESOURCE_EXHAUSTED instead of being killed by the kernel.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/values.h"

namespace sessiond {
namespace {

using ::sessiond::testing::Blob;
using ::sessiond::testing::SessiondProcess;

constexpr size_t kCap = size_t{128} << 20;
constexpr absl::Duration kFillTimeout = absl::Seconds(180);

struct FillResult {
  size_t created = 0;
  bool refused = false;      // some create got RESOURCE_EXHAUSTED
  absl::Status other_error;  // the first error of another kind (a dead server: UNAVAILABLE)
};

// Creates sessions holding one `value_bytes` value from 8 threads (whose calls the client batches)
// until the server refuses one, fails otherwise, or kFillTimeout passes.
FillResult Fill(const SessiondProcess& server, size_t value_bytes) {
  Client client(server.NewChannel(), {.timeout = absl::Seconds(10)});
  std::atomic<size_t> created{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> refused{false};
  absl::Mutex mu;
  absl::Status other_error;
  const absl::Time deadline = absl::Now() + kFillTimeout;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      v1::CreateSessionRequest request;
      (*request.mutable_entries())["v"] = Blob(std::string(value_bytes, 'x'));
      while (!stop.load() && absl::Now() < deadline) {
        absl::StatusOr<v1::CreateSessionResponse> response = client.CreateSession(request);
        if (response.ok()) {
          ++created;
        } else {
          if (absl::IsResourceExhausted(response.status())) {
            refused = true;
          } else {
            absl::MutexLock lock(&mu);
            if (other_error.ok()) other_error = response.status();
          }
          stop = true;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::MutexLock lock(&mu);
  return {created.load(), refused.load(), other_error};
}

class MemoryCapE2eTest : public ::testing::TestWithParam<size_t> {};

TEST_P(MemoryCapE2eTest, ResidentMemoryAtRefusalStaysWithinAQuarterOverTheCap) {
  absl::StatusOr<std::unique_ptr<SessiondProcess>> server =
      SessiondProcess::Start({"--drain_grace=0s", absl::StrCat("--max_memory_bytes=", kCap)});
  ASSERT_OK(server);
  // The cap governs what the sessions add to the process, not the idle process (code, gRPC's
  // threads and pools, the metrics and TLS libraries).
  const size_t idle = (*server)->ResidentBytes();
  const FillResult result = Fill(**server, GetParam());
  ASSERT_TRUE(result.refused) << "created " << result.created << ", then " << result.other_error;
  const size_t resident = (*server)->ResidentBytes();
  std::cerr << "value " << GetParam() << " B: refused after " << result.created << " sessions at "
            << resident / 1024 / 1024 << " MiB resident (" << idle / 1024 / 1024
            << " MiB when idle), cap " << kCap / 1024 / 1024 << " MiB\n";
  EXPECT_LE(resident - idle, kCap + kCap / 4);
}

INSTANTIATE_TEST_SUITE_P(ValueSizes, MemoryCapE2eTest,
                         ::testing::Values(size_t{10}, size_t{200} << 10),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return absl::StrCat(info.param, "Bytes");
                         });

// A memory cgroup v1 child of this process's own cgroup, removed at destruction; empty path if
// this machine does not let the test make one with the limit (not root, no v1 memory controller).
class MemoryCgroup {
 public:
  explicit MemoryCgroup(size_t limit) {
    std::ifstream membership("/proc/self/cgroup");
    std::string line;
    while (std::getline(membership, line)) {
      const size_t colon = line.find(':');
      const size_t second = line.find(':', colon + 1);
      if (line.substr(colon + 1, second - colon - 1) != "memory") continue;
      const std::string dir = absl::StrCat("/sys/fs/cgroup/memory", line.substr(second + 1),
                                           "/sessiond-e2e-", getpid());
      std::error_code error;
      if (!std::filesystem::create_directory(dir, error)) return;
      std::ofstream(dir + "/memory.limit_in_bytes") << limit;
      // Only a cgroup that really holds the limit will do: without it the test would fill the
      // machine's memory.
      size_t held = 0;
      if (!(std::ifstream(dir + "/memory.limit_in_bytes") >> held) || held != limit) {
        rmdir(dir.c_str());
        return;
      }
      dir_ = dir;
    }
  }
  ~MemoryCgroup() {
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

TEST(MemoryCapCgroupE2eTest, WithoutAFlagTheCapFollowsTheCgroupLimit) {
  constexpr size_t kLimit = size_t{256} << 20;
  MemoryCgroup cgroup(kLimit);
  if (cgroup.dir().empty()) GTEST_SKIP() << "cannot create a memory cgroup (v1) here";
  {
    absl::StatusOr<std::unique_ptr<SessiondProcess>> server =
        SessiondProcess::Start({"--drain_grace=0s"}, {}, cgroup.dir() + "/cgroup.procs");
    ASSERT_OK(server);
    const FillResult result = Fill(**server, size_t{200} << 10);
    EXPECT_TRUE((*server)->Running())
        << "sessiond was killed (out of memory?) after " << result.created << " sessions";
    EXPECT_TRUE(result.refused) << "created " << result.created << ", then " << result.other_error;
    EXPECT_LE((*server)->ResidentBytes(), kLimit);
  }
}

}  // namespace
}  // namespace sessiond
