#include "service/memory_trimmer.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace sessiond::service {

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0;
  uint64_t resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

MemoryTrimmer::MemoryTrimmer(uint64_t growth, absl::Duration interval)
    : thread_([this, growth, interval] { Run(growth, interval); }) {}

MemoryTrimmer::~MemoryTrimmer() {
  stop_.Notify();
  thread_.join();
}

void MemoryTrimmer::Run(uint64_t growth, absl::Duration interval) {
  uint64_t baseline = ResidentBytes();
  while (!stop_.WaitForNotificationWithTimeout(interval)) {
    const uint64_t resident = ResidentBytes();
    if (resident == 0) continue;
    baseline = std::min(baseline, resident);
    if (resident <= baseline + growth + baseline / 8) continue;
    malloc_trim(0);
    const uint64_t trimmed = ResidentBytes();
    // Little came back: the memory is in use (a store that grew, a burst still being served).
    if (resident < trimmed + growth / 4) baseline = trimmed;
  }
}

}  // namespace sessiond::service
