// SessionPool: the sessions a run works on — their ids, stored back to back (10 M ids take 320 MB),
// and the last version seen of each — and the run's random choices: the next one to use, uniformly,
// and whether a request writes (Chance).
// Not thread-safe: the load generator uses it from its one driver thread.
#ifndef SESSIOND_BENCH_LOADGEN_SESSION_POOL_H_
#define SESSIOND_BENCH_LOADGEN_SESSION_POOL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sessiond::bench {

class SessionPool {
 public:
  // The length of every id: sessiond's (32 characters of base64url), reused for Redis keys.
  static constexpr size_t kIdBytes = 32;

  void Reserve(size_t sessions);

  // Adds a session at version 1. INVALID_ARGUMENT if `id` is not kIdBytes long.
  absl::Status Add(absl::string_view id);
  // Adds a session with a new random id and returns its index.
  size_t AddRandom();

  size_t size() const { return versions_.size(); }
  absl::string_view id(size_t index) const {
    return absl::string_view(ids_).substr(index * kIdBytes, kIdBytes);
  }
  uint64_t version(size_t index) const { return versions_[index]; }
  // Records that the session was seen at `version`; versions only go up, so an older reply that
  // arrives late changes nothing.
  void SawVersion(size_t index, uint64_t version);

  // A uniformly random index; the pool must not be empty.
  size_t Pick() { return absl::Uniform<size_t>(random_, 0, size()); }
  // True with `probability`: always at 1 or more, never at 0 or less.
  bool Chance(double probability);

  // Writes the ids as a JSON array of {"id": ...} objects: ghz's --data-file, which ghz's requests
  // cycle through.
  absl::Status WriteGhzDataFile(const std::string& path) const;

 private:
  std::string ids_;
  std::vector<uint64_t> versions_;
  absl::InsecureBitGen random_;
};

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_SESSION_POOL_H_
