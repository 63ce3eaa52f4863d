// ClientTarget: sessiond driven through its C++ client (sessiond::Client), the way a threaded web
// tier uses it: one thread per slot, each making blocking calls on one shared Client per channel,
// so that the client's automatic batching (ClientOptions::batching) is what is measured.
//
// Runs load, get, commit, web, web-read-mostly and touch like GrpcTarget (the same requests,
// session_requests.h).
// Slot i's thread uses the client of channel i % channels. Each call has a 10 s deadline, which
// is also how CancelAll ends a call: the client's calls cannot be cancelled. Start and Poll are
// called from the driver thread only (Target); the pool is only touched there.
#ifndef SESSIOND_BENCH_LOADGEN_CLIENT_TARGET_H_
#define SESSIOND_BENCH_LOADGEN_CLIENT_TARGET_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/loadgen/session_pool.h"
#include "bench/loadgen/target.h"
#include "sessiond/client.h"

namespace sessiond::bench {

class ClientTarget final : public Target {
 public:
  struct Options {
    std::string address;
    int channels = 1;
    int slots = 1;
    // The client's automatic batching.
    bool batching = true;
    // The client's near cache (ClientOptions::near_cache_max_bytes); 0: none.
    size_t near_cache_bytes = 0;
    absl::Duration connect_timeout = absl::Seconds(10);
  };

  // Whether ClientTarget implements `op`.
  static bool Supports(Op op);

  // Opens the channels, waits until each is connected (UNAVAILABLE if one is not within
  // `connect_timeout`) and starts the slots' threads. `pool` is not owned and must outlive the
  // target.
  static absl::StatusOr<std::unique_ptr<ClientTarget>> Connect(const Options& options,
                                                               SessionPool* pool);
  // Stops the threads; every operation must have completed (Poll reported it).
  ~ClientTarget() override;

  void Start(int slot, Op op) override;
  void Poll(std::chrono::nanoseconds timeout, Completion done) override;
  void CancelAll() override {}
  // The hits and misses of every channel's client, if they have a near cache.
  std::optional<CacheCounts> NearCacheCounts() override;

 private:
  // What a slot's thread is asked to do, and what it reports.
  struct Work {
    Op op;
    size_t session = 0;
    std::string id;
    uint64_t version = 0;
    // web, web-read-mostly: whether the request commits after its Get.
    bool writes = false;
  };
  struct Done {
    int slot;
    Work work;
    // Empty on success, else the failed call's code name.
    std::string error;
    // load: the created session's id; commit: its new version.
    std::string created_id;
    uint64_t version = 0;
  };
  struct Slot {
    absl::Mutex mutex;
    std::optional<Work> work ABSL_GUARDED_BY(mutex);
    bool stop ABSL_GUARDED_BY(mutex) = false;
    std::thread thread;
  };

  explicit ClientTarget(SessionPool* pool);
  // A slot's thread: runs each operation it is given until the target stops.
  void Serve(int slot);
  // Runs one operation with `client`.
  Done Run(const Client& client, int slot, Work work) const;

  SessionPool* const pool_;
  bool near_cache_ = false;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::unique_ptr<Slot>> slots_;
  absl::Mutex done_mutex_;
  std::deque<Done> done_ ABSL_GUARDED_BY(done_mutex_);
};

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_CLIENT_TARGET_H_
