// SessionServiceImpl: the sessiond.v1.SessionService handlers on gRPC's callback API.
//
// Each handler parses and validates its request (ids, keys, values, timeouts), calls the Store
// once, fills the response and converts the outcome with ToGrpcStatus. Handlers never block on
// anything but the store call. Thread-safe: gRPC calls handlers concurrently.
#ifndef SESSIOND_SERVICE_SESSION_SERVICE_H_
#define SESSIOND_SERVICE_SESSION_SERVICE_H_

#include <atomic>
#include <optional>

#include "absl/status/status.h"
#include "service/batch_observer.h"
#include "service/blocking_executor.h"
#include "service/invalidation_hub.h"
#include "service/limits.h"
#include "service/response_budget.h"
#include "service/tenant_registry.h"
#include "service/tenant_session_counts.h"
#include "service/watch_reactor.h"
#include "sessiond/v1/session.grpc.pb.h"
#include "storage/store.h"

namespace sessiond::service {

// Every rpc registered as a raw callback method: the service parses requests itself
// (request_parsing.h) so that malformed ones get INVALID_ARGUMENT, and builds messages on an arena.
using RawSessionService = v1::SessionService::WithRawCallbackMethod_CreateSession<
    v1::SessionService::WithRawCallbackMethod_Get<v1::SessionService::WithRawCallbackMethod_Set<
        v1::SessionService::WithRawCallbackMethod_Remove<
            v1::SessionService::WithRawCallbackMethod_Clear<
                v1::SessionService::WithRawCallbackMethod_Touch<
                    v1::SessionService::WithRawCallbackMethod_Delete<
                        v1::SessionService::WithRawCallbackMethod_Commit<
                            v1::SessionService::WithRawCallbackMethod_RotateId<
                                v1::SessionService::WithRawCallbackMethod_ListSessions<
                                    v1::SessionService::WithRawCallbackMethod_RevokeSessions<
                                        v1::SessionService::WithRawCallbackMethod_WatchSessions<
                                            v1::SessionService::WithRawCallbackMethod_Batch<
                                                v1::SessionService::
                                                    WithRawCallbackMethod_WatchInvalidations<
                                                        v1::SessionService::Service>>>>>>>>>>>>>>;

class SessionServiceImpl final : public RawSessionService {
 public:
  // With `tenants` (not owned; may be null: one default tenant, no authentication), every call is
  // authenticated first and served in its tenant's view of the store with its tenant's limits.
  // With `batch_observer` (not owned; may be null; must outlive the service), every operation of a
  // Batch is reported to it as it finishes.
  explicit SessionServiceImpl(const ServiceLimits& limits, const TenantRegistry* tenants = nullptr,
                              BatchObserver* batch_observer = nullptr);

  // Starts serving sessions from `store` (not owned; must outlive the service). Until then every
  // rpc fails with UNAVAILABLE. With an `executor` (not owned; may be null), handlers run there
  // instead of on gRPC's threads: for stores whose calls block. A call that finds the executor's
  // queue full fails with RESOURCE_EXHAUSTED saying the server is overloaded. With `live_counts`
  // (not owned; may be null), tenants' max_live_sessions are enforced. Call once.
  void AttachStore(storage::Store* store, BlockingExecutor* executor,
                   TenantSessionCounts* live_counts = nullptr);

  grpc::ServerUnaryReactor* CreateSession(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const grpc::ByteBuffer* request,
                                grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Set(grpc::CallbackServerContext* context,
                                const grpc::ByteBuffer* request,
                                grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Remove(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Clear(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Touch(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Commit(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RotateId(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RevokeSessions(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchSessions(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* Batch(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* WatchInvalidations(
      grpc::CallbackServerContext* context) override;

  // Ends every WatchSessions and WatchInvalidations stream with UNAVAILABLE, and refuses new ones:
  // for a draining server, before it shuts gRPC down.
  void EndWatches() {
    watches_.EndAll();
    invalidations_.EndAll();
  }

 private:
  // What one call is served with: the store (the caller's tenant's view of it, with tenants) and
  // the limits (its tenant's).
  struct CallScope {
    storage::Store* store;
    const ServiceLimits* limits;
    // The tenant's key-space prefix; empty without tenants.
    absl::string_view tenant_prefix;
    // The caller's tenant, for a Batch to check each operation's right; null without tenants.
    const Tenant* tenant = nullptr;
    // Set by a handler that ended sessions (Delete, RevokeSessions): the call then replies only
    // once the near caches' invalidation streams have sent its events (InvalidationHub).
    std::atomic<bool>* ended_sessions = nullptr;
  };

  // For a stream: the caller's tenant's key-space prefix (empty without tenants) once the caller is
  // authenticated with `right` and the store is open; else the status to end the stream with.
  absl::StatusOr<std::string> StreamScope(grpc::CallbackServerContext& context, Right right) const;

  // A handler of one unary rpc.
  template <typename Request, typename Response>
  using Handler = absl::Status (SessionServiceImpl::*)(const CallScope&, const Request&, Response*);

  // Authenticates the caller and checks `right` if given (with tenants), parses the request, runs
  // `handler`, serializes the response and finishes the call; on the executor if there is one.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* raw_request,
                                  grpc::ByteBuffer* raw_response, std::optional<Right> right,
                                  Handler<Request, Response> handler);

  absl::Status DoCreateSession(const CallScope& scope, const v1::CreateSessionRequest& request,
                               v1::CreateSessionResponse* response);
  absl::Status DoGet(const CallScope& scope, const v1::GetRequest& request,
                     v1::GetResponse* response);
  absl::Status DoSet(const CallScope& scope, const v1::SetRequest& request,
                     v1::SetResponse* response);
  absl::Status DoRemove(const CallScope& scope, const v1::RemoveRequest& request,
                        v1::RemoveResponse* response);
  absl::Status DoClear(const CallScope& scope, const v1::ClearRequest& request,
                       v1::ClearResponse* response);
  absl::Status DoTouch(const CallScope& scope, const v1::TouchRequest& request,
                       v1::TouchResponse* response);
  absl::Status DoDelete(const CallScope& scope, const v1::DeleteRequest& request,
                        v1::DeleteResponse* response);
  absl::Status DoCommit(const CallScope& scope, const v1::CommitRequest& request,
                        v1::CommitResponse* response);
  absl::Status DoRotateId(const CallScope& scope, const v1::RotateIdRequest& request,
                          v1::RotateIdResponse* response);
  absl::Status DoListSessions(const CallScope& scope, const v1::ListSessionsRequest& request,
                              v1::ListSessionsResponse* response);
  absl::Status DoRevokeSessions(const CallScope& scope, const v1::RevokeSessionsRequest& request,
                                v1::RevokeSessionsResponse* response);

  // Batch (session_service_batch.cc): runs each operation as its own call would run, on the
  // executor's threads in parallel when there is one, and reports each in its result.
  absl::Status DoBatch(const CallScope& scope, const v1::BatchRequest& request,
                       v1::BatchResponse* response);
  // One operation of a Batch, with its right checked, into `result`.
  void RunOperation(const CallScope& scope, const v1::BatchOperation& operation,
                    v1::BatchResult* result);
  // Checks `right`, then runs `handler`.
  template <typename Request, typename Response>
  absl::Status RunWithRight(const CallScope& scope, Right right, Handler<Request, Response> handler,
                            const Request& request, Response* response);

  // Commit on a store that groups commits (Store::GroupsApplies), without tenants: parses and
  // validates the request on gRPC's thread, queues it with the store, and finishes the call from
  // the store's committer thread once the change is durable (no executor thread per commit).
  // RESOURCE_EXHAUSTED naming --max_queued_requests when the executor's bound of commits is
  // already waiting.
  grpc::ServerUnaryReactor* CommitGrouped(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* raw_request,
                                          grpc::ByteBuffer* raw_response);
  // The status to finish a call with: `status`, after serializing `response` into `raw_response`
  // if it is OK and charging it to the response budget (RESOURCE_EXHAUSTED when over).
  absl::Status Respond(BudgetedReactor& reactor, absl::Status status,
                       const google::protobuf::Message& response, grpc::ByteBuffer* raw_response);
  // Validates `id`, applies `mutations` under `conditions` and reports the session in `info`.
  absl::Status ApplyAndReport(const CallScope& scope, const std::string& id,
                              std::vector<storage::Mutation> mutations,
                              const storage::Conditions& conditions, v1::SessionInfo* info);

  const ServiceLimits limits_;
  const TenantRegistry* const tenants_;
  BatchObserver* const batch_observer_;
  ResponseBudget response_budget_{limits_.max_pending_response_bytes};
  storage::Store* store_ = nullptr;
  BlockingExecutor* executor_ = nullptr;
  // Commits queued in a store that groups them (CommitGrouped) and not yet answered; bounded by
  // executor_->max_queued().
  std::atomic<size_t> grouped_waiting_{0};
  TenantSessionCounts* live_counts_ = nullptr;
  // Publishes store_, executor_ and live_counts_: set (release) after them, read (acquire) before
  // every call.
  std::atomic<bool> store_attached_{false};
  WatchRegistry watches_;
  InvalidationHub invalidations_{limits_.near_cache_lease};
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_SESSION_SERVICE_H_
