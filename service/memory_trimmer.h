// MemoryTrimmer: hands memory that glibc's allocator keeps after it was freed back to the kernel
// once it holds well more of it than it did before.
//
// Why: glibc keeps freed memory in its arenas for reuse. After a burst no client should be able to
// cause but can (measured in docs/SECURITY.md: a PING flood of 20 connections left about 125 MiB
// resident that nothing used), the process stays that large. malloc_trim(0) returns the free
// pages of every arena.
//
// The rule: every `interval`, the resident memory not in use is estimated: the resident size
// (/proc/self/statm) less what the allocator has handed out (mallinfo2: arenas and mmapped
// blocks); it includes the program's code and libraries, and freed memory kept by the allocator.
// When it exceeds its baseline by `growth`, malloc_trim(0) runs. The baseline is its smallest value
// seen, raised to what is left after a trim (what trimming cannot give back, such as thread stacks
// and gRPC's own mappings), so a store that grows (its memory is in use) is never trimmed for it,
// and memory freed after a burst is given back within an interval. mallinfo2 and a trim each walk
// the allocator's free lists under its locks (milliseconds at most).
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
  // Starts checking every `interval`, trimming when `growth` more is kept than the baseline.
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

// Resident memory the allocator has not handed out: ResidentBytes less mallinfo2's in-use bytes.
uint64_t IdleResidentBytes();

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_MEMORY_TRIMMER_H_
