#include "bench/echo/echo_async_server.h"

#include "bench/echo/echo_service.h"
#include "grpcpp/support/async_unary_call.h"

namespace sessiond::bench {
namespace {

// One Echo call on one queue: waits for a request, answers it inline, then frees itself.
class EchoCall {
 public:
  EchoCall(AsyncEchoServer::Service* service, grpc::ServerCompletionQueue* queue)
      : service_(service), queue_(queue), responder_(&context_) {
    service_->RequestEcho(&context_, &request_, &responder_, queue_, queue_, this);
  }

  // The queue's event for this call: a request arrived (or the server is shutting down), or the
  // answer was sent.
  void Proceed(bool ok) {
    if (answered_ || !ok) {
      delete this;
      return;
    }
    new EchoCall(service_, queue_);  // the next request on this queue
    const grpc::Status status = AnswerEcho(request_, &response_);
    answered_ = true;
    responder_.Finish(response_, status, this);
  }

 private:
  AsyncEchoServer::Service* service_;
  grpc::ServerCompletionQueue* queue_;
  grpc::ServerContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder_;
  bool answered_ = false;
};

}  // namespace

AsyncEchoServer::AsyncEchoServer(grpc::ServerBuilder& builder, int threads) {
  builder.RegisterService(&service_);
  for (int i = 0; i < threads; ++i) queues_.push_back(builder.AddCompletionQueue());
}

void AsyncEchoServer::Run(int calls_per_thread) {
  for (auto& queue : queues_) {
    threads_.emplace_back([this, queue = queue.get(), calls_per_thread] {
      for (int i = 0; i < calls_per_thread; ++i) new EchoCall(&service_, queue);
      void* tag;
      bool ok;
      while (queue->Next(&tag, &ok)) static_cast<EchoCall*>(tag)->Proceed(ok);
    });
  }
}

void AsyncEchoServer::Shutdown() {
  for (auto& queue : queues_) queue->Shutdown();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace sessiond::bench
