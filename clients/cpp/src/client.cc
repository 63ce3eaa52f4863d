#include "sessiond/client.h"

#include "batcher.h"
#include "grpcpp/client_context.h"

namespace sessiond {

Client::Client(std::shared_ptr<grpc::ChannelInterface> channel, ClientOptions options)
    : stub_(v1::SessionService::NewStub(channel)), options_(options) {
  if (options_.batching) {
    batcher_ = std::make_unique<internal::Batcher>(
        stub_.get(), options_.bearer_token,
        internal::Batcher::Limits{options_.max_batch_operations, options_.max_batch_bytes});
  }
}

Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
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
  if (batcher_ == nullptr || bytes > options_.max_batch_bytes) {
    return CallAlone(method, request, deadline);
  }
  internal::Batcher::Turn turn = batcher_->Await(internal::ToOperation(request), bytes, deadline);
  if (turn.send_alone) {
    absl::StatusOr<Response> response = CallAlone(method, request, deadline);
    batcher_->AloneDone();
    return response;
  }
  if (!turn.result.ok()) return turn.result.status();
  if (absl::Status status = FromBatchResult(*turn.result); !status.ok()) return status;
  Response response;
  if (absl::Status status = internal::TakeResponse(*turn.result, &response); !status.ok()) {
    return status;
  }
  return response;
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
  return Call(&v1::SessionService::Stub::Get, request, call);
}

absl::StatusOr<v1::SetResponse> Client::Set(const v1::SetRequest& request,
                                            const CallOptions& call) const {
  return Call(&v1::SessionService::Stub::Set, request, call);
}

absl::StatusOr<v1::RemoveResponse> Client::Remove(const v1::RemoveRequest& request,
                                                  const CallOptions& call) const {
  return Call(&v1::SessionService::Stub::Remove, request, call);
}

absl::StatusOr<v1::ClearResponse> Client::Clear(const v1::ClearRequest& request,
                                                const CallOptions& call) const {
  return Call(&v1::SessionService::Stub::Clear, request, call);
}

absl::StatusOr<v1::TouchResponse> Client::Touch(const v1::TouchRequest& request,
                                                const CallOptions& call) const {
  return Call(&v1::SessionService::Stub::Touch, request, call);
}

absl::StatusOr<v1::DeleteResponse> Client::Delete(const v1::DeleteRequest& request,
                                                  const CallOptions& call) const {
  return Call(&v1::SessionService::Stub::Delete, request, call);
}

absl::StatusOr<v1::CommitResponse> Client::Commit(const v1::CommitRequest& request,
                                                  const CallOptions& call) const {
  return Call(&v1::SessionService::Stub::Commit, request, call);
}

absl::StatusOr<v1::RotateIdResponse> Client::RotateId(const v1::RotateIdRequest& request,
                                                      const CallOptions& call) const {
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
