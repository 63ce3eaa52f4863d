// MemoryTrimmer: hands memory that glibc's allocator keeps after it was freed back to the kernel
// once the process has grown well past its resident size of before.
//
// Why: glibc keeps freed memory in its arenas for reuse. After a burst no client should be able to
// cause but can (measured in docs/SECURITY.md: a PING flood of 20 connections left about 125 MiB
// resident that nothing used), the process stays that large. malloc_trim(0) returns the free
// pages of every arena.
//
// The rule: every `interval` the resident size is read (/proc/self/statm). When it exceeds the
// baseline by `growth` and an eighth of the baseline, malloc_trim(0) runs. The baseline starts at
// the size at start and follows the size down; after a trim that gave back less than a quarter of
// `growth` the memory is in use (a store that grew, a burst still being served), and the baseline
// becomes the size after it. So a store that grows for real is trimmed about once per eighth of its
// growth, and memory freed after a burst is given back within an interval or two of being freed.
// A trim walks the allocator's free lists (milliseconds at most for a heap of GiBs).
//
// Thread-safety: a thread of its own; construct and destroy from one thread.
#ifndef SESSIOND_SERVICE_MEMORY_TRIMMER_H_
#define SESSIOND_SERVICE_MEMORY_TRIMMER_H_

#include <cstdint>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace sessiond::service {

class MemoryTrimmer {
 public:
  // Starts checking every `interval`, trimming past `growth` (and an eighth of the baseline).
  MemoryTrimmer(uint64_t growth, absl::Duration interval);
  // Stops the thread.
  ~MemoryTrimmer();
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

 private:
  void Run(uint64_t growth, absl::Duration interval);

  absl::Notification stop_;
  std::thread thread_;
};

// The process's resident memory in bytes (/proc/self/statm); 0 if it cannot be read.
uint64_t ResidentBytes();

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_MEMORY_TRIMMER_H_
