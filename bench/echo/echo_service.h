// EchoServiceImpl: sessiond.bench.EchoService on gRPC's callback API, built exactly like sessiond's
// handlers (raw callback method, request parsed onto an arena with sessiond's ParseRequest, the
// response serialized with SerializeResponse, finished on the default reactor), so that its cost
// per call is the floor under any sessiond rpc. Thread-safe: stateless.
#ifndef SESSIOND_BENCH_ECHO_ECHO_SERVICE_H_
#define SESSIOND_BENCH_ECHO_ECHO_SERVICE_H_

#include "bench/echo/echo.grpc.pb.h"

namespace sessiond::bench {

// One Echo call's work, the same on either API: parses `raw_request` onto an arena with sessiond's
// ParseRequest and serializes its payload back into `raw_response` with SerializeResponse.
// INVALID_ARGUMENT for a malformed request.
grpc::Status AnswerEcho(const grpc::ByteBuffer& raw_request, grpc::ByteBuffer* raw_response);

class EchoServiceImpl final : public EchoService::WithRawCallbackMethod_Echo<EchoService::Service> {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
};

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_ECHO_ECHO_SERVICE_H_
