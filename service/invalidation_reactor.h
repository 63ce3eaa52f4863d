// InvalidationReactor: one WatchInvalidations stream (a client's near cache), fed from the store's
// EventLog (storage/event_log.h) and registered with the replica's InvalidationHub.
//
// It sends, in log order, an Invalidation (id hash, version, gone) for each event that changes a
// session's entries or id or ends it (creations and touches are skipped), of the caller's tenant
// only, as many as are ready in one message (at most kMaxInvalidations). A LeaseRequest's ping is
// granted (granted_ping and the lease) in the first message written once the stream has read the
// log up to where it stood when the ping arrived: every change committed before then has been
// sent. It holds at most one message, so a slow client costs the server no more than that; one
// that does not take its invalidations within a lease is ended by the hub.
#ifndef SESSIOND_SERVICE_INVALIDATION_REACTOR_H_
#define SESSIOND_SERVICE_INVALIDATION_REACTOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_callback.h"
#include "service/invalidation_hub.h"
#include "storage/event_log.h"

namespace sessiond::service {

class InvalidationReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
      public storage::EventLog::Waiter,
      public InvalidationHub::Stream,
      public std::enable_shared_from_this<InvalidationReactor> {
 public:
  // Starts a stream of `log`'s invalidations from now on, registered with `hub`. With a
  // `tenant_prefix` (storage::TenantPrefix), only that tenant's sessions, hashed as the tenant
  // writes their ids. `log` and `hub` must outlive every reactor. The reactor owns itself until
  // gRPC is done with it.
  static grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Start(
      storage::EventLog* log, InvalidationHub* hub, std::string tenant_prefix = {});

  // Ends the stream with `status` unless it has ended.
  void End(const grpc::Status& status);

  uint64_t sent_through() const override { return sent_through_.load(std::memory_order_acquire); }
  void EndBehind(absl::Duration lease) override;
  void EndShutdown() override;
  void Wake() override { Pump(); }
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 private:
  static constexpr int kMaxInvalidations = 512;

  InvalidationReactor(storage::EventLog* log, InvalidationHub* hub, std::string tenant_prefix,
                      uint64_t next)
      : log_(log),
        hub_(hub),
        tenant_prefix_(std::move(tenant_prefix)),
        next_(next),
        sent_through_(next) {}

  // Takes the ping just read (or ends the stream if it is malformed) and reads the next one.
  void TakePing();
  // Writes the next message if none is being written and one is due, or waits on the log.
  void Pump();

  storage::EventLog* const log_;
  InvalidationHub* const hub_;
  const std::string tenant_prefix_;
  absl::Mutex mu_;
  // The sequence of the next event to read from the log.
  uint64_t next_ ABSL_GUARDED_BY(mu_);
  // next_ as of the message being written: sent_through_ once it is written.
  uint64_t written_next_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> sent_through_;
  // The newest ping not yet granted (0: none), and the log's next sequence when it arrived.
  uint64_t ping_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t ping_barrier_ ABSL_GUARDED_BY(mu_) = 0;
  // The last ping read; each must be above it.
  uint64_t last_ping_ ABSL_GUARDED_BY(mu_) = 0;
  // gRPC fills read_ until OnReadDone; pending_ is the message in flight while writing_.
  grpc::ByteBuffer read_;
  grpc::ByteBuffer pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Keeps the reactor alive until OnDone; the hub and a waker on the log hold their own.
  std::shared_ptr<InvalidationReactor> self_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_INVALIDATION_REACTOR_H_
