#include "sessiond/client.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "batcher.h"
#include "grpcpp/client_context.h"
#include "invalidation_stream.h"
#include "near_cache.h"

namespace sessiond {
namespace {

// The response a batched call's `result` carries, or its error.
template <typename Response>
absl::StatusOr<Response> FromTurn(absl::StatusOr<v1::BatchResult> result) {
  if (!result.ok()) return result.status();
  if (absl::Status status = FromBatchResult(*result); !status.ok()) return status;
  Response response;
  if (absl::Status status = internal::TakeResponse(*result, &response); !status.ok()) {
    return status;
  }
  return response;
}

// The id of the session `operation` writes, or nullptr if it writes none.
const std::string* WrittenId(const v1::BatchOperation& operation) {
  switch (operation.request_case()) {
    case v1::BatchOperation::kSet:
      return &operation.set().id();
    case v1::BatchOperation::kRemove:
      return &operation.remove().id();
    case v1::BatchOperation::kClear:
      return &operation.clear().id();
    case v1::BatchOperation::kDelete:
      return &operation.delete_().id();
    case v1::BatchOperation::kCommit:
      return &operation.commit().id();
    case v1::BatchOperation::kRotateId:
      return &operation.rotate_id().id();
    default:
      return nullptr;
  }
}

// Sends a Set, Remove, Clear or Commit `request` with `send` (returning its StatusOr<Response>),
// bracketed by a ScopedWrite on `cache` (may be null) that writes a success through.
template <typename Request, typename Send>
auto WriteThrough(internal::NearCache* cache, const Request& request, Send send) {
  internal::ScopedWrite write(cache, request.id());
  auto response = send();
  if (response.ok()) write.Succeeded(request, response->session());
  return response;
}

}  // namespace

Client::Client(std::shared_ptr<grpc::ChannelInterface> channel, ClientOptions options)
    : stub_(v1::SessionService::NewStub(channel)), options_(options) {
  if (options_.near_cache_max_bytes > 0) {
    near_cache_ = std::make_unique<internal::NearCache>(options_.near_cache_max_bytes);
  }
  if (options_.batching || near_cache_ != nullptr) {
    batcher_ = std::make_unique<internal::Batcher>(
        stub_.get(), options_.bearer_token,
        internal::Batcher::Limits{options_.max_batch_operations, options_.max_batch_bytes});
  }
  if (near_cache_ != nullptr) {
    invalidations_ = std::make_unique<internal::InvalidationStream>(
        stub_.get(), options_.bearer_token, near_cache_.get());
  }
}

Client::Client(Client&&) noexcept = default;

Client& Client::operator=(Client&& other) noexcept {
  if (this == &other) return *this;
  // What uses the stub and the cache ends first, as in the destructor.
  invalidations_.reset();
  batcher_.reset();
  near_cache_.reset();
  stub_ = std::move(other.stub_);
  options_ = std::move(other.options_);
  near_cache_ = std::move(other.near_cache_);
  batcher_ = std::move(other.batcher_);
  invalidations_ = std::move(other.invalidations_);
  return *this;
}
Client::~Client() = default;

void Client::Authorize(grpc::ClientContext& context) const {
  if (!options_.bearer_token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options_.bearer_token);
  }
}

template <typename Request, typename Response>
absl::StatusOr<Response> Client::Call(StubMethod<Request, Response> method, const Request& request,
                                      const CallOptions& call) const {
  const absl::Time deadline = call.deadline.value_or(absl::Now() + options_.timeout);
  const size_t bytes = request.ByteSizeLong();
  if (!options_.batching || bytes > options_.max_batch_bytes) {
    return CallAlone(method, request, deadline);
  }
  internal::Batcher::Turn turn = batcher_->Await(internal::ToOperation(request), bytes, deadline);
  if (turn.send_alone) {
    absl::StatusOr<Response> response = CallAlone(method, request, deadline);
    batcher_->AloneDone();
    return response;
  }
  return FromTurn<Response>(std::move(turn.result));
}

template <typename Request, typename Response>
absl::StatusOr<Response> Client::CallAlone(StubMethod<Request, Response> method,
                                           const Request& request, absl::Time deadline) const {
  grpc::ClientContext context;
  if (deadline != absl::InfiniteFuture()) context.set_deadline(absl::ToChronoTime(deadline));
  Authorize(context);
  Response response;
  const grpc::Status status = (stub_.get()->*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::CreateSessionResponse> Client::CreateSession(
    const v1::CreateSessionRequest& request, const CallOptions& call) const {
  return Call(&v1::SessionService::Stub::CreateSession, request, call);
}

absl::StatusOr<v1::GetResponse> Client::Get(const v1::GetRequest& request,
                                            const CallOptions& call) const {
  if (near_cache_ == nullptr) return Call(&v1::SessionService::Stub::Get, request, call);
  std::optional<internal::NearCache::Hit> hit =
      near_cache_->Lookup(request, std::chrono::steady_clock::now(), absl::Now());
  if (hit.has_value()) {
    if (hit->renew) Renew(request.id());
    return std::move(hit->response);
  }
  if (!request.keys().empty()) return Call(&v1::SessionService::Stub::Get, request, call);
  const internal::NearCache::Fill fill = near_cache_->BeginFill(request.id());
  absl::StatusOr<v1::GetResponse> response = Call(&v1::SessionService::Stub::Get, request, call);
  near_cache_->EndFill(fill, response.ok() ? &*response : nullptr);
  return response;
}

void Client::Renew(const std::string& id) const {
  v1::TouchRequest touch;
  touch.set_id(id);
  const size_t bytes = touch.ByteSizeLong();
  batcher_->Post(internal::ToOperation(touch), bytes, absl::Now() + options_.timeout,
                 [cache = near_cache_.get(), id](absl::StatusOr<v1::BatchResult> result) {
                   cache->RenewalDone(id, FromTurn<v1::TouchResponse>(std::move(result)));
                 });
}

NearCacheStats Client::near_cache_stats() const {
  if (near_cache_ == nullptr) return {};
  return near_cache_->Stats(std::chrono::steady_clock::now());
}

absl::StatusOr<v1::SetResponse> Client::Set(const v1::SetRequest& request,
                                            const CallOptions& call) const {
  return WriteThrough(near_cache_.get(), request,
                      [&] { return Call(&v1::SessionService::Stub::Set, request, call); });
}

absl::StatusOr<v1::RemoveResponse> Client::Remove(const v1::RemoveRequest& request,
                                                  const CallOptions& call) const {
  return WriteThrough(near_cache_.get(), request,
                      [&] { return Call(&v1::SessionService::Stub::Remove, request, call); });
}

absl::StatusOr<v1::ClearResponse> Client::Clear(const v1::ClearRequest& request,
                                                const CallOptions& call) const {
  return WriteThrough(near_cache_.get(), request,
                      [&] { return Call(&v1::SessionService::Stub::Clear, request, call); });
}

absl::StatusOr<v1::TouchResponse> Client::Touch(const v1::TouchRequest& request,
                                                const CallOptions& call) const {
  return Call(&v1::SessionService::Stub::Touch, request, call);
}

absl::StatusOr<v1::DeleteResponse> Client::Delete(const v1::DeleteRequest& request,
                                                  const CallOptions& call) const {
  const internal::ScopedWrite write(near_cache_.get(), request.id());
  return Call(&v1::SessionService::Stub::Delete, request, call);
}

absl::StatusOr<v1::CommitResponse> Client::Commit(const v1::CommitRequest& request,
                                                  const CallOptions& call) const {
  return WriteThrough(near_cache_.get(), request,
                      [&] { return Call(&v1::SessionService::Stub::Commit, request, call); });
}

absl::StatusOr<v1::RotateIdResponse> Client::RotateId(const v1::RotateIdRequest& request,
                                                      const CallOptions& call) const {
  const internal::ScopedWrite write(near_cache_.get(), request.id());
  return Call(&v1::SessionService::Stub::RotateId, request, call);
}

absl::StatusOr<v1::ListSessionsResponse> Client::ListSessions(
    const v1::ListSessionsRequest& request, const CallOptions& call) const {
  return Call(&v1::SessionService::Stub::ListSessions, request, call);
}

absl::StatusOr<v1::RevokeSessionsResponse> Client::RevokeSessions(
    const v1::RevokeSessionsRequest& request, const CallOptions& call) const {
  return Call(&v1::SessionService::Stub::RevokeSessions, request, call);
}

absl::StatusOr<v1::BatchResponse> Client::Batch(const v1::BatchRequest& request,
                                                const CallOptions& call) const {
  std::vector<std::unique_ptr<internal::ScopedWrite>> writes;
  for (const v1::BatchOperation& operation : request.operations()) {
    if (const std::string* id = WrittenId(operation); id != nullptr && near_cache_ != nullptr) {
      writes.push_back(std::make_unique<internal::ScopedWrite>(near_cache_.get(), *id));
    }
  }
  return CallAlone(&v1::SessionService::Stub::Batch, request,
                   call.deadline.value_or(absl::Now() + options_.timeout));
}

std::unique_ptr<EventStream> Client::WatchSessions(const v1::WatchSessionsRequest& request,
                                                   const CallOptions& call) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (call.deadline.has_value() && *call.deadline != absl::InfiniteFuture()) {
    context->set_deadline(absl::ToChronoTime(*call.deadline));
  }
  Authorize(*context);
  auto reader = stub_->WatchSessions(context.get(), request);
  return std::make_unique<EventStream>(std::move(context), std::move(reader));
}

}  // namespace sessiond
