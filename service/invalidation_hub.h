// InvalidationHub: the near caches' invalidation streams connected to this replica
// (WatchInvalidations, invalidation_reactor.h), and the calls waiting for those streams to send
// their invalidations.
//
// Each stream reports how far into the store's EventLog it has sent (every event before that
// sequence is on the wire or was not for it). Delete and RevokeSessions ask the hub to run their
// reply once every stream has sent past the call's events (AfterSent): at once when every stream
// has, else when the last one catches up, else after one lease, when the streams still behind are
// ended with UNAVAILABLE (their clients' leases have lapsed by then, so they serve nothing stale).
// A thread of the hub's own keeps that deadline; it sleeps while nothing waits.
//
// Thread-safe. Replies run on the thread that completed them (a stream's write, the deadline
// thread, or AfterSent's caller), never under the hub's lock.
#ifndef SESSIOND_SERVICE_INVALIDATION_HUB_H_
#define SESSIOND_SERVICE_INVALIDATION_HUB_H_

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sessiond::service {

class InvalidationHub {
 public:
  // One connected stream, as the hub sees it.
  class Stream {
   public:
    virtual ~Stream() = default;
    // Every event of the log below this sequence has been sent (or skipped as not the stream's).
    virtual uint64_t sent_through() const = 0;
    // Ends the stream with UNAVAILABLE saying it fell `lease` behind. Must not call the hub.
    virtual void EndBehind(absl::Duration lease) = 0;
    // Ends the stream with UNAVAILABLE because the server is shutting down. Must not call the hub.
    virtual void EndShutdown() = 0;
  };

  // A hub whose waits last at most `lease` (--near_cache_lease).
  explicit InvalidationHub(absl::Duration lease);
  // Runs the replies still waiting (the streams are ended by EndAll first).
  ~InvalidationHub();

  absl::Duration lease() const { return lease_; }

  // Registers `stream` (kept alive by its owner until Remove); false once EndAll ran.
  bool Add(std::shared_ptr<Stream> stream);
  // Unregisters `stream` and runs the replies that waited only for it.
  void Remove(const Stream* stream);

  // Runs `reply` once every registered stream has sent every event below `barrier`, or after one
  // lease (ending the streams still behind).
  void AfterSent(uint64_t barrier, absl::AnyInvocable<void()> reply);

  // A stream sent more: runs the replies it completes.
  void Progress();

  // Ends every stream with UNAVAILABLE and refuses new ones: for a draining server.
  void EndAll();

 private:
  struct Waiter {
    uint64_t barrier;
    absl::Time deadline;
    absl::AnyInvocable<void()> reply;
  };

  // How far the slowest stream has sent (every event below it); UINT64_MAX without streams.
  uint64_t SlowestLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The waiters every stream has caught up with, taken out of waiters_.
  std::vector<Waiter> TakeDoneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The deadline thread's loop.
  void EnforceDeadlines();
  static void RunAll(std::vector<Waiter> done);

  const absl::Duration lease_;
  absl::Mutex mu_;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::shared_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  // In the order they were added, so deadlines only grow along it.
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  std::thread deadline_thread_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_INVALIDATION_HUB_H_
