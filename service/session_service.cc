#include "service/session_service.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "service/caller_tenant.h"
#include "service/invalidation_reactor.h"
#include "service/proto_convert.h"
#include "service/request_parsing.h"
#include "service/request_validation.h"
#include "service/session_id.h"
#include "service/status_convert.h"
#include "storage/event_log.h"
#include "storage/tenant_store.h"

namespace sessiond::service {
namespace {

// A store's ALREADY_EXISTS for a freshly drawn id: with 192 random bits a collision means the
// random source is broken, which is the server's fault, not the caller's.
absl::Status IdCollision(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAlreadyExists) return status;
  return absl::InternalError(
      "a newly drawn session id is already taken; the random source is broken");
}

// A store's ALREADY_EXISTS for an id the caller proposed: the caller's to handle, by proposing
// another fresh id.
absl::Status ProposedIdTaken(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAlreadyExists) return status;
  return absl::AlreadyExistsError(
      "id: a live session has this id; propose another fresh random id");
}

// The refusal of a call that finds `max_queued` calls already waiting for the store.
grpc::Status Overloaded(size_t max_queued) {
  return grpc::Status(
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      absl::StrCat("the server is overloaded: ", max_queued,
                   " requests are already waiting for the store (--max_queued_requests); "
                   "retry with backoff"));
}

// ListSessions' page size when the request leaves it 0, and the most it may ask for.
constexpr size_t kDefaultPageSize = 50;
constexpr size_t kMaxPageSize = 1000;
// The most ids RevokeSessions may keep.
constexpr size_t kMaxExceptIds = 1000;

// A watch that ends before it starts (the store is not open yet).
class FailedWatch final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
  void OnDone() override { delete this; }
};

// An invalidation stream that ends before it starts (no credential, or the store is not open).
class FailedInvalidations final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
  void OnDone() override { delete this; }
};

// A principal that a call about a principal's sessions requires.
absl::Status ValidateRequiredPrincipal(const std::string& principal, const ServiceLimits& limits) {
  if (principal.empty()) return absl::InvalidArgumentError("principal: empty; name the user");
  return ValidatePrincipal(principal, limits);
}

std::optional<uint64_t> OptionalVersion(bool present, uint64_t version) {
  return present ? std::optional<uint64_t>(version) : std::nullopt;
}

// Validates a request's `map<string, Value> entries` against the per-request limits.
absl::Status ValidateEntries(const google::protobuf::Map<std::string, v1::Value>& entries,
                             const ServiceLimits& limits) {
  if (entries.size() > limits.session.max_keys) {
    return absl::ResourceExhaustedError(absl::StrCat("entries: ", entries.size(),
                                                     " keys; the limit is ",
                                                     limits.session.max_keys, " (--max_keys)"));
  }
  for (const auto& [key, value] : entries) {
    if (absl::Status status = ValidateKey(
            key, [&key = key] { return KeyField("entries", key); }, limits);
        !status.ok()) {
      return status;
    }
    if (absl::Status status = ValidateValue(
            value, [&key = key] { return KeyField("entries", key); }, limits);
        !status.ok()) {
      return status;
    }
  }
  if (limits.tenant_max_session_bytes == 0) return absl::OkStatus();
  size_t bytes = 0;
  for (const auto& [key, value] : entries) bytes += key.size() + ValueBytes(value);
  return ValidateTenantBytes(bytes, "entries", limits);
}

absl::Status ValidateKeys(const google::protobuf::RepeatedPtrField<std::string>& keys,
                          const ServiceLimits& limits) {
  if (absl::Status status = ValidateRequestKeyCount(keys.size(), "keys", limits); !status.ok()) {
    return status;
  }
  for (int i = 0; i < keys.size(); ++i) {
    if (absl::Status status = ValidateKey(
            keys[i], [i] { return absl::StrCat("keys[", i, "]"); }, limits);
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

// The Commit operations as storage mutations, each validated.
absl::StatusOr<std::vector<storage::Mutation>> ToMutations(
    const google::protobuf::RepeatedPtrField<v1::Operation>& ops, const ServiceLimits& limits) {
  if (ops.empty()) return absl::InvalidArgumentError("ops: empty; send at least one operation");
  if (absl::Status status = ValidateRequestKeyCount(ops.size(), "ops", limits); !status.ok()) {
    return status;
  }
  std::vector<storage::Mutation> mutations;
  mutations.reserve(ops.size());
  size_t set_bytes = 0;
  for (int i = 0; i < ops.size(); ++i) {
    const v1::Operation& op = ops[i];
    auto field = [i](absl::string_view suffix) { return absl::StrCat("ops[", i, "]", suffix); };
    switch (op.op_case()) {
      case v1::Operation::kSet: {
        if (absl::Status status = ValidateKey(
                op.set().key(), [&] { return field(".set.key"); }, limits);
            !status.ok()) {
          return status;
        }
        if (absl::Status status = ValidateValue(
                op.set().value(), [&] { return field(".set.value"); }, limits);
            !status.ok()) {
          return status;
        }
        set_bytes += op.set().key().size() + ValueBytes(op.set().value());
        mutations.push_back(storage::Mutation::Set(op.set().key(), FromProto(op.set().value())));
        break;
      }
      case v1::Operation::kRemove:
        if (absl::Status status = ValidateKey(
                op.remove().key(), [&] { return field(".remove.key"); }, limits);
            !status.ok()) {
          return status;
        }
        mutations.push_back(storage::Mutation::Remove(op.remove().key()));
        break;
      case v1::Operation::kClear:
        mutations.push_back(storage::Mutation::Clear());
        break;
      case v1::Operation::OP_NOT_SET:
        return absl::InvalidArgumentError(
            absl::StrCat(field(""), ": no operation set; set one of set, remove or clear"));
    }
  }
  if (absl::Status status = ValidateTenantBytes(set_bytes, "ops", limits); !status.ok()) {
    return status;
  }
  return mutations;
}

// The checks of a mutation's session id and request id that the store does not make.
absl::Status ValidateApply(absl::string_view id, absl::string_view request_id) {
  if (absl::Status status = ValidateSessionId(id, "id"); !status.ok()) return status;
  return ValidateRequestId(request_id);
}

// The conditions of a Commit request.
storage::Conditions CommitConditions(const v1::CommitRequest& request) {
  return {OptionalVersion(request.has_if_version(), request.if_version()),
          OptionalVersion(request.has_read_version(), request.read_version()),
          request.request_id()};
}

}  // namespace

SessionServiceImpl::SessionServiceImpl(const ServiceLimits& limits, const TenantRegistry* tenants,
                                       BatchObserver* batch_observer)
    : limits_(limits), tenants_(tenants), batch_observer_(batch_observer) {}

void SessionServiceImpl::AttachStore(storage::Store* store, BlockingExecutor* executor,
                                     TenantSessionCounts* live_counts) {
  store_ = store;
  executor_ = executor;
  live_counts_ = live_counts;
  store_attached_.store(true, std::memory_order_release);
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* SessionServiceImpl::Serve(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* raw_request,
                                                    grpc::ByteBuffer* raw_response,
                                                    std::optional<Right> right,
                                                    Handler<Request, Response> handler) {
  auto* reactor = new BudgetedReactor(&response_budget_, context->peer());
  // Without tenants: no authentication, the whole store (no prefix, no cost).
  std::shared_ptr<const Tenant> tenant;
  if (tenants_ != nullptr) {
    absl::StatusOr<std::shared_ptr<const Tenant>> caller = CallerTenant(*tenants_, *context, right);
    if (!caller.ok()) {
      reactor->Finish(ToGrpcStatus(caller.status()));
      return reactor;
    }
    tenant = *std::move(caller);
  }
  if (!store_attached_.load(std::memory_order_acquire)) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "the store is still opening; retry shortly"));
    return reactor;
  }
  // gRPC keeps the request and response buffers alive until the reactor finishes.
  auto serve = [this, reactor, raw_request, raw_response, handler, tenant = std::move(tenant)] {
    google::protobuf::Arena arena;
    auto* request = google::protobuf::Arena::CreateMessage<Request>(&arena);
    auto* response = google::protobuf::Arena::CreateMessage<Response>(&arena);
    std::optional<storage::TenantStore> view;
    std::atomic<bool> ended_sessions{false};
    CallScope scope{store_, &limits_};
    if (tenant != nullptr) {
      view.emplace(store_, tenant->prefix, tenant->limits.tenant_max_session_bytes,
                   tenant->max_session_bytes_name);
      scope = {&*view, &tenant->limits, tenant->prefix, tenant.get()};
    }
    scope.ended_sessions = &ended_sessions;
    absl::Status status = ParseRequest(*raw_request, request);
    if (status.ok()) {
      // The watchers of the call's events (near caches' invalidation streams) are woken once, as
      // it ends: a Batch's invalidations go out in one message, not one write each.
      storage::EventLog::DeferWakes wake_once;
      status = (this->*handler)(scope, *request, response);
    }
    status = Respond(*reactor, std::move(status), *response, raw_response);
    if (!ended_sessions.load(std::memory_order_relaxed)) {
      reactor->Finish(ToGrpcStatus(status));
      return;
    }
    // Every event of this call is numbered by now (the store returned), if not yet in the log.
    invalidations_.AfterSent(store_->Events().committed_until(),
                             [reactor, status = ToGrpcStatus(status)] { reactor->Finish(status); });
  };
  if (executor_ == nullptr) {
    serve();
  } else if (!executor_->Submit(std::move(serve))) {
    reactor->Finish(Overloaded(executor_->max_queued()));
  }
  return reactor;
}

absl::Status SessionServiceImpl::Respond(BudgetedReactor& reactor, absl::Status status,
                                         const google::protobuf::Message& response,
                                         grpc::ByteBuffer* raw_response) {
  if (status.ok()) SerializeResponse(response, raw_response);
  if (status.ok() && !reactor.Charge(raw_response->Length())) {
    raw_response->Clear();
    status = OverResponseBudget(response_budget_);
  }
  return status;
}

grpc::ServerUnaryReactor* SessionServiceImpl::CommitGrouped(grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer* raw_request,
                                                            grpc::ByteBuffer* raw_response) {
  auto* reactor = new BudgetedReactor(&response_budget_, context->peer());
  v1::CommitRequest request;
  absl::Status status = ParseRequest(*raw_request, &request);
  absl::StatusOr<std::vector<storage::Mutation>> mutations =
      status.ok() ? ToMutations(request.ops(), limits_) : status;
  if (mutations.ok()) {
    if (absl::Status valid = ValidateApply(request.id(), request.request_id()); !valid.ok()) {
      mutations = valid;
    }
  }
  if (!mutations.ok()) {
    reactor->Finish(ToGrpcStatus(mutations.status()));
    return reactor;
  }
  // The store queues grouped commits without a thread each, so the executor's queue bound
  // applies to them here.
  if (grouped_waiting_.fetch_add(1, std::memory_order_relaxed) >= executor_->max_queued()) {
    grouped_waiting_.fetch_sub(1, std::memory_order_relaxed);
    reactor->Finish(Overloaded(executor_->max_queued()));
    return reactor;
  }
  // gRPC keeps the response buffer alive until the reactor finishes.
  store_->ApplyGrouped(
      request.id(), *std::move(mutations), CommitConditions(request),
      [this, reactor, raw_response](absl::StatusOr<storage::SessionMeta> meta) {
        grouped_waiting_.fetch_sub(1, std::memory_order_relaxed);
        v1::CommitResponse response;
        if (meta.ok()) ToProto(*meta, response.mutable_session());
        reactor->Finish(ToGrpcStatus(Respond(*reactor, meta.status(), response, raw_response)));
      });
  return reactor;
}

grpc::ServerUnaryReactor* SessionServiceImpl::CreateSession(grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer* request,
                                                            grpc::ByteBuffer* response) {
  return Serve(context, request, response, Right::kSessions, &SessionServiceImpl::DoCreateSession);
}

grpc::ServerUnaryReactor* SessionServiceImpl::Get(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve(context, request, response, Right::kSessions, &SessionServiceImpl::DoGet);
}

grpc::ServerUnaryReactor* SessionServiceImpl::Set(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve(context, request, response, Right::kSessions, &SessionServiceImpl::DoSet);
}

grpc::ServerUnaryReactor* SessionServiceImpl::Remove(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return Serve(context, request, response, Right::kSessions, &SessionServiceImpl::DoRemove);
}

grpc::ServerUnaryReactor* SessionServiceImpl::Clear(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return Serve(context, request, response, Right::kSessions, &SessionServiceImpl::DoClear);
}

grpc::ServerUnaryReactor* SessionServiceImpl::Touch(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return Serve(context, request, response, Right::kSessions, &SessionServiceImpl::DoTouch);
}

grpc::ServerUnaryReactor* SessionServiceImpl::Delete(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return Serve(context, request, response, Right::kSessions, &SessionServiceImpl::DoDelete);
}

grpc::ServerUnaryReactor* SessionServiceImpl::Commit(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  // Without tenants and store decorators, a store that groups commits takes them without a thread
  // of the executor waiting for each.
  if (tenants_ == nullptr && store_attached_.load(std::memory_order_acquire) &&
      executor_ != nullptr && store_->GroupsApplies()) {
    return CommitGrouped(context, request, response);
  }
  return Serve(context, request, response, Right::kSessions, &SessionServiceImpl::DoCommit);
}

grpc::ServerUnaryReactor* SessionServiceImpl::ListSessions(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request,
                                                           grpc::ByteBuffer* response) {
  return Serve(context, request, response, Right::kList, &SessionServiceImpl::DoListSessions);
}

grpc::ServerUnaryReactor* SessionServiceImpl::RevokeSessions(grpc::CallbackServerContext* context,
                                                             const grpc::ByteBuffer* request,
                                                             grpc::ByteBuffer* response) {
  return Serve(context, request, response, Right::kRevoke, &SessionServiceImpl::DoRevokeSessions);
}

absl::StatusOr<std::string> SessionServiceImpl::StreamScope(grpc::CallbackServerContext& context,
                                                            Right right) const {
  std::string prefix;
  if (tenants_ != nullptr) {
    absl::StatusOr<std::shared_ptr<const Tenant>> caller = CallerTenant(*tenants_, context, right);
    if (!caller.ok()) return caller.status();
    prefix = (*caller)->prefix;
  }
  if (!store_attached_.load(std::memory_order_acquire)) {
    return absl::UnavailableError("the store is still opening; retry shortly");
  }
  return prefix;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* SessionServiceImpl::WatchSessions(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  absl::StatusOr<std::string> prefix = StreamScope(*context, Right::kWatch);
  if (!prefix.ok()) {
    auto* reactor = new FailedWatch();
    reactor->Finish(ToGrpcStatus(prefix.status()));
    return reactor;
  }
  return WatchReactor::Start(*request, &store_->Events(), &watches_, *std::move(prefix));
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* SessionServiceImpl::WatchInvalidations(
    grpc::CallbackServerContext* context) {
  absl::StatusOr<std::string> prefix = StreamScope(*context, Right::kSessions);
  if (!prefix.ok()) {
    auto* reactor = new FailedInvalidations();
    reactor->Finish(ToGrpcStatus(prefix.status()));
    return reactor;
  }
  return InvalidationReactor::Start(&store_->Events(), &invalidations_, *std::move(prefix));
}

grpc::ServerUnaryReactor* SessionServiceImpl::Batch(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  // Each operation's right is checked by RunOperation.
  return Serve(context, request, response, std::nullopt, &SessionServiceImpl::DoBatch);
}

grpc::ServerUnaryReactor* SessionServiceImpl::RotateId(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request,
                                                       grpc::ByteBuffer* response) {
  return Serve(context, request, response, Right::kSessions, &SessionServiceImpl::DoRotateId);
}

absl::Status SessionServiceImpl::DoCreateSession(const CallScope& scope,
                                                 const v1::CreateSessionRequest& request,
                                                 v1::CreateSessionResponse* response) {
  if (absl::Status status = ValidateEntries(request.entries(), *scope.limits); !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidatePrincipal(request.principal(), *scope.limits); !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateRequestId(request.request_id()); !status.ok()) return status;
  const bool id_proposed = !request.id().empty();
  if (id_proposed) {
    if (absl::Status status = ValidateSessionId(request.id(), "id"); !status.ok()) return status;
  }
  absl::StatusOr<absl::Duration> idle =
      ResolveTimeout(request.has_idle_timeout() ? &request.idle_timeout() : nullptr,
                     TimeoutKind::kIdle, *scope.limits);
  if (!idle.ok()) return idle.status();
  absl::StatusOr<absl::Duration> absolute =
      ResolveTimeout(request.has_absolute_timeout() ? &request.absolute_timeout() : nullptr,
                     TimeoutKind::kAbsolute, *scope.limits);
  if (!absolute.ok()) return absolute.status();

  if (absl::Status status = ValidateLabels(request.labels(), *scope.limits); !status.ok()) {
    return status;
  }
  storage::NewSession session{.principal = request.principal(),
                              .idle_timeout = *idle,
                              .absolute_timeout = *absolute,
                              .labels = {request.labels().begin(), request.labels().end()},
                              .request_id = request.request_id()};
  session.entries.reserve(request.entries().size());
  for (const auto& [key, value] : request.entries()) {
    session.entries.push_back({key, FromProto(value)});
  }
  session.id = id_proposed ? request.id() : NewSessionId();
  const size_t max_live = scope.limits->tenant_max_live_sessions;
  const std::string live_cap_name = TenantLimitName(scope.limits->tenant, "max_live_sessions");
  session.live_cap = {std::string(scope.tenant_prefix), max_live, live_cap_name};
  auto create = [&] { return scope.store->Create(std::move(session)); };
  // A store shared by replicas caps the tenant itself; an in-process one is counted here.
  absl::StatusOr<storage::SessionMeta> meta =
      max_live == 0 || live_counts_ == nullptr || scope.store->CapsLiveSessions()
          ? create()
          : live_counts_->CreateWithin(session.live_cap, create);
  if (!meta.ok()) return id_proposed ? ProposedIdTaken(meta.status()) : IdCollision(meta.status());
  ToProto(*meta, response->mutable_session());
  return absl::OkStatus();
}

absl::Status SessionServiceImpl::DoGet(const CallScope& scope, const v1::GetRequest& request,
                                       v1::GetResponse* response) {
  if (absl::Status status = ValidateSessionId(request.id(), "id"); !status.ok()) return status;
  if (absl::Status status = ValidateKeys(request.keys(), *scope.limits); !status.ok())
    return status;
  std::vector<absl::string_view> keys(request.keys().begin(), request.keys().end());
  auto* entries = response->mutable_entries();
  absl::StatusOr<storage::SessionMeta> meta =
      scope.store->Get(request.id(), keys,
                       request.no_renew() ? storage::Renewal::kNoRenew : storage::Renewal::kRenew,
                       [entries](absl::string_view key, storage::ValueView value) {
                         ToProto(value, &(*entries)[std::string(key)]);
                       });
  if (!meta.ok()) return meta.status();
  ToProto(*meta, response->mutable_session());
  return absl::OkStatus();
}

absl::Status SessionServiceImpl::ApplyAndReport(const CallScope& scope, const std::string& id,
                                                std::vector<storage::Mutation> mutations,
                                                const storage::Conditions& conditions,
                                                v1::SessionInfo* info) {
  if (absl::Status status = ValidateApply(id, conditions.request_id); !status.ok()) return status;
  absl::StatusOr<storage::SessionMeta> meta =
      scope.store->Apply(id, std::move(mutations), conditions);
  if (!meta.ok()) return meta.status();
  ToProto(*meta, info);
  return absl::OkStatus();
}

absl::Status SessionServiceImpl::DoSet(const CallScope& scope, const v1::SetRequest& request,
                                       v1::SetResponse* response) {
  if (request.entries().empty()) {
    return absl::InvalidArgumentError("entries: empty; send at least one entry");
  }
  if (absl::Status status = ValidateEntries(request.entries(), *scope.limits); !status.ok()) {
    return status;
  }
  std::vector<storage::Mutation> mutations;
  mutations.reserve(request.entries().size());
  for (const auto& [key, value] : request.entries()) {
    mutations.push_back(storage::Mutation::Set(key, FromProto(value)));
  }
  return ApplyAndReport(
      scope, request.id(), std::move(mutations),
      {.if_version = OptionalVersion(request.has_if_version(), request.if_version()),
       .request_id = request.request_id()},
      response->mutable_session());
}

absl::Status SessionServiceImpl::DoRemove(const CallScope& scope, const v1::RemoveRequest& request,
                                          v1::RemoveResponse* response) {
  if (request.keys().empty()) {
    return absl::InvalidArgumentError("keys: empty; name at least one key");
  }
  if (absl::Status status = ValidateKeys(request.keys(), *scope.limits); !status.ok())
    return status;
  std::vector<storage::Mutation> mutations;
  mutations.reserve(request.keys().size());
  for (const std::string& key : request.keys()) mutations.push_back(storage::Mutation::Remove(key));
  return ApplyAndReport(
      scope, request.id(), std::move(mutations),
      {.if_version = OptionalVersion(request.has_if_version(), request.if_version()),
       .request_id = request.request_id()},
      response->mutable_session());
}

absl::Status SessionServiceImpl::DoClear(const CallScope& scope, const v1::ClearRequest& request,
                                         v1::ClearResponse* response) {
  return ApplyAndReport(
      scope, request.id(), {storage::Mutation::Clear()},
      {.if_version = OptionalVersion(request.has_if_version(), request.if_version()),
       .request_id = request.request_id()},
      response->mutable_session());
}

absl::Status SessionServiceImpl::DoCommit(const CallScope& scope, const v1::CommitRequest& request,
                                          v1::CommitResponse* response) {
  absl::StatusOr<std::vector<storage::Mutation>> mutations =
      ToMutations(request.ops(), *scope.limits);
  if (!mutations.ok()) return mutations.status();
  return ApplyAndReport(scope, request.id(), *std::move(mutations), CommitConditions(request),
                        response->mutable_session());
}

absl::Status SessionServiceImpl::DoTouch(const CallScope& scope, const v1::TouchRequest& request,
                                         v1::TouchResponse* response) {
  if (absl::Status status = ValidateSessionId(request.id(), "id"); !status.ok()) return status;
  absl::StatusOr<storage::SessionMeta> meta = scope.store->Touch(request.id());
  if (!meta.ok()) return meta.status();
  ToProto(*meta, response->mutable_session());
  return absl::OkStatus();
}

absl::Status SessionServiceImpl::DoDelete(const CallScope& scope, const v1::DeleteRequest& request,
                                          v1::DeleteResponse* response) {
  if (absl::Status status = ValidateSessionId(request.id(), "id"); !status.ok()) return status;
  if (absl::Status status = ValidateRequestId(request.request_id()); !status.ok()) return status;
  absl::StatusOr<bool> deleted = scope.store->Delete(
      request.id(), OptionalVersion(request.has_if_version(), request.if_version()),
      request.request_id());
  if (!deleted.ok()) return deleted.status();
  if (*deleted) scope.ended_sessions->store(true, std::memory_order_relaxed);
  response->set_deleted(*deleted);
  return absl::OkStatus();
}

absl::Status SessionServiceImpl::DoListSessions(const CallScope& scope,
                                                const v1::ListSessionsRequest& request,
                                                v1::ListSessionsResponse* response) {
  if (absl::Status status = ValidateRequiredPrincipal(request.principal(), *scope.limits);
      !status.ok()) {
    return status;
  }
  if (request.page_size() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: ", request.page_size(), " is negative"));
  }
  const size_t page_size = request.page_size() == 0
                               ? kDefaultPageSize
                               : std::min<size_t>(request.page_size(), kMaxPageSize);
  absl::StatusOr<storage::SessionPage> page =
      scope.store->ListSessions(request.principal(), page_size, request.page_token());
  if (!page.ok()) return page.status();
  for (const storage::SessionMeta& meta : page->sessions) ToProto(meta, response->add_sessions());
  response->set_next_page_token(page->next_page_token);
  return absl::OkStatus();
}

absl::Status SessionServiceImpl::DoRevokeSessions(const CallScope& scope,
                                                  const v1::RevokeSessionsRequest& request,
                                                  v1::RevokeSessionsResponse* response) {
  if (absl::Status status = ValidateRequiredPrincipal(request.principal(), *scope.limits);
      !status.ok()) {
    return status;
  }
  if (request.except_ids_size() > static_cast<int>(kMaxExceptIds)) {
    return absl::InvalidArgumentError(absl::StrCat("except_ids: ", request.except_ids_size(),
                                                   " ids; the limit is ", kMaxExceptIds));
  }
  for (int i = 0; i < request.except_ids_size(); ++i) {
    if (absl::Status status =
            ValidateSessionId(request.except_ids(i), absl::StrCat("except_ids[", i, "]"));
        !status.ok()) {
      return status;
    }
  }
  std::vector<std::string> except(request.except_ids().begin(), request.except_ids().end());
  absl::StatusOr<size_t> revoked = scope.store->RevokeSessions(request.principal(), except);
  if (!revoked.ok()) return revoked.status();
  if (*revoked > 0) scope.ended_sessions->store(true, std::memory_order_relaxed);
  response->set_revoked(*revoked);
  return absl::OkStatus();
}

absl::Status SessionServiceImpl::DoRotateId(const CallScope& scope,
                                            const v1::RotateIdRequest& request,
                                            v1::RotateIdResponse* response) {
  if (absl::Status status = ValidateSessionId(request.id(), "id"); !status.ok()) return status;
  if (absl::Status status = ValidateRequestId(request.request_id()); !status.ok()) return status;
  std::optional<std::string> principal;
  if (request.has_principal()) {
    if (absl::Status status = ValidatePrincipal(request.principal(), *scope.limits); !status.ok()) {
      return status;
    }
    principal = request.principal();
  }
  absl::StatusOr<storage::SessionMeta> meta = scope.store->Rotate(
      request.id(), NewSessionId(), OptionalVersion(request.has_if_version(), request.if_version()),
      request.request_id(), principal);
  if (!meta.ok()) return IdCollision(meta.status());
  ToProto(*meta, response->mutable_session());
  return absl::OkStatus();
}

}  // namespace sessiond::service
