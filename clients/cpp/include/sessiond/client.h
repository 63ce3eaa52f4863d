// Client: the thin typed C++ client of the sessiond.v1.SessionService, one method per rpc.
//
// Each method sends the generated request message as it is and returns the generated response, or
// the error as an absl::Status with the gRPC code and message (see sessiond/status.h; on ABORTED,
// GetConflictDetails reads the server's ConflictDetails). The rpc contracts (what each error code
// means) are the comments of proto/sessiond/v1/session.proto. For the ISession-style API that loads
// lazily, records changes and commits them in one rpc, see sessiond/session.h.
//
// Deadlines: every call gets a deadline, CallOptions::deadline when set, else now +
// ClientOptions::timeout; past it the call fails with DEADLINE_EXCEEDED. A call whose server cannot
// be reached fails with UNAVAILABLE without waiting for the deadline.
//
// Near cache (ClientOptions::near_cache_max_bytes, off by default): Get answers from process
// memory, without an rpc, while the server's WatchInvalidations stream holds a lease (default 100
// ms) that says nothing changed; see docs/clients-cpp.md for what it guarantees.
//
// A Client is thread-safe; share one per process and channel. Authentication and TLS are the
// channel's business (grpc::CreateChannel with the credentials the deployment uses).
#ifndef SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_CLIENT_H_
#define SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "sessiond/event_stream.h"
#include "sessiond/status.h"
#include "sessiond/v1/session.grpc.pb.h"
#include "sessiond/v1/session.pb.h"

namespace sessiond {
namespace internal {
class Batcher;
class InvalidationStream;
class NearCache;
}  // namespace internal

// Settings for every call a Client makes.
struct ClientOptions {
  // The deadline of a call that does not set one is now + timeout. absl::InfiniteDuration(): none.
  absl::Duration timeout = absl::Seconds(5);
  // How many times Session::Commit sends a commit whose reply is lost (UNAVAILABLE,
  // DEADLINE_EXCEEDED, CANCELLED) before it returns that error; 1: no retry. Every attempt carries
  // the same request_id, so the server applies the commit at most once.
  int commit_attempts = 3;
  // The pause before the second attempt; it doubles for each further one. No attempt starts past
  // CallOptions::deadline.
  absl::Duration retry_backoff = absl::Milliseconds(50);
  // The tenant's bearer token, for a server with --tenants_file: sent with every call as
  // `authorization: Bearer <token>` metadata (use TLS: it is a password). Empty: none (a server
  // with tenants then needs a client certificate, ChannelOptions::cert_file).
  std::string bearer_token;
  // Automatic batching: calls made concurrently from several threads go out together as one Batch
  // rpc, which costs the server far less than one rpc each. A call goes out at once, as its own
  // rpc, while nothing else is in flight; otherwise it waits for the flight in progress to return
  // (or for the queue to fill) and goes out with every call queued meanwhile. Results, errors and
  // deadlines are each call's own, exactly as without batching. false: every call is its own rpc.
  bool batching = true;
  // The most calls in one Batch, and the most bytes of their requests; a call larger than
  // max_batch_bytes goes out alone.
  size_t max_batch_operations = 128;
  size_t max_batch_bytes = 512 * 1024;
  // The near cache: at most this many bytes of whole sessions read by Get (each session's
  // serialized GetResponse plus 128 bytes), least recently used evicted first. 0: no cache. With a
  // cache, the client keeps one WatchInvalidations stream open (two threads) and a Get is
  // answered from memory while its lease is current; its idle renewals are Touch calls sent in
  // batches, at most one per session per eighth of its idle timeout.
  size_t near_cache_max_bytes = 0;
};

// What a Client's near cache did so far, and holds now (all zero without a cache).
struct NearCacheStats {
  // Gets answered from the cache, and Gets that went to the server.
  uint64_t hits = 0;
  uint64_t misses = 0;
  // The sessions cached and the bytes they count for.
  size_t entries = 0;
  size_t bytes = 0;
  // Whether the invalidation stream holds a lease now (only then is a Get answered from memory).
  bool leased = false;
};

// Settings for one call.
struct CallOptions {
  // This call's deadline, instead of now + ClientOptions::timeout (for example the deadline of the
  // web request being served). absl::InfiniteFuture(): none.
  std::optional<absl::Time> deadline;
};

class Client {
 public:
  // A client whose calls go over `channel` with `options`.
  explicit Client(std::shared_ptr<grpc::ChannelInterface> channel, ClientOptions options = {});
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  // Waits for the Batch rpcs in flight and ends the invalidation stream; no call may be running.
  ~Client();

  // The rpcs of sessiond.v1.SessionService. Each returns the server's response, or the error the
  // rpc's comment in session.proto lists, or UNAVAILABLE / DEADLINE_EXCEEDED from the transport.
  absl::StatusOr<v1::CreateSessionResponse> CreateSession(const v1::CreateSessionRequest& request,
                                                          const CallOptions& call = {}) const;
  absl::StatusOr<v1::GetResponse> Get(const v1::GetRequest& request,
                                      const CallOptions& call = {}) const;
  absl::StatusOr<v1::SetResponse> Set(const v1::SetRequest& request,
                                      const CallOptions& call = {}) const;
  absl::StatusOr<v1::RemoveResponse> Remove(const v1::RemoveRequest& request,
                                            const CallOptions& call = {}) const;
  absl::StatusOr<v1::ClearResponse> Clear(const v1::ClearRequest& request,
                                          const CallOptions& call = {}) const;
  absl::StatusOr<v1::TouchResponse> Touch(const v1::TouchRequest& request,
                                          const CallOptions& call = {}) const;
  absl::StatusOr<v1::DeleteResponse> Delete(const v1::DeleteRequest& request,
                                            const CallOptions& call = {}) const;
  absl::StatusOr<v1::CommitResponse> Commit(const v1::CommitRequest& request,
                                            const CallOptions& call = {}) const;
  absl::StatusOr<v1::RotateIdResponse> RotateId(const v1::RotateIdRequest& request,
                                                const CallOptions& call = {}) const;
  absl::StatusOr<v1::ListSessionsResponse> ListSessions(const v1::ListSessionsRequest& request,
                                                        const CallOptions& call = {}) const;
  absl::StatusOr<v1::RevokeSessionsResponse> RevokeSessions(
      const v1::RevokeSessionsRequest& request, const CallOptions& call = {}) const;

  // Sends `request` as one Batch rpc, as it is (never merged with other calls). The call fails only
  // if the server refuses the whole batch; each operation's outcome is in its result
  // (FromBatchResult in sessiond/status.h turns one into the error its own call would give).
  absl::StatusOr<v1::BatchResponse> Batch(const v1::BatchRequest& request,
                                          const CallOptions& call = {}) const;

  // Opens a WatchSessions stream. It has no deadline unless `call` sets one; end it early with
  // EventStream::Cancel.
  std::unique_ptr<EventStream> WatchSessions(const v1::WatchSessionsRequest& request,
                                             const CallOptions& call = {}) const;

  // The options this client was made with.
  const ClientOptions& options() const { return options_; }

  // The near cache's counters; all zero without a cache.
  NearCacheStats near_cache_stats() const;

 private:
  // A blocking rpc method of the generated stub.
  template <typename Request, typename Response>
  using StubMethod = grpc::Status (v1::SessionService::Stub::*)(grpc::ClientContext*,
                                                                const Request&, Response*);

  // Calls `method` with `request` under the deadline `call` implies and converts the result; in a
  // Batch with other threads' calls when batching is on.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(StubMethod<Request, Response> method, const Request& request,
                                const CallOptions& call) const;

  // Calls `method` with `request` as its own rpc with `deadline`.
  template <typename Request, typename Response>
  absl::StatusOr<Response> CallAlone(StubMethod<Request, Response> method, const Request& request,
                                     absl::Time deadline) const;

  // Adds the bearer token to `context`, if the options carry one.
  void Authorize(grpc::ClientContext& context) const;

  // Renews the idle timer of the cached session `id` with a Touch posted to the batcher.
  void Renew(const std::string& id) const;

  // Declared in the order they may be destroyed last: the stream's threads end first, then the
  // batcher's rpcs (whose renewals update the cache), then the cache, then the stub.
  std::unique_ptr<v1::SessionService::Stub> stub_;
  ClientOptions options_;
  // Null without a near cache.
  std::unique_ptr<internal::NearCache> near_cache_;
  // Null without batching and without a near cache (its renewals go through it).
  std::unique_ptr<internal::Batcher> batcher_;
  // Null without a near cache.
  std::unique_ptr<internal::InvalidationStream> invalidations_;
};

}  // namespace sessiond

#endif  // SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_CLIENT_H_
