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

uint64_t IdleResidentBytes() {
  const uint64_t resident = ResidentBytes();
  const struct mallinfo2 info = mallinfo2();
  const uint64_t in_use = info.uordblks + info.hblkhd;
  return resident > in_use ? resident - in_use : 0;
}

void MemoryTrimmer::Run(uint64_t growth, absl::Duration interval) {
  uint64_t baseline = IdleResidentBytes();
  while (!stop_.WaitForNotificationWithTimeout(interval)) {
    const uint64_t idle = IdleResidentBytes();
    baseline = std::min(baseline, idle);
    if (idle <= baseline + growth) continue;
    malloc_trim(0);
    // What a trim cannot give back (thread stacks, gRPC's own mappings) becomes the baseline.
    baseline = std::max(baseline, IdleResidentBytes());
  }
}

}  // namespace sessiond::service
