#include "bench/echo/echo_service.h"

#include "google/protobuf/arena.h"
#include "service/request_parsing.h"
#include "service/status_convert.h"

namespace sessiond::bench {

grpc::Status AnswerEcho(const grpc::ByteBuffer& raw_request, grpc::ByteBuffer* raw_response) {
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<EchoMessage>(&arena);
  auto* response = google::protobuf::Arena::CreateMessage<EchoMessage>(&arena);
  absl::Status status = service::ParseRequest(raw_request, request);
  if (status.ok()) {
    response->set_payload(request->payload());
    service::SerializeResponse(*response, raw_response);
  }
  return service::ToGrpcStatus(status);
}

grpc::ServerUnaryReactor* EchoServiceImpl::Echo(grpc::CallbackServerContext* context,
                                                const grpc::ByteBuffer* raw_request,
                                                grpc::ByteBuffer* raw_response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(AnswerEcho(*raw_request, raw_response));
  return reactor;
}

}  // namespace sessiond::bench
