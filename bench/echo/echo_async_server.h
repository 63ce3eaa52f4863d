// AsyncEchoServer: sessiond.bench.EchoService on gRPC's completion-queue async API, served by a
// fixed set of threads that each poll a completion queue of their own and answer inline (no
// hand-off between threads). The same parsing and serialization as EchoServiceImpl, so the two
// differ only in the gRPC API. Construct before the builder starts the server; Run() after it
// started; Shutdown() after grpc::Server::Shutdown().
#ifndef SESSIOND_BENCH_ECHO_ECHO_ASYNC_SERVER_H_
#define SESSIOND_BENCH_ECHO_ECHO_ASYNC_SERVER_H_

#include <memory>
#include <thread>
#include <vector>

#include "bench/echo/echo.grpc.pb.h"
#include "grpcpp/server_builder.h"

namespace sessiond::bench {

class AsyncEchoServer {
 public:
  using Service = EchoService::WithRawMethod_Echo<EchoService::Service>;

  // Adds the service and `threads` completion queues to `builder`.
  AsyncEchoServer(grpc::ServerBuilder& builder, int threads);
  ~AsyncEchoServer() { Shutdown(); }

  // Starts the polling threads; each keeps `calls_per_thread` calls waiting for a request.
  void Run(int calls_per_thread);

  // Shuts the queues down and joins the threads. The server must be shut down first. Idempotent.
  void Shutdown();

 private:
  Service service_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
};

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_ECHO_ECHO_ASYNC_SERVER_H_
